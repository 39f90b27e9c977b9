"""Serve a SimulatedRegistry over HTTP/1.1 with keep-alive.

with SimulatorServer(registry) as server:
    server.url("crvs")  # http://127.0.0.1:<port>/crvs
"""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

from .registry import MAX_BODY, SimulatedRegistry

CONNECTIONS_PATH = "/_simulator/connections"


class _KeepAliveHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive: every answer has a Content-Length, so the connection stays open."""

    protocol_version = "HTTP/1.1"
    timeout = 60
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms wait for a delayed ACK

    def setup(self):
        self.server.count_connection()
        return super().setup()

    def do_GET(self):
        self._serve()

    def do_POST(self):
        self._serve()

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
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

    def serve_forever(self):
        """Serve in this thread until interrupted."""
        try:
            self._server.serve_forever()
        except KeyboardInterrupt:
            self.stop()

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()
