import http.server
import os
import threading
import time
from contextlib import contextmanager
from unittest.mock import patch

import psycopg2

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from ..services import secrets
from .common import CLIENT_SECRET, DCICase, unanswering_url


@tagged("post_install", "-at_install")
class TestDataSource(DCICase):
    def test_code_unique_and_pattern(self):
        with mute_logger("odoo.sql_db"), self.assertRaises(psycopg2.errors.UniqueViolation):
            self.make_data_source(code=self.data_source.code)
        for code in ("CRVS", "crvs main", "crvs-main", "crvs/main"):
            with self.subTest(code=code), self.assertRaises(ValidationError):
                self.make_data_source(code=code)

    def test_urls_and_timeout(self):
        for url in ("ftp://x.example", "http://x.example/", "crvs.example", "http://x.example/a b"):
            with self.subTest(url=url), self.assertRaises(ValidationError):
                self.make_data_source(code="bad_url", base_url=url)
        with mute_logger("odoo.sql_db"), self.assertRaises(psycopg2.errors.CheckViolation):
            self.make_data_source(code="zero_timeout", timeout=0)

    def test_auth_fields_listed_in_one_error(self):
        with self.assertRaises(ValidationError) as error:
            self.make_data_source(code="no_oauth", oauth2_client_id=False, oauth2_client_secret=False)
        self.assertIn("OAuth2 Client ID", str(error.exception))
        self.assertIn("OAuth2 Client Secret", str(error.exception))
        with self.assertRaisesRegex(ValidationError, "Bearer"):
            self.make_data_source(code="no_bearer", auth_type="bearer")
        self.make_data_source(code="no_auth", auth_type="none")

    def test_get_by_code_and_registry_type(self):
        self.assertEqual(self.env["spp.dci.data.source"].get_by_code("test_crvs"), self.data_source)
        with self.assertRaisesRegex(UserError, "nope_main"):
            self.env["spp.dci.data.source"].get_by_code("nope_main")
        self.data_source.active = False
        with self.assertRaisesRegex(UserError, "test_crvs"):
            self.env["spp.dci.data.source"].get_by_code("test_crvs")
        self.data_source.active = True
        found = self.env["spp.dci.data.source"].get_by_registry_type("ns:org:RegistryType:Civil")
        self.assertIn(self.data_source, found)

    def test_secret_is_masked_encrypted_and_kept_when_mask_written_back(self):
        with patch.dict(os.environ, {"SPP_DCI_SECRET_KEY": "test-server-key"}):
            source = self.make_data_source(code="masked", signing_key_id=False)
            self.assertEqual(source.oauth2_client_secret, secrets.MASK)
            self.assertTrue(source.secrets_protected)
            self.env.flush_all()
            self.env.cr.execute(
                "SELECT oauth2_client_secret_stored FROM spp_dci_data_source WHERE id = %s", (source.id,)
            )
            stored = self.env.cr.fetchone()[0]
            self.assertTrue(stored.startswith(secrets.ENCRYPTED))
            self.assertNotIn(CLIENT_SECRET, stored)
            source.write({"oauth2_client_secret": secrets.MASK, "name": "Renamed"})
            self.assertEqual(source.sudo().oauth2_client_secret_stored, stored)
            self.assertEqual(source._get_client_config().oauth2.client_secret, CLIENT_SECRET)
            source.oauth2_client_secret = "new-secret"
            self.assertEqual(source._get_client_config().oauth2.client_secret, "new-secret")
        with self.assertRaisesRegex(UserError, "dci_secret_key"):
            source._get_client_config()

    def test_without_server_key_secrets_are_refused(self):
        with (
            patch.dict(os.environ, {"SPP_DCI_SECRET_KEY": "", "SPP_DCI_ALLOW_PLAIN_SECRETS": ""}),
            self.assertRaisesRegex(UserError, "dci_secret_key .* SPP_DCI_SECRET_KEY"),
        ):
            self.make_data_source(code="unprotected")
        self.assertFalse(self.env["spp.dci.data.source"].search([("code", "=", "unprotected")]))

    def test_development_mode_stores_plain_secrets(self):
        with patch.dict(os.environ, {"SPP_DCI_SECRET_KEY": "", "SPP_DCI_ALLOW_PLAIN_SECRETS": "1"}):
            source = self.make_data_source(code="unprotected")
            self.assertFalse(source.secrets_protected)
            self.assertTrue(source.sudo().oauth2_client_secret_stored.startswith(secrets.PLAIN))

    def test_users_cannot_read_secrets(self):
        plain_user = new_test_user(self.env, "plain_user", groups="base.group_user")
        dci_user = new_test_user(self.env, "dci_user", groups="base.group_user,spp_dci_client.group_dci_user")
        secret_fields = ["bearer_token", "oauth2_client_secret", "bearer_token_stored", "oauth2_client_secret_stored"]
        with self.assertRaises(AccessError):
            self.data_source.with_user(plain_user).read(["name"])
        for field in secret_fields:
            with self.subTest(field=field), self.assertRaises(AccessError):
                self.data_source.with_user(dci_user).read([field])
        for model, fields in (
            ("spp.dci.signing.key", ["private_key_stored"]),
            ("spp.dci.oauth.token", ["access_token_stored"]),
            ("spp.dci.transaction", ["result_stored"]),
        ):
            for user in (plain_user, dci_user):
                with self.subTest(model=model, user=user.login), self.assertRaises(AccessError):
                    self.env[model].with_user(user).search_read([], fields)

    def test_credentials_change_clears_token(self):
        from ..services.client import DCIClient  # noqa: PLC0415

        client = DCIClient(self.data_source, self.env)
        self.addCleanup(client.close)
        client.search_by_id("BRN", "BR-2024-0042")
        tokens = self.env["spp.dci.oauth.token"].sudo()
        self.assertTrue(tokens.search([("data_source_id", "=", self.data_source.id)]))
        self.data_source.oauth2_scope = "registry:read"
        self.assertFalse(tokens.search([("data_source_id", "=", self.data_source.id)]))


@contextmanager
def web_page_server(status):
    """A loopback web server answering every request with an HTML page and ``status`` (as Odoo's 404 page)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            page = b"<!DOCTYPE html><html><body><h1>404: Page not found</h1></body></html>"
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@tagged("post_install", "-at_install")
class TestConnection(DCICase):
    def notify(self, source):
        action = source.test_connection()
        self.assertEqual(action["tag"], "display_notification")
        return action["params"]

    def test_success_reports_each_step(self):
        params = self.notify(self.data_source)
        self.assertEqual(params["type"], "success")
        for step in ("Token request", "Search request", "Response envelope", "Response signature: valid"):
            self.assertIn(step, params["message"])
        self.assertEqual(self.data_source.state, "active")
        self.assertTrue(self.data_source.last_test_date)
        self.assertFalse(self.data_source.last_error)

    def test_bad_credentials(self):
        self.data_source.oauth2_client_secret = "wrong"
        params = self.notify(self.data_source)
        self.assertEqual(params["type"], "danger")
        self.assertEqual(self.data_source.state, "error")
        self.assertIn("401", self.data_source.last_error)
        self.assertNotIn("wrong", self.data_source.last_error)

    def test_unreachable_within_timeout(self):
        with unanswering_url() as url:
            source = self.make_data_source(code="unreachable", base_url=url, timeout=2)
            started = time.monotonic()
            params = self.notify(source)
            elapsed = time.monotonic() - started
        self.assertEqual(source.state, "error")
        self.assertIn("timeout", params["message"].lower())
        self.assertIn("no connection within 2 s", params["message"])
        self.assertLess(elapsed, 3.0)

    def test_bad_signature(self):
        self.sim.faults.add("bad_signature")
        params = self.notify(self.data_source)
        self.assertEqual(params["type"], "danger")
        self.assertIn("signature", self.data_source.last_error)
        self.assertIn("✔ Response envelope", params["message"])

    def test_refused_port(self):
        source = self.make_data_source(code="refused_port", base_url="http://127.0.0.1:9", auth_type="none")
        params = self.notify(source)
        self.assertEqual(params["type"], "danger")
        self.assertIn("could not be reached", source.last_error)
        self.assertIn("http://127.0.0.1:9/registry/sync/search", source.last_error)
        self.assertIn("Check: Base URL", source.last_error)

    def test_unreachable_token_endpoint_points_at_the_url_it_came_from(self):
        """Without a token URL the token request goes to the base URL; TLS is named for https only."""
        source = self.make_data_source(code="refused_token", base_url="http://127.0.0.1:9")
        self.notify(source)
        self.assertIn("http://127.0.0.1:9/oauth2/client/token", source.last_error)
        self.assertTrue(source.last_error.endswith("Check: Base URL."), source.last_error)
        source.write({"oauth2_token_url": "https://127.0.0.1:9/token"})
        self.notify(source)
        self.assertTrue(
            source.last_error.endswith("Check: OAuth2 Token URL, Verify TLS Certificates."), source.last_error
        )

    def lines(self, params):
        """The step lines; the message starts with a line break, after the title."""
        self.assertEqual(params["message"][0], "\n")
        return params["message"][1:].split("\n")

    def test_each_step_is_a_line_with_its_time_and_url(self):
        params = self.notify(self.data_source)
        lines = self.lines(params)
        self.assertEqual(
            [line.split(":")[0] for line in lines],
            ["✔ Token request", "✔ Search request", "✔ Response envelope", "✔ Response signature", "✔ Answer"],
        )
        self.assertIn(f"{self.server.url('crvs')}/oauth2/client/token", lines[0])
        self.assertIn(f"HTTP 200 ({self.server.url('crvs')}/registry/sync/search, ", lines[1])
        for line in lines:
            self.assertRegex(line, r"\d+ ms\)\.$")
        self.assertEqual(params["className"], "o_spp_dci_test_connection", "the stylesheet keeps the lines apart")

    def test_no_token_is_reported_when_none_is_requested(self):
        for auth, expected in (("none", "uses no authentication"), ("bearer", "bearer token was sent")):
            with self.subTest(auth=auth):
                values = {"bearer_token": "simulator-bearer"} if auth == "bearer" else {}
                source = self.make_data_source(code=f"probe_{auth}", auth_type=auth, **values)
                before = self.sim.stats["token_requests"]
                first = self.lines(self.notify(source))[0]
                self.assertIn(expected, first)
                self.assertNotIn("issued", first)
                self.assertEqual(self.sim.stats["token_requests"], before)

    def test_unsigned_response_is_not_called_refused_credentials(self):
        self.sim.faults.add("no_signature")
        params = self.notify(self.data_source)
        self.assertIn("✘ Response signature: The registry's message is not signed.", params["message"])
        self.assertIn("Check: Response Signatures", params["message"])
        self.assertNotIn("credentials", params["message"])

    def test_registry_refusing_our_signature_is_not_called_refused_credentials(self):
        self.sim.faults.add("status", status=401, code="err.signature.missing")
        params = self.notify(self.data_source)
        self.assertIn("refused our request's signature (HTTP 401, err.signature.missing)", params["message"])
        self.assertIn("Check: Our Signing Key", params["message"])
        self.assertNotIn("credentials", params["message"])

    def test_a_web_page_is_not_reported_as_the_registry_speaking(self):
        for status, code in ((404, "err.request.not_found"), (401, "err.request.unauthorized")):
            with self.subTest(status=status), web_page_server(status) as url:
                source = self.make_data_source(code=f"web_page_{status}", base_url=url, auth_type="none")
                params = self.notify(source)
                self.assertIn(f"HTTP {status}, from a server that is not a DCI registry", params["message"])
                self.assertNotIn(code, params["message"])
                self.assertNotIn("credentials", params["message"])
                self.assertIn("Check: Base URL, Search Endpoint.", params["message"])

    def test_timeout_says_what_was_awaited_and_how_long(self):
        self.sim.faults.add("latency", seconds=3)
        source = self.make_data_source(code="slow_answer", timeout=1)
        failure = self.lines(self.notify(source))[-1]
        self.assertIn(
            f"✘ Search request: no answer within 1 s: the server accepted the connection, then sent "
            f"nothing (the timeout) ({self.server.url('crvs')}/registry/sync/search",
            failure,
        )
        self.assertIn("Check: Timeout (seconds), Base URL.", failure)


@tagged("post_install", "-at_install")
class TestSigningKeys(DCICase):
    def test_generate_activate_revoke_and_jwks(self):
        jwks = self.env["spp.dci.signing.key"]._get_public_jwks()
        self.assertIn(self.signing_key.kid, [key["kid"] for key in jwks["keys"]])
        new_key = self.make_signing_key("rsa", name="Rotated")
        kids = [key["kid"] for key in self.env["spp.dci.signing.key"]._get_public_jwks()["keys"]]
        self.assertIn(self.signing_key.kid, kids, "the old key stays published during rotation")
        self.assertIn(new_key.kid, kids)
        rsa_jwk = next(
            key for key in self.env["spp.dci.signing.key"]._get_public_jwks()["keys"] if key["kid"] == new_key.kid
        )
        self.assertEqual((rsa_jwk["kty"], rsa_jwk["alg"]), ("RSA", "RS256"))
        self.assertNotIn("d", rsa_jwk)
        self.signing_key.action_revoke()
        kids = [key["kid"] for key in self.env["spp.dci.signing.key"]._get_public_jwks()["keys"]]
        self.assertNotIn(self.signing_key.kid, kids)
        with self.assertRaisesRegex(UserError, "revoked"):
            self.signing_key._get_signer()

    def test_expired_key_is_never_used(self):
        key = self.make_signing_key(name="Short-lived")
        key.expiry_date = "2020-01-01 00:00:00"
        self.assertFalse(key.is_usable)
        with self.assertRaisesRegex(UserError, "expired"):
            key._get_signer()
        self.assertNotIn(key.kid, [jwk["kid"] for jwk in self.env["spp.dci.signing.key"]._get_public_jwks()["keys"]])

    def test_private_key_encrypted_and_generation_once(self):
        with patch.dict(os.environ, {"SPP_DCI_SECRET_KEY": "test-server-key"}):
            key = self.make_signing_key(name="Encrypted")
            self.assertTrue(key.sudo().private_key_stored.startswith(secrets.ENCRYPTED))
            self.assertNotIn("PRIVATE KEY", key.sudo().private_key_stored)
            with self.assertRaises(UserError):
                key.action_generate()
