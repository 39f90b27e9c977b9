"""The transport against real loopback servers: URL joining, no cookies, no redirects, TLS checked per setting."""

import datetime
import http.server
import ipaddress
import re
import socket
import ssl
import threading
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from odoo.addons.spp_dci_client.services.errors import DCIConnectionError, DCIProtocolError
from odoo.addons.spp_dci_client.services.transport import NO_RETRY, Transport


class Recorder(http.server.BaseHTTPRequestHandler):
    """Answers every request with a cookie and its own path; /moved redirects."""

    protocol_version = "HTTP/1.1"
    seen = []

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.seen.append((self.path, self.headers.get("Cookie")))
        body = b'{"ok": true}'
        self.send_response(302 if self.path.endswith("/moved") else 200)
        self.send_header("Set-Cookie", "session=registry-state; Path=/")
        if self.path.endswith("/moved"):
            self.send_header("Location", "/elsewhere")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    Recorder.seen = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def post(transport, path):
    return transport.post(path, lambda: (b"{}", {"Content-Type": "application/json"}), retry=NO_RETRY)


@pytest.mark.parametrize("base_path", ["/crvs", "/crvs/"])
def test_paths_are_joined_under_the_base_url(server, base_path):
    port = server.server_address[1]
    with Transport(f"http://127.0.0.1:{port}{base_path}", timeout=5) as transport:
        post(transport, "/registry/sync/search")
        post(transport, "registry/sync/search?page=2")
        post(transport, f"http://127.0.0.1:{port}/oauth2/client/token")
    assert [path for path, _cookie in Recorder.seen] == [
        "/crvs/registry/sync/search",
        "/crvs/registry/sync/search?page=2",
        "/oauth2/client/token",
    ]


def test_no_cookie_is_kept_and_no_redirect_is_followed(server):
    with Transport(f"http://127.0.0.1:{server.server_address[1]}", timeout=5) as transport:
        moved = post(transport, "/moved")
        post(transport, "/again")
    assert moved.status == 302
    assert Recorder.seen == [("/moved", None), ("/again", None)]


@pytest.fixture
def tls_server(tmp_path):
    """A loopback HTTPS server whose self-signed certificate nobody trusts."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    Recorder.seen = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_tls_is_verified_unless_turned_off_for_that_transport(tls_server):
    """Transports share TLS contexts per setting: an unverified one must not make the others trust anything."""
    with Transport(tls_server, timeout=5) as verified, pytest.raises(DCIConnectionError, match="TLS certificate"):
        post(verified, "/search")
    with Transport(tls_server, timeout=5, verify=False) as unverified:
        assert post(unverified, "/search").status == 200
    with Transport(tls_server, timeout=5) as verified, pytest.raises(DCIConnectionError, match="TLS certificate"):
        post(verified, "/search")
    assert [path for path, _cookie in Recorder.seen] == ["/search"]


class ScriptedServer:
    """A loopback server answering each request with the next scripted raw response; counts connections."""

    def __init__(self, responses, close_after_each=False):
        self.responses = list(responses)
        self.close_after_each = close_after_each
        self.connections = 0
        self.requests = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def serve(self):
        while self.responses:
            try:
                connection, _address = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            with connection, connection.makefile("rb") as reader:
                while self.responses:
                    head = b""
                    while not head.endswith(b"\r\n\r\n"):
                        line = reader.readline()
                        if not line:
                            break
                        head += line
                    if not head:
                        break
                    length = int(re.search(rb"content-length: *(\d+)", head, re.I).group(1))
                    reader.read(length)
                    self.requests.append(head.split(b"\r\n", 1)[0].decode())
                    connection.sendall(self.responses.pop(0))
                    if self.close_after_each:
                        break

    def close(self):
        self.listener.close()


def ok(body=b'{"ok": true}'):
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


def test_a_connection_the_registry_closed_while_idle_is_not_reused():
    server = ScriptedServer([ok(), ok()], close_after_each=True)
    with Transport(server.url, timeout=5) as transport:
        assert post(transport, "/a").json() == {"ok": True}
        time.sleep(0.2)  # the registry's close reaches us while the connection is idle
        assert post(transport, "/b").json() == {"ok": True}
    server.close()
    assert server.connections == 2


def test_a_kept_alive_connection_carries_the_next_request():
    server = ScriptedServer([ok(), ok(), ok()])
    with Transport(server.url, timeout=5) as transport:
        for path in ("/a", "/b", "/c"):
            post(transport, path)
    server.close()
    assert server.connections == 1


def test_a_body_cut_short_of_its_content_length_is_a_dropped_connection():
    server = ScriptedServer([b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"ok": tr'], close_after_each=True)
    with Transport(server.url, timeout=5) as transport, pytest.raises(DCIConnectionError, match="dropped"):
        post(transport, "/a")
    server.close()


def test_a_chunked_body_is_read_whole():
    chunked = b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"ok"\r\n7\r\n: true}\r\n0\r\n\r\n'
    server = ScriptedServer([chunked])
    with Transport(server.url, timeout=5) as transport:
        assert post(transport, "/a").json() == {"ok": True}
    server.close()


def test_a_path_is_sent_percent_encoded():
    server = ScriptedServer([ok()])
    with Transport(server.url + "/reg istry", timeout=5) as transport:
        post(transport, "/séarch?q=a b")
    server.close()
    assert server.requests == ["POST /reg%20istry/s%C3%A9arch?q=a%20b HTTP/1.1"]


def test_a_url_that_is_not_http_is_refused_before_any_connection():
    with Transport("ftp://127.0.0.1:21/x", timeout=5) as transport, pytest.raises(DCIConnectionError, match="valid"):
        post(transport, "/a")


@pytest.mark.parametrize("token", ["abc\r\nX-Injected: 1", "t\u00f6ken\u2603"])
def test_a_header_value_http_cannot_carry_is_a_typed_error_and_nothing_is_sent(token):
    server = ScriptedServer([ok()])
    with Transport(server.url, timeout=5) as transport, pytest.raises(DCIProtocolError, match="header"):
        transport.post("/a", lambda: (b"{}", {"Authorization": f"Bearer {token}"}), retry=NO_RETRY)
    server.close()
    assert server.requests == []
