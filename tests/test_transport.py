"""The transport against real loopback servers: URL joining, no cookies, no redirects, TLS checked per setting."""

import datetime
import http.server
import ipaddress
import ssl
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from odoo.addons.spp_dci_client.services.errors import DCIConnectionError
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
