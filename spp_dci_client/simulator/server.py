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
import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..services.errors import DCIConfigurationError
from ..services.signing import load_public_key, public_jwk
from .population import Population
from .registry import PEER_PROFILES, PEER_SPEC, SimulatedRegistry

MAX_REQUEST_BYTES = 10 * 1024 * 1024
CONNECTIONS_PATH = "/_simulator/connections"


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


class _KeepAliveHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive: every answer has a Content-Length, so the connection stays open."""

    protocol_version = "HTTP/1.1"
    timeout = 60
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms wait for a delayed ACK

    def setup(self):
        super().setup()
        self.server.count_connection()

    def do_GET(self):
        self._serve()

    def do_POST(self):
        self._serve()

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BYTES:
            self.close_connection = True
            self._reply(413, {"Content-Type": "text/plain"}, b"request too large")
            return
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        path = unquote(url.path)
        if path == CONNECTIONS_PATH:
            self._reply(200, {"Content-Type": "application/json"}, json.dumps(self.server.counts()).encode())
            return
        headers = {key.upper(): value for key, value in self.headers.items()}
        reply = self.server.registry.handle(self.command, path, headers, body, url.query)
        if reply.drop:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._reply(reply.status, reply.headers, reply.body)

    def _reply(self, status, headers, body):
        self.send_response(status, "OK" if status < 400 else "Error")
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


class _KeepAliveServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, registry):
        super().__init__(address, _KeepAliveHandler)
        self.registry = registry
        self._lock = threading.Lock()
        self.connections = 0

    def count_connection(self):
        with self._lock:
            self.connections += 1

    def counts(self):
        """Connections accepted so far (requests are counted by the registry's stats)."""
        with self._lock:
            return {"connections": self.connections}


class SimulatorServer:
    """A threaded HTTP/1.1 keep-alive server for a SimulatedRegistry, on 127.0.0.1 and a free port.

    ``connections`` counts the TCP connections accepted (also served as JSON
    at /_simulator/connections), so a client's connection reuse can be checked.
    """

    def __init__(self, registry=None, host="127.0.0.1", port=0):
        self.registry = registry or SimulatedRegistry()
        self._server = _KeepAliveServer((host, port), self.registry)
        self.host, self.port = self._server.server_address[:2]
        self._thread = None

    @property
    def connections(self):
        return self._server.counts()["connections"]

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
    parser.add_argument("--delay", type=float, default=0,
                        help="seconds added to every registry answer (a distant registry's latency)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    clients = dict(client.split(":", 1) for client in args.client)
    registry = SimulatedRegistry(Population(size=args.size), clients=clients, token_lifetime=args.token_lifetime,
                                 peer=args.peer, client_keys=KeyFiles(args.client_key),
                                 client_jwks_url=args.client_jwks_url, require_signature=args.require_signature)
    if args.delay:
        registry.faults.add("latency", times=None, seconds=args.delay)
    server = SimulatorServer(registry, args.host, args.port)
    logging.getLogger(__name__).info("DCI simulator on %s: /crvs, /ibr, /dr", server.url())
    try:
        server._server.serve_forever()
    except KeyboardInterrupt:
        server.stop()
