"""Serve a SimulatedRegistry over HTTP on loopback.

    python tools/dci_simulator.py --port 8900 --client-key our_public_key.pem
    # CRVS at http://127.0.0.1:8900/crvs, IBR at /ibr, DR at /dr;
    # /openspp/crvs, /openg2p/crvs, ... play those peers

Standalone, it verifies every signed request against the client keys given
(PEM files, read again when an unknown kid arrives, or a JWKS URL) and
refuses signatures it cannot check.

In tests: ``with SimulatorServer(registry) as server: server.url("crvs")``.
"""

import argparse
import logging
import socket
import threading
from pathlib import Path

from werkzeug.serving import WSGIRequestHandler, make_server

from ..services.errors import DCIConfigurationError
from ..services.signing import load_public_key, public_jwk
from .population import Population
from .registry import PEER_PROFILES, PEER_SPEC, SimulatedRegistry

MAX_REQUEST_BYTES = 10 * 1024 * 1024


class _QuietHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_request(self, *args, **kwargs):
        pass


def wsgi_app(registry):
    def application(environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(min(length, MAX_REQUEST_BYTES + 1)) if length else b""
        headers = {key[5:].replace("_", "-"): value for key, value in environ.items() if key.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["CONTENT-TYPE"] = environ["CONTENT_TYPE"]
        reply = registry.handle(environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/"), headers, body,
                                environ.get("QUERY_STRING", ""))
        if reply.drop:
            connection = environ.get("werkzeug.socket")
            if connection is not None:
                connection.shutdown(socket.SHUT_RDWR)
            return []
        start_response(f"{reply.status} {'OK' if reply.status < 400 else 'Error'}",
                       [*reply.headers.items(), ("Content-Length", str(len(reply.body)))])
        return [reply.body]

    return application


class SimulatorServer:
    """A threaded HTTP server for a SimulatedRegistry, on 127.0.0.1 and a free port."""

    def __init__(self, registry=None, host="127.0.0.1", port=0):
        self.registry = registry or SimulatedRegistry()
        self._server = make_server(host, port, wsgi_app(self.registry), threaded=True,
                                   request_handler=_QuietHandler)
        self.host, self.port = self._server.server_address[:2]
        self._thread = None

    def url(self, role=""):
        return f"http://{self.host}:{self.port}" + (f"/{role}" if role else "")

    def start(self):
        self._thread = threading.Thread(target=self._server.serve_forever, name="dci-simulator", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()


class KeyFiles:
    """Client public keys from PEM files, by thumbprint; the files are read again for an unknown kid."""

    def __init__(self, paths):
        self.paths = [Path(path) for path in paths]
        self.keys = {}

    def __call__(self, kid):
        if kid not in self.keys:
            for path in self.paths:
                try:
                    key = load_public_key(path.read_bytes())
                except (OSError, DCIConfigurationError):
                    continue
                self.keys[public_jwk(key)["kid"]] = key
        return self.keys.get(kid)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Simulated DCI registries (CRVS, IBR, DR) on loopback")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--size", type=int, default=5000, help="persons in the synthetic population")
    parser.add_argument("--client", action="append", default=[], metavar="ID:SECRET",
                        help="an OAuth2 client; with none, no token is required")
    parser.add_argument("--token-lifetime", type=int, default=3600)
    parser.add_argument("--peer", choices=sorted(PEER_PROFILES), default=PEER_SPEC,
                        help="the registry it plays under /<role> (spec, openspp or openg2p)")
    parser.add_argument("--client-key", action="append", default=[], metavar="PEM_FILE",
                        help="a client public key that request signatures are checked with")
    parser.add_argument("--client-jwks-url", help="a client JWKS that request signatures are checked with")
    parser.add_argument("--require-signature", action="store_true", help="refuse unsigned requests")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    clients = dict(client.split(":", 1) for client in args.client)
    registry = SimulatedRegistry(Population(size=args.size), clients=clients, token_lifetime=args.token_lifetime,
                                 peer=args.peer, client_keys=KeyFiles(args.client_key),
                                 client_jwks_url=args.client_jwks_url, require_signature=args.require_signature)
    server = SimulatorServer(registry, args.host, args.port)
    logging.getLogger(__name__).info("DCI simulator on %s: /crvs, /ibr, /dr", server.url())
    try:
        server._server.serve_forever()
    except KeyboardInterrupt:
        server.stop()
