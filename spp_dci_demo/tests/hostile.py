"""A hostile registry on loopback: a raw socket server that answers as a test tells it to.

It shares no code with the client: it reads the HTTP request itself and
writes bytes (dripping, compressed, truncated, malformed) exactly as scripted.
"""

import contextlib
import socket
import threading
import time


class HostileRegistry:
    """Serves each connection with ``respond(connection, path, body, registry)``; records every request."""

    def __init__(self, respond):
        self.respond = respond
        self.requests = []
        self.stopped = threading.Event()
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(16)
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stopped.set()
        self._socket.close()

    def _accept(self):
        while not self.stopped.is_set():
            try:
                connection, _address = self._socket.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection):
        with connection, contextlib.suppress(OSError):
            path, body = read_request(connection)
            self.requests.append((path, body))
            self.respond(connection, path, body, self)

    def sleep(self, seconds):
        """Sleep, unless the server is stopped meanwhile; True while it runs."""
        return not self.stopped.wait(seconds)


def read_request(connection):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            raise OSError("closed before the headers ended")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    length = next((int(line.split(":", 1)[1]) for line in lines[1:] if line.lower().startswith("content-length:")), 0)
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            break
        body += chunk
    return lines[0].split(" ")[1], body


def send(connection, body, status=200, headers=None):
    headers = {
        "Content-Type": "application/json",
        "Content-Length": str(len(body)),
        "Connection": "close",
        **(headers or {}),
    }
    head = f"HTTP/1.1 {status} X\r\n" + "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    connection.sendall(head.encode() + b"\r\n" + body)


def drip(connection, _path, _body, registry, headers_first=True, interval=1.5):
    """A byte every ``interval`` seconds, after the headers or from the first byte of the status line."""
    if headers_first:
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
    payload = b"HTTP/1.1 200 OK\r\n" if not headers_first else b"{" + b" " * 99999
    for byte in payload:
        if not registry.sleep(interval):
            return
        connection.sendall(bytes([byte]))


def deadline_seconds(call):
    """(seconds the call took, the exception it raised or None)."""
    started = time.monotonic()
    try:
        call()
    except Exception as error:  # the caller checks the type
        return time.monotonic() - started, error
    return time.monotonic() - started, None
