"""The administrator's screens: new-source defaults, Fetch Registry Keys, chatter, the overview and its figures."""

import base64
import hashlib
import http.server
import json
import threading

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools.safe_eval import safe_eval

from ..models.transaction import log_row, write_log_row
from ..services import constants as C
from ..services.errors import DCIConnectionError, DCIProtocolError
from ..services.jwks_fetch import JWKSDocumentError
from .common import CLIENT_SECRET, DCICase, SimulatorMixin, unanswering_url

ADMIN = "spp_dci_client.group_dci_admin"
USER = "spp_dci_client.group_dci_user"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def ed25519_jwk(kid=None):
    """An Ed25519 public JWK and its RFC 7638 thumbprint, built here from the RFC, not by our code."""
    raw = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}
    thumbprint = b64url(hashlib.sha256(f'{{"crv":"Ed25519","kty":"OKP","x":"{jwk["x"]}"}}'.encode()).digest())
    if kid:
        jwk["kid"] = kid
    return jwk, thumbprint, raw


class HostileJwks(http.server.ThreadingHTTPServer):
    """A registry of the attacker's: answers every GET with ``self.body`` (bytes) and ``self.content_type``."""

    def __init__(self):
        self.body = b"{}"
        self.content_type = "application/json"
        super().__init__(("127.0.0.1", 0), _HostileHandler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/.well-known/jwks.json"

    def stop(self):
        self.shutdown()
        self.server_close()


class _HostileHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = self.server.body
        self.send_response(200)
        self.send_header("Content-Type", self.server.content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@tagged("post_install", "-at_install")
class TestNewDataSourceDefaults(DCICase):
    def form_defaults(self, names):
        action = self.env.ref("spp_dci_client.spp_dci_data_source_action")
        return self.env["spp.dci.data.source"].with_context(**safe_eval(action.context)).default_get(names)

    def test_new_source_takes_the_newest_active_key(self):
        older = self.signing_key
        newer = self.make_signing_key(name="Newer key")
        self.assertEqual(self.form_defaults(["signing_key_id"])["signing_key_id"], newer.id)
        newer.action_revoke()
        self.assertEqual(self.form_defaults(["signing_key_id"])["signing_key_id"], older.id)

    def test_sources_made_by_code_choose_their_own_key(self):
        self.assertFalse(self.env["spp.dci.data.source"].default_get(["signing_key_id"]).get("signing_key_id"))
        self.assertFalse(self.make_data_source(code="code_made", signing_key_id=False).signing_key_id)

    def test_ui_defaults_to_oauth2(self):
        self.assertEqual(self.form_defaults(["auth_type"])["auth_type"], "oauth2")

    def test_form_marks_sender_id_required_on_the_first_tab(self):
        arch = self.env["spp.dci.data.source"].get_view(view_type="form")["arch"]
        first_tab = arch.split("<notebook")[0]
        self.assertRegex(first_tab, r'<field name="our_sender_id"[^>]*required="1"')
        self.assertNotIn('name="our_sender_id"', arch.split("<notebook")[1])

    def test_use_new_signing_key(self):
        source = self.make_data_source(code="no_key", signing_key_id=False)
        source.action_use_new_signing_key()
        self.assertTrue(source.signing_key_id.is_usable)
        self.assertEqual(source.signing_key_id.algorithm, "ed25519")


@tagged("post_install", "-at_install")
class TestFetchRegistryKeys(DCICase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.hostile = HostileJwks()
        cls.addClassCleanup(cls.hostile.stop)

    def open_wizard(self, source, url=None):
        action = source.action_fetch_registry_keys()
        wizard = self.env["spp.dci.jwks.fetch"].browse(action["res_id"])
        if url:
            wizard.url = url
        return wizard

    def registry_settings(self, source):
        return source.read(["registry_public_key", "registry_jwks_url", "registry_key_id"])[0]

    def test_simulator_keys_are_listed_and_pinned(self):
        source = self.make_data_source(
            code="jwks_pin",
            registry_public_key=False,
            signature_profile="openspp",
            base_url=self.server.url() + "/openspp/crvs",
        )
        wizard = self.open_wizard(source)
        self.assertEqual(wizard.url, source.base_url + C.PATH_JWKS)
        wizard.action_fetch()
        self.assertEqual(len(wizard.key_ids), 1)
        found = wizard.key_ids
        x = b64url(
            self.sim.signer.private_key.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
        )
        expected_thumbprint = b64url(hashlib.sha256(f'{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}'.encode()).digest())
        self.assertEqual(found.thumbprint, expected_thumbprint)
        self.assertEqual(found.kid, f"crvs.simulator|{expected_thumbprint}|ed25519")
        self.assertEqual(found.key_type, "Ed25519")
        self.assertTrue(found.selected, "a lone key is chosen already")
        wizard.action_pin_key()
        self.assertEqual(source.registry_key_id, found.kid)
        self.assertEqual(source.registry_jwks_url, wizard.url)
        self.assertEqual(source.registry_public_key.strip(), self.sim.public_key_pem.strip())
        self.assertEqual(
            source.test_connection()["params"]["type"], "success", "the pinned key checks the registry's signatures"
        )

    def test_trust_url_follows_the_jwks(self):
        source = self.make_data_source(code="jwks_url")
        wizard = self.open_wizard(source)
        with self.assertRaises(UserError):
            wizard.action_trust_url()
        wizard.action_fetch()
        wizard.action_trust_url()
        self.assertEqual(self.registry_settings(source)["registry_public_key"], False)
        self.assertEqual(source.registry_jwks_url, self.server.url("crvs") + C.PATH_JWKS)
        self.assertEqual(source.test_connection()["params"]["type"], "success")

    def test_pin_needs_exactly_one_key(self):
        first, _thumb, _raw = ed25519_jwk("k1")
        second, _thumb, _raw = ed25519_jwk("k2")
        self.hostile.body = json.dumps({"keys": [first, second]}).encode()
        source = self.make_data_source(code="jwks_two")
        before = self.registry_settings(source)
        wizard = self.open_wizard(source, self.hostile.url)
        wizard.action_fetch()
        self.assertEqual(sorted(wizard.key_ids.mapped("kid")), ["k1", "k2"])
        self.assertFalse(any(wizard.key_ids.mapped("selected")))
        with self.assertRaisesRegex(UserError, "exactly one"):
            wizard.action_pin_key()
        wizard.key_ids.write({"selected": True})
        with self.assertRaisesRegex(UserError, "exactly one"):
            wizard.action_pin_key()
        self.assertEqual(self.registry_settings(source), before)

    def test_key_without_kid_is_known_by_its_thumbprint(self):
        jwk, thumbprint, _raw = ed25519_jwk()
        self.hostile.body = json.dumps({"keys": [jwk]}).encode()
        wizard = self.open_wizard(self.data_source, self.hostile.url)
        wizard.action_fetch()
        self.assertEqual((wizard.key_ids.kid, wizard.key_ids.thumbprint), (thumbprint, thumbprint))

    def test_hostile_jwks_are_refused_and_nothing_is_written(self):
        good, _thumb, raw = ed25519_jwk("good")
        ec_key = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
        ec_jwk = {
            "kty": "EC",
            "crv": "P-256",
            "kid": "ec",
            "x": b64url(ec_key.x.to_bytes(32, "big")),
            "y": b64url(ec_key.y.to_bytes(32, "big")),
        }
        cases = {
            "huge": (
                json.dumps({"keys": [good], "pad": "x" * 300_000}).encode(),
                "application/json",
                DCIProtocolError,
                "larger|too large|limit",
            ),
            "html": (b"<html>It works</html>", "text/html", DCIProtocolError, "not JSON"),
            "truncated": (b'{"keys": [{"kty": "OKP"', "application/json", DCIProtocolError, "not JSON"),
            "array": (b"[1, 2]", "application/json", DCIProtocolError, "not an object"),
            "no keys": (b'{"kids": []}', "application/json", JWKSDocumentError, 'no "keys" list'),
            "empty": (b'{"keys": []}', "application/json", JWKSDocumentError, "no keys"),
            "wrong kty": (
                json.dumps({"keys": [good, ec_jwk]}).encode(),
                "application/json",
                JWKSDocumentError,
                "key type EC",
            ),
            "symmetric": (
                json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}).encode(),
                "application/json",
                JWKSDocumentError,
                "private key material",
            ),
            "duplicate kids": (
                json.dumps({"keys": [good, dict(ed25519_jwk()[0], kid="good")]}).encode(),
                "application/json",
                JWKSDocumentError,
                "same kid",
            ),
            "private key": (
                json.dumps({"keys": [dict(good, d=b64url(raw))]}).encode(),
                "application/json",
                JWKSDocumentError,
                "private key material",
            ),
            "bad x": (
                json.dumps({"keys": [dict(good, x="!!not-base64!!")]}).encode(),
                "application/json",
                JWKSDocumentError,
                "cannot be used",
            ),
            "short x": (
                json.dumps({"keys": [dict(good, x=b64url(b"short"))]}).encode(),
                "application/json",
                JWKSDocumentError,
                "cannot be used",
            ),
            "kid not text": (
                json.dumps({"keys": [dict(good, kid={"a": 1})]}).encode(),
                "application/json",
                JWKSDocumentError,
                "printable",
            ),
            "too many": (
                json.dumps({"keys": [dict(ed25519_jwk()[0], kid=f"k{i}") for i in range(60)]}).encode(),
                "application/json",
                JWKSDocumentError,
                "at most",
            ),
        }
        source = self.make_data_source(
            code="jwks_hostile", registry_public_key=False, registry_jwks_url=self.server.url("crvs") + C.PATH_JWKS
        )
        before = self.registry_settings(source)
        for name, (body, content_type, error_class, message) in cases.items():
            with self.subTest(name):
                self.hostile.body, self.hostile.content_type = body, content_type
                wizard = self.open_wizard(source, self.hostile.url)
                with self.assertRaisesRegex(error_class, message):
                    wizard.action_fetch()
                self.assertFalse(wizard.key_ids)
                self.assertFalse(wizard.fetched)
                self.assertEqual(self.registry_settings(source), before)

    def test_unanswering_registry_times_out(self):
        source = self.make_data_source(code="jwks_slow", timeout=1)
        with unanswering_url() as url:
            wizard = self.open_wizard(source, url + C.PATH_JWKS)
            with self.assertRaises(DCIConnectionError):
                wizard.action_fetch()
        self.assertFalse(wizard.key_ids)

    def test_only_urls_are_fetched(self):
        wizard = self.open_wizard(self.data_source, "file:///etc/passwd")
        with self.assertRaisesRegex(UserError, "http"):
            wizard.action_fetch()

    def test_dci_users_cannot_fetch(self):
        user = new_test_user(self.env, "jwks_user", groups=f"base.group_user,{USER}")
        with self.assertRaises(AccessError):
            self.data_source.with_user(user).action_fetch_registry_keys()
        wizard = self.open_wizard(self.data_source)
        with self.assertRaises(AccessError):
            wizard.with_user(user).action_fetch()


@tagged("post_install", "-at_install")
class TestOverviewFigures(DCICase):
    def log(self, source, state, duration, action=C.ACTION_SEARCH):
        write_log_row(
            self.env.registry,
            log_row(
                source.id,
                self.env.uid,
                {
                    "action": action,
                    "transaction_id": f"t-{state}-{duration}",
                    "state": state,
                    "duration_ms": duration,
                    "reason_code": "err.request.not_found" if state == "error" else None,
                },
            ),
        )

    def test_figures_per_source(self):
        quiet = self.make_data_source(code="overview_quiet")
        busy = self.make_data_source(code="overview_busy")
        for state, duration in [("done", 100), ("done", 200), ("error", 300), ("pending", 400)]:
            self.log(busy, state, duration)
        self.env["spp.dci.bulk.run"].create({"name": "Running", "kind": "search", "data_source_id": busy.id})
        self.env.cr.execute(
            """
            SELECT count(*), count(*) FILTER (WHERE state = 'error'), round(avg(duration_ms)),
                   count(*) FILTER (WHERE state = 'pending')
              FROM spp_dci_transaction WHERE data_source_id = %s AND direction = 'out'""",
            [busy.id],
        )
        calls, errors, latency, pending = self.env.cr.fetchone()
        sources = quiet | busy
        sources.invalidate_recordset()
        self.assertEqual(
            (
                busy.call_count,
                busy.error_count,
                busy.average_latency_ms,
                busy.pending_callback_count,
                busy.running_bulk_run_count,
            ),
            (calls, errors, int(latency), pending, 1),
        )
        self.assertEqual((calls, errors, int(latency), pending), (4, 1, 250, 1))
        self.assertEqual(busy.error_rate, round(100 / 3, 1), "errors among the answered calls")
        self.assertEqual((quiet.call_count, quiet.error_rate, quiet.average_latency_ms), (0, 0.0, 0))

    def test_figures_cost_the_same_for_many_sources(self):
        sources = self.data_source | self.make_data_source(code="overview_b") | self.make_data_source(code="overview_c")
        for source in sources:
            self.log(source, "error", 10)
        self.env.invalidate_all()
        with self.assertQueryCount(3):
            sources.mapped("error_rate")

    def test_error_rate_in_the_log(self):
        self.log(self.data_source, "error", 5)
        self.log(self.data_source, "done", 5)
        groups = self.env["spp.dci.transaction"]._read_group(
            [("data_source_id", "=", self.data_source.id)], ["state"], ["error_percent:avg"]
        )
        self.assertEqual(dict(groups), {"error": 100, "done": 0})
        average = self.env["spp.dci.transaction"]._read_group(
            [("data_source_id", "=", self.data_source.id)], [], ["error_percent:avg"]
        )[0][0]
        self.assertEqual(average, 50)

    def test_message_log_action_of_a_source(self):
        action = self.data_source.action_open_message_log()
        self.assertEqual(action["domain"], [("data_source_id", "=", self.data_source.id)])
        self.assertEqual(action["res_model"], "spp.dci.transaction")


@tagged("post_install", "-at_install")
class TestChatter(DCICase):
    def test_tracked_changes_name_field_and_values(self):
        self.env.flush_all()
        self.env.cr.precommit.run()  # as a commit would: changes to records made earlier in a transaction are tracked
        self.data_source.write({"auth_type": "bearer", "bearer_token": "tracked-Bearer-1"})
        self.data_source.write({"signature_policy": "if_present"})
        self.env.flush_all()
        self.env.cr.precommit.run()
        self.env.invalidate_all()
        tracked = self.data_source.message_ids.tracking_value_ids
        changes = {value.field_id.name: (value.old_value_char, value.new_value_char) for value in tracked}
        self.assertEqual(changes["auth_type"], ("OAuth 2.0", "Bearer token"))
        self.assertEqual(changes["signature_policy"][1], "Verified when present")
        self.assertIn("Bearer Token", " ".join(self.data_source.message_ids.mapped("body")))
        self.assertNotIn("tracked-Bearer-1", str(changes) + " ".join(self.data_source.message_ids.mapped("body")))

    def test_signing_key_events_are_posted(self):
        key = self.env["spp.dci.signing.key"].create({"name": "Chatter key"})
        key.action_generate()
        key.action_activate()
        key.action_revoke()
        bodies = " ".join(key.message_ids.mapped("body"))
        for event in ("Key generated", "Key activated", "Key revoked"):
            self.assertIn(event, bodies)
        self.assertIn(key.kid, bodies)
        self.assertNotIn("PRIVATE", bodies)


@tagged("post_install", "-at_install")
class TestAdminScreens(SimulatorMixin, HttpCase):
    """The tours, and what a lower-group user gets over RPC."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_simulator()
        cls.signing_key = cls.make_signing_key(name="Tour signing key")
        cls.data_source = cls.make_data_source()
        cls.dci_admin = new_test_user(cls.env, "ui_dci_admin", groups=f"base.group_user,{ADMIN}")
        cls.dci_user = new_test_user(cls.env, "ui_dci_user", groups=f"base.group_user,{USER}")

    def rpc(self, user, model, method, args, kwargs=None):
        payload = {
            "jsonrpc": "2.0",
            "method": "call",
            "id": 1,
            "params": {
                "service": "object",
                "method": "execute_kw",
                "args": [self.env.cr.dbname, user.id, user.login, model, method, args, kwargs or {}],
            },
        }
        return self.url_open(
            "/jsonrpc", data=json.dumps(payload), headers={"Content-Type": "application/json"}, timeout=60
        ).json()

    def test_secrets_never_reach_the_chatter(self):
        secret, token = "rpc-Client-Secret-93", "rpc-Bearer-Token-57"
        answer = self.rpc(
            self.dci_admin,
            "spp.dci.data.source",
            "write",
            [self.data_source.ids, {"oauth2_client_secret": secret, "oauth2_client_id": "new-client"}],
        )
        self.assertTrue(answer.get("result"), answer)
        answer = self.rpc(
            self.dci_admin,
            "spp.dci.data.source",
            "write",
            [self.data_source.ids, {"auth_type": "bearer", "bearer_token": token}],
        )
        self.assertTrue(answer.get("result"), answer)
        for value in (secret, token, CLIENT_SECRET):
            self.env.cr.execute(
                """
                SELECT (SELECT count(*) FROM mail_message WHERE body::text LIKE %(v)s OR subject LIKE %(v)s),
                       (SELECT count(*) FROM mail_tracking_value
                         WHERE concat_ws(' ', old_value_char, new_value_char, old_value_text, new_value_text)
                               LIKE %(v)s)""",
                {"v": f"%{value}%"},
            )
            self.assertEqual(self.env.cr.fetchone(), (0, 0), value)
        bodies = " ".join(self.data_source.message_ids.mapped("body"))
        self.assertIn("OAuth2 Client Secret", bodies, "the change itself is recorded")
        self.assertIn("Bearer Token", bodies)
        tracked = self.data_source.message_ids.tracking_value_ids.mapped("field_id.name")
        self.assertIn("oauth2_client_id", tracked)
        admin_view = self.rpc(
            self.dci_admin,
            "mail.message",
            "search_read",
            [[("model", "=", "spp.dci.data.source"), ("res_id", "=", self.data_source.id)]],
            {"fields": ["body"]},
        )
        self.assertTrue(admin_view.get("result"), admin_view)
        self.assertNotIn(secret, json.dumps(admin_view))
        user_view = self.rpc(
            self.dci_user,
            "mail.message",
            "search_read",
            [[("model", "=", "spp.dci.data.source"), ("res_id", "=", self.data_source.id)]],
            {"fields": ["body"]},
        )
        self.assertEqual(user_view.get("result", []), [], "a DCI user reads no data source's chatter")
        user_read = self.rpc(self.dci_user, "spp.dci.data.source", "read", [self.data_source.ids, ["message_ids"]])
        self.assertEqual(user_read["error"]["data"]["name"], "odoo.exceptions.AccessError")

    def test_tour_data_source_create(self):
        self.env["spp.dci.data.source"].search([]).active = False
        self.start_tour(
            "/odoo/action-spp_dci_client.spp_dci_data_source_action", "spp_dci_data_source_create", login="ui_dci_admin"
        )
        created = self.env["spp.dci.data.source"].search([("code", "=", "tour_crvs")])
        self.assertEqual(
            (created.auth_type, created.our_sender_id, created.signing_key_id),
            ("oauth2", "openspp.tour", self.signing_key),
        )
        self.assertNotIn("tour-Secret-77", " ".join(created.message_ids.mapped("body")))

    def test_tour_jwks_fetch(self):
        source = self.make_data_source(
            code="tour_jwks", registry_public_key=False, base_url=self.server.url() + "/openspp/crvs"
        )
        self.start_tour(
            f"/odoo/action-spp_dci_client.spp_dci_data_source_action/{source.id}",
            "spp_dci_jwks_fetch",
            login="ui_dci_admin",
        )
        self.assertTrue(source.registry_key_id.startswith("crvs.simulator|"))

    def test_tour_signing_key(self):
        self.start_tour(
            "/odoo/action-spp_dci_client.spp_dci_signing_key_action/new", "spp_dci_signing_key", login="ui_dci_admin"
        )
        key = self.env["spp.dci.signing.key"].search([("name", "=", "Tour key 2027")])
        self.assertEqual(key.state, "active")

    def failing_source(self):
        """A data source with one failed search in its log, as the client logs a registry's 404."""
        source = self.make_data_source(code="tour_failing")
        write_log_row(
            self.env.registry,
            log_row(
                source.id,
                self.env.uid,
                {
                    "action": C.ACTION_SEARCH,
                    "transaction_id": "overview-error",
                    "state": "error",
                    "duration_ms": 7,
                    "http_status": 404,
                    "reason_code": "err.request.not_found",
                    "error_type": "DCIRejectedError",
                },
            ),
        )
        return source

    def test_tour_message_log(self):
        self.env["spp.dci.transaction"].search([]).unlink()
        self.start_tour(
            "/odoo/action-spp_dci_client.spp_dci_transaction_action", "spp_dci_message_log_empty", login="ui_dci_admin"
        )
        self.failing_source()
        self.start_tour(
            "/odoo/action-spp_dci_client.spp_dci_transaction_action", "spp_dci_message_log", login="ui_dci_admin"
        )

    def test_tour_overview(self):
        self.env["spp.dci.data.source"].search([]).active = False
        source = self.failing_source()
        source.name = "Simulated crvs"
        write_log_row(
            self.env.registry,
            log_row(
                source.id,
                self.env.uid,
                {"action": C.ACTION_SEARCH, "transaction_id": "overview-done", "state": "done", "duration_ms": 10},
            ),
        )
        write_log_row(
            self.env.registry,
            log_row(
                source.id,
                self.env.uid,
                {"action": C.ACTION_SEARCH, "transaction_id": "overview-pending", "state": "pending"},
            ),
        )
        self.start_tour("/odoo/action-spp_dci_client.spp_dci_overview_action", "spp_dci_overview", login="ui_dci_admin")
