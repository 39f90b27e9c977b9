"""Issue 15, as an attacker tries it: forged requests, redirected secrets, RPC by every group.

Every public method of the suite's models is called over real JSON-RPC by a
user of each group; the ACCESS line counts the calls and what they exposed.
"""

import http.server
import inspect
import json
import threading

from dci_simulator import simulator_private_key

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.models import BaseModel
from odoo.tests import new_test_user, tagged

from odoo.addons.spp_dci_client.services.errors import DCIConfigurationError, DCISignatureError
from odoo.addons.spp_dci_client.services.keys import JWKSKeys
from odoo.addons.spp_dci_client.services.signing import public_jwk, public_key_to_pem

from .. import simulator_mount
from .test_enrollment import DemoCase

USER = "spp_dci_client.group_dci_user"
ADMIN = "spp_dci_client.group_dci_admin"
APPROVER = "spp_dci_demo.group_enrollment_approver"
INTERNAL = "base.group_user"
CHECKED = ["declared_name", "declared_sex", "declared_birth_date", "program_id"]
# (model, method): the group a caller needs. A public method missing here fails test_rpc_access_matrix.
REQUIRED_GROUP = {
    ("spp.dci.data.source", "get_by_code"): INTERNAL,
    ("spp.dci.data.source", "get_by_registry_type"): INTERNAL,
    ("spp.dci.data.source", "test_connection"): ADMIN,
    ("spp.dci.data.source", "clear_oauth2_token_cache"): ADMIN,
    ("spp.dci.data.source", "action_generate_callback_token"): ADMIN,
    ("spp.dci.data.source", "action_revoke_callback_token"): ADMIN,
    ("spp.dci.data.source", "action_fetch_registry_keys"): ADMIN,
    ("spp.dci.data.source", "action_use_new_signing_key"): ADMIN,
    ("spp.dci.data.source", "action_open_message_log"): ADMIN,
    ("spp.dci.jwks.fetch", "action_fetch"): ADMIN,
    ("spp.dci.jwks.fetch", "action_pin_key"): ADMIN,
    ("spp.dci.jwks.fetch", "action_trust_url"): ADMIN,
    ("spp.dci.bulk.run", "action_cancel"): ADMIN,
    ("spp.dci.bulk.run", "action_resume"): ADMIN,
    ("spp.dci.bulk.run", "action_view_items"): ADMIN,
    ("spp.dci.demo.bulk.verify", "action_start"): USER,
    ("spp.dci.signing.key", "action_generate"): ADMIN,
    ("spp.dci.signing.key", "action_activate"): ADMIN,
    ("spp.dci.signing.key", "action_revoke"): ADMIN,
    ("res.partner", "action_dci_check_duplication"): USER,
    ("spp.dci.crvs.event", "action_apply"): ADMIN,
    ("spp.dci.crvs.event", "action_revert"): ADMIN,
    ("spp.dci.crvs.subscription", "action_refresh"): ADMIN,
    ("spp.dci.crvs.subscription", "action_unsubscribe"): ADMIN,
    ("spp.dci.demo.enrollment", "action_verify_birth"): USER,
    ("spp.dci.demo.enrollment", "action_verify_birth_async"): USER,
    ("spp.dci.demo.enrollment", "action_refresh_async"): USER,
    ("spp.dci.demo.enrollment", "action_check_enrolments"): USER,
    ("spp.dci.demo.enrollment", "action_check_disability"): USER,
    ("spp.dci.demo.enrollment", "action_run_checks"): USER,
    ("spp.dci.demo.enrollment", "action_enroll"): USER,
    ("spp.dci.demo.enrollment", "action_bulk_verify_births"): USER,
    ("spp.dci.demo.enrollment", "action_bulk_verify_selected"): USER,
    ("spp.dci.demo.enrollment", "action_approve"): APPROVER,
    ("spp.dci.demo.enrollment", "action_reject"): APPROVER,
    ("spp.dci.demo.reject", "action_confirm"): APPROVER,
    ("spp.dci.crvs.subscribe", "action_subscribe"): ADMIN,
}


def public_methods(env):
    """(model, method) of every public method our addons define on a model, ORM methods aside."""
    found = set()
    for name in env.registry:
        for cls in type(env[name]).__mro__:
            if not cls.__module__.startswith("odoo.addons.spp_dci_"):
                continue
            for attribute, value in vars(cls).items():
                if (
                    callable(value)
                    and not attribute.startswith("_")
                    and not hasattr(BaseModel, attribute)
                    and not inspect.isclass(value)
                    and not getattr(value, "_api_private", False)
                ):
                    found.add((name, attribute))
    return found


class Listener(http.server.ThreadingHTTPServer):
    """A server of the attacker's: records every request body it receives."""

    def __init__(self):
        self.bodies = []
        listener = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                listener.bodies.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"access_token": "stolen", "token_type": "bearer"}')

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


@tagged("post_install", "-at_install")
class TestSecurityAdmin(DemoCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.crvs = cls.env["spp.dci.data.source"].get_by_code("crvs_main")
        cls.officer = new_test_user(cls.env, "sa_officer", groups=f"{INTERNAL},{USER}")
        cls.dci_admin = new_test_user(cls.env, "sa_dci_admin", groups=f"{INTERNAL},{ADMIN}")
        cls.approver = new_test_user(cls.env, "sa_approver", groups=f"{INTERNAL},{APPROVER}")
        cls.employee = new_test_user(cls.env, "sa_employee", groups=INTERNAL)

    # item 3: the state of a request is never set by a user, on create, copy or write

    def test_forged_enrolled_request_is_refused(self):
        template = self.requests["santos"]
        values = {
            "child_id": template.child_id.id,
            "declared_name": "X",
            "declared_birth_date": "2024-03-15",
            "declared_sex": "female",
        }
        requests = self.env["spp.dci.demo.enrollment"].with_user(self.officer)
        forged = [
            {"state": "enrolled"},
            {"state": "approved", "approved_by": self.approver.id},
            {"enrolled_date": "2024-01-01"},
            {"birth_outcome": "verified"},
            {"check_ids": [(0, 0, {"kind": "birth", "outcome": "verified"})]},
        ]
        for extra in forged:
            with self.subTest(create=extra), self.assertRaises(AccessError):
                requests.create(dict(values, **extra))
            with self.subTest(copy=extra), self.assertRaises(AccessError):
                template.with_user(self.officer).copy(extra)
        created = requests.create(dict(values, state="draft"))
        self.assertEqual((created.state, created.birth_outcome, created.approved_by.id), ("draft", False, False))
        copied = template.with_user(self.officer).copy()
        self.assertEqual((copied.state, copied.check_ids.ids), ("draft", []))

    # item 4: a change of what was checked resets the outcomes

    def test_changed_child_is_not_approved_on_old_checks(self):
        request = self.requests["santos"]
        request.action_run_checks()
        self.assertEqual((request.state, request.birth_outcome), ("checked", "verified"))
        other = self.requests["delacruz"].child_id
        request.with_user(self.officer).write({"child_id": other.id})
        self.assertEqual(
            (
                request.state,
                request.birth_outcome,
                request.enrolment_outcome,
                request.disability_outcome,
                request.disability_top_up,
            ),
            ("draft", False, False, False, False),
        )
        with self.assertRaisesRegex(UserError, "Run the checks"):
            request.action_approve()

    def test_each_checked_value_resets_the_outcomes(self):
        request = self.requests["santos"]
        original = request.read(CHECKED, load=None)[0]
        for values in (
            {"declared_name": "Someone Else"},
            {"declared_sex": "male"},
            {"declared_birth_date": "2020-01-01"},
            {"program_id": self.env["spp.dci.demo.program"].create({"name": "P", "code": "P2"}).id},
        ):
            with self.subTest(values=values):
                request.write({name: original[name] for name in CHECKED})
                request.action_run_checks()
                request.action_approve()
                self.assertEqual(request.state, "approved")
                request.with_user(self.officer).write(values)
                self.assertEqual(
                    (request.state, request.approved_by.id, request.birth_outcome), ("draft", False, False)
                )
                with self.assertRaises(UserError):
                    request.action_enroll()

    def test_changed_identifier_blocks_enrolment(self):
        request = self.requests["santos"]
        request.action_run_checks()
        request.action_approve()
        brn = request.child_id.dci_identifier_ids.filtered(lambda identifier: identifier.identifier_type == "BRN")
        brn.value = "BR-2024-0043"
        self.assertFalse(request.birth_outcome)
        with self.assertRaisesRegex(UserError, "not verified"):
            request.action_enroll()
        self.assertEqual(request.state, "approved")

    def test_decided_request_keeps_what_was_checked(self):
        request = self.requests["santos"]
        request.action_run_checks()
        request.action_approve()
        request.action_enroll()
        with self.assertRaisesRegex(UserError, "decided"):
            request.with_user(self.officer).write({"child_id": self.requests["reyes"].child_id.id})
        self.assertEqual((request.state, request.birth_outcome), ("enrolled", "verified"))

    # item 5: the simulator's key is secret and per process; the demo trusts its JWKS

    def test_simulator_key_is_not_derivable(self):
        constant = simulator_private_key(b"spp-dci-simulator")
        constant_kid = public_jwk(constant.public_key())["kid"]
        served = self.url_open(f"{simulator_mount.PREFIX}/crvs/.well-known/jwks.json").json()["keys"]
        self.assertEqual([key["kid"] for key in served], [public_jwk(simulator_private_key().public_key())["kid"]])
        self.assertNotEqual(served[0]["kid"], constant_kid)
        # A demo database from before pinned the old key: the start-up repoint moves it to the JWKS.
        self.crvs.write(
            {
                "base_url": f"{self.base_url()}/dci_simulator/crvs",
                "registry_public_key": public_key_to_pem(constant.public_key()),
            }
        )
        self.crvs._spp_dci_demo_repoint(self.base_url())
        self.assertFalse(self.crvs.registry_public_key)
        self.assertEqual(self.crvs.registry_jwks_url, f"{self.base_url()}/dci_simulator/crvs/.well-known/jwks.json")
        keys = JWKSKeys(self.crvs.registry_jwks_url, timeout=5)
        with self.allow_requests(all_requests=True):  # the simulator is served by this Odoo server
            self.assertTrue(keys.resolve(served[0]["kid"]))
            with self.assertRaises(DCISignatureError):
                keys.resolve(constant_kid)

    # item 7: a DCI administrator cannot redirect or recover the secrets

    def test_secret_destination_change_needs_the_secret(self):
        listener = Listener()
        self.addCleanup(listener.shutdown)
        source = self.crvs.with_user(self.dci_admin)
        for values in (
            {"oauth2_token_url": listener.url + "/token"},
            {"base_url": listener.url},
            {"auth_endpoint": "/steal"},
            {"allow_plain_http": True},
            {"oauth2_token_url": listener.url + "/token", "oauth2_client_secret": "********"},
        ):
            with self.subTest(values=values), self.assertRaisesRegex(UserError, "enter the OAuth2 Client Secret"):
                source.write(values)
        source.test_connection()
        self.assertEqual(listener.bodies, [], "the secret never reached the attacker")
        source.write({"oauth2_token_url": listener.url + "/token", "oauth2_client_secret": "his-own"})
        source.test_connection()
        self.assertEqual(len(listener.bodies), 1)
        self.assertIn(b"his-own", listener.bodies[0])
        self.assertNotIn(b"demo-simulator-secret", listener.bodies[0])
        bearer = self.env["spp.dci.data.source"].create(
            {
                "name": "Bearer",
                "code": "sa_bearer",
                "base_url": "https://registry.example",
                "auth_type": "bearer",
                "bearer_token": "bearer-secret",
                "our_sender_id": "x",
            }
        )
        with self.assertRaisesRegex(UserError, "enter the Bearer Token"):
            bearer.with_user(self.dci_admin).write({"base_url": listener.url})
        with self.assertRaisesRegex(UserError, "enter the Bearer Token"):
            bearer.with_user(self.dci_admin).write({"search_endpoint": "/other"})
        with self.assertRaises(ValidationError):
            bearer.with_user(self.dci_admin).write({"search_endpoint": listener.url + "/x", "bearer_token": "b2"})
        # Two steps: leave the secret's authentication, move the URL, come back. The secret stayed behind.
        self.crvs.with_user(self.dci_admin).write({"auth_type": "none"})
        self.crvs.with_user(self.dci_admin).write({"base_url": listener.url})
        self.assertFalse(self.crvs.sudo().oauth2_client_secret_stored)
        with self.assertRaises(ValidationError):
            self.crvs.with_user(self.dci_admin).write({"auth_type": "oauth2"})

    def test_stored_columns_are_written_by_code_only(self):
        system = new_test_user(self.env, "sa_system", groups=f"{INTERNAL},base.group_system,{ADMIN}")
        for user in (self.dci_admin, system):
            for values in ({"oauth2_client_secret_stored": "plain:mine"}, {"bearer_token_stored": "plain:x"}):
                with self.subTest(user=user.login, values=values), self.assertRaises(AccessError):
                    self.crvs.with_user(user).write(values)
                with self.subTest(user=user.login, create=values), self.assertRaises(AccessError):
                    self.env["spp.dci.data.source"].with_user(user).create(
                        dict(values, name="n", code="sa_forged", base_url="https://r.example", our_sender_id="x")
                    )
            with self.subTest(user=user.login, key=True), self.assertRaises(AccessError):
                self.crvs.signing_key_id.with_user(user).write({"private_key_stored": "plain:key"})
        self.assertTrue(self.crvs.sudo().oauth2_client_secret_stored.startswith("fernet:"))

    def test_plain_http_only_to_loopback(self):
        source = self.env["spp.dci.data.source"].create(
            {
                "name": "Remote",
                "code": "sa_remote",
                "base_url": "http://registry.example.org",
                "auth_type": "oauth2",
                "oauth2_client_id": "c",
                "oauth2_client_secret": "s",
                "our_sender_id": "x",
            }
        )
        with self.assertRaisesRegex(DCIConfigurationError, "plain http"):
            source._get_client_config()
        notification = source.test_connection()["params"]
        self.assertIn("plain http", notification["message"])
        source.write({"allow_plain_http": True, "oauth2_client_secret": "s"})
        self.assertEqual(
            source._get_client_config().oauth2.token_url, "http://registry.example.org/oauth2/client/token"
        )
        source.write(
            {
                "allow_plain_http": False,
                "base_url": "https://registry.example.org",
                "oauth2_token_url": "http://other.example.org/token",
                "oauth2_client_secret": "s",
            }
        )
        with self.assertRaisesRegex(DCIConfigurationError, "other.example.org"):
            source._get_client_config()
        self.assertTrue(self.crvs._get_client_config(), "loopback over http is allowed")

    # items 11 and 15: every public method checks its group, over real RPC

    def rpc(self, user, model, method, args):
        common = {"jsonrpc": "2.0", "method": "call", "id": 1}
        db = self.env.cr.dbname
        payload = dict(
            common,
            params={
                "service": "object",
                "method": "execute_kw",
                "args": [db, user.id, user.login, model, method, args, {}],
            },
        )
        answer = self.url_open(
            "/jsonrpc", data=json.dumps(payload), headers={"Content-Type": "application/json"}, timeout=60
        ).json()
        return answer.get("error", {}).get("data", {}).get("name")

    def test_rpc_access_matrix(self):
        self.assertEqual(public_methods(self.env), set(REQUIRED_GROUP), "every public method has a group")
        key = self.env["spp.dci.signing.key"].create({"name": "Throwaway"})
        records = {
            "spp.dci.data.source": self.crvs.ids,
            "spp.dci.signing.key": key.ids,
            "spp.dci.jwks.fetch": self.env["spp.dci.jwks.fetch"]
            .create({"data_source_id": self.crvs.id, "url": self.crvs.base_url + "/.well-known/jwks.json"})
            .ids,
            "res.partner": self.requests["santos"].child_id.ids,
            "spp.dci.crvs.event": [],
            "spp.dci.crvs.subscription": [],
            "spp.dci.demo.enrollment": self.requests["santos"].ids,
            # started by another user: only a DCI administrator may cancel or resume it
            "spp.dci.bulk.run": self.env["spp.dci.bulk.run"]
            .create({"name": "Someone else's run", "kind": "search", "data_source_id": self.crvs.id})
            .ids,
        }
        wizard_values = {
            "spp.dci.demo.bulk.verify": {"request_ids": self.requests["santos"].ids},
            "spp.dci.demo.reject": {"request_ids": self.requests["santos"].ids, "reason": "Duplicate request"},
            "spp.dci.crvs.subscribe": {"data_source_id": self.crvs.id, "event_type": "death"},
        }
        model_args = {"get_by_code": ["crvs_main"], "get_by_registry_type": ["ns:org:RegistryType:Civil"]}
        users = [self.employee, self.officer, self.approver, self.dci_admin]
        calls = refused = leaks = 0
        for (model, method), group in REQUIRED_GROUP.items():
            model_method = getattr(type(self.env[model]), method)
            for user in users:
                if model in wizard_values:  # a wizard is its creator's own record
                    wizards = self.env[model].with_user(user) if user.has_group(group) else self.env[model]
                    records[model] = wizards.create(wizard_values[model]).ids
                args = model_args.get(method, []) if getattr(model_method, "_api_model", False) else [records[model]]
                allowed = user.has_group(group)
                with self.subTest(model=model, method=method, user=user.login):
                    error = self.rpc(user, model, method, args)
                    calls += 1
                    if allowed:
                        self.assertNotEqual(error, "odoo.exceptions.AccessError")
                    else:
                        refused += error == "odoo.exceptions.AccessError"
                        leaks += error != "odoo.exceptions.AccessError"
        error = self.rpc(self.employee, "spp.dci.partner.identifier", "search_read", [[]])
        calls += 1
        refused += error == "odoo.exceptions.AccessError"
        leaks += error != "odoo.exceptions.AccessError"
        for user in (self.officer, self.dci_admin):
            self.assertIsNone(self.rpc(user, "spp.dci.partner.identifier", "search_read", [[]]))
        line = f"ACCESS methods={len(REQUIRED_GROUP)} groups={len(users)} calls={calls} refused={refused} leaks={leaks}"
        print(line, flush=True)  # pylint: disable=print-used
        self.assertEqual(leaks, 0)

    def test_identifiers_are_not_read_by_every_employee(self):
        identifiers = self.env["spp.dci.partner.identifier"]
        with self.assertRaises(AccessError):
            identifiers.with_user(self.employee).search_read([], ["value"])
        with self.assertRaises(AccessError):
            self.requests["santos"].child_id.with_user(self.employee).read(["dci_identifier_ids"])
        self.assertTrue(identifiers.with_user(self.officer).search_read([], ["value"]))
        arch = self.env["res.partner"].with_user(self.employee).get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertNotIn("dci_identifier_ids", arch)
