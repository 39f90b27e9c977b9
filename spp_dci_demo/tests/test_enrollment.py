import json
from datetime import date

from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, HttpCase, new_test_user, tagged

from odoo.addons.queue_job.job import Job
from odoo.addons.queue_job.tests.common import trap_jobs
from odoo.addons.spp_dci_client.services.signing import load_public_key
from odoo.addons.spp_dci_client.tests.common import SimulatorMixin

from ..models.enrollment_check import ASYNC_DONE
from ..simulator_mount import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

CASES = ("santos", "reyes", "delacruz", "mensah", "okafor", "bautista")


class DemoCase(SimulatorMixin, HttpCase):
    """The demo's data, with its data sources pointed at a simulator on loopback.

    (The simulator mounted in this Odoo server is for `make demo`; in tests a
    request holding the test cursor must not call back into the same server.)
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_simulator(clients={DEMO_CLIENT_ID: DEMO_CLIENT_SECRET}, callback_delay=0.5)
        key = cls.env["spp.dci.signing.key"].search([("name", "=", "Demo signing key")])
        cls.client_keys[key.kid] = load_public_key(key.public_key_pem)
        for source in cls.env["spp.dci.data.source"].search([("dci_demo_role", "!=", False)]):
            peer = source.dci_demo_role.split("/")[0] if "/" in source.dci_demo_role else "spec"
            source.write(
                {
                    "base_url": cls.server.url(source.dci_demo_role),
                    "our_callback_uri": cls.base_url() + "/dci/callback",
                    "registry_public_key": cls.sim.public_key_pem_for(peer),
                    "registry_jwks_url": False,
                }
            )
        cls.requests = {case: cls.env.ref(f"spp_dci_demo.enrollment_{case}") for case in CASES}

    def setUp(self):
        super().setUp()
        self.sim.faults.clear()
        self.sim.received.clear()


@tagged("post_install", "-at_install")
class TestEnrollment(DemoCase):
    def checked(self, case):
        request = self.requests[case]
        request.action_run_checks()
        return request

    def test_setup(self):
        sources = self.env["spp.dci.data.source"].search([("dci_demo_role", "!=", False)])
        self.assertEqual(
            sorted(sources.mapped("code")), ["crvs_main", "crvs_openg2p", "crvs_openspp", "dr_main", "ibr_main"]
        )
        self.assertTrue(all(source.signing_key_id.is_usable for source in sources))
        self.env["ir.config_parameter"].set_param("web.base.url", "http://demo.example:8069")
        crvs = sources.filtered(lambda source: source.code == "crvs_main")
        self.assertEqual(crvs.base_url, "http://demo.example:8069/dci_simulator/crvs")
        self.assertEqual(crvs.our_callback_uri, "http://demo.example:8069/dci/callback")
        openg2p = sources.filtered(lambda source: source.code == "crvs_openg2p")
        self.assertEqual(openg2p.base_url, "http://demo.example:8069/dci_simulator/openg2p/crvs")

    def test_peer_sources_pass_test_connection(self):
        """The demo's OpenSPP and OpenG2P data sources against the simulator playing each peer."""
        for code in ("crvs_openspp", "crvs_openg2p"):
            with self.subTest(code=code):
                source = self.env["spp.dci.data.source"].get_by_code(code)
                self.client_keys[source.signing_key_id.kid] = load_public_key(source.signing_key_id.public_key_pem)
                notification = source.test_connection()
                self.assertEqual(source.state, "active", source.last_error)
                self.assertIn("Response signature: valid", notification["params"]["message"])
                sent = self.sim.received[-1][2]
                self.assertEqual("signature" in sent, code == "crvs_openspp")

    def test_verified_clear_approved_and_enrolled(self):
        request = self.checked("santos")
        self.assertEqual(
            (request.birth_outcome, request.enrolment_outcome, request.disability_outcome),
            ("verified", "clear", "no_disability"),
        )
        self.assertEqual(request.state, "checked")
        self.assertIn("<td>Mar 15, 2024</td>", request.birth_details_html, "dates as the date fields show them")
        self.assertNotIn("2024-03-15", request.birth_details_html)
        self.assertIn("<td>Female</td>", request.birth_details_html)
        self.assertEqual(request.child_id.dci_birth_date, date(2024, 3, 15), "a verified birth dates the child")
        request.action_approve()
        request.action_enroll()
        self.assertEqual((request.state, request.approved_by), ("enrolled", self.env.user))

    def test_mismatch_is_shown_field_by_field_and_blocks_approval(self):
        request = self.checked("reyes")
        self.assertEqual(request.birth_outcome, "mismatch")
        self.assertIn("table-danger", request.birth_details_html)
        self.assertIn("<td>Dec 2, 2023</td>", request.birth_details_html)
        self.assertIn("<td>Nov 2, 2023</td>", request.birth_details_html)
        self.assertFalse(request.child_id.dci_birth_date, "a birth that does not match dates no one")
        with self.assertRaisesRegex(UserError, "not verified"):
            request.action_approve()

    def test_not_found_is_never_verified(self):
        request = self.checked("delacruz")
        self.assertEqual(request.birth_outcome, "not_found")
        with self.assertRaisesRegex(UserError, "Not registered"):
            request.action_approve()

    def test_enrolled_elsewhere(self):
        request = self.checked("mensah")
        self.assertEqual(request.enrolment_outcome, "duplicate")
        # The registry's own Child Benefit enrolment (PRG-CBN) is this programme's: not "elsewhere".
        self.assertEqual(request.program_id.code, "PRG-CBN")
        self.assertEqual(request.matched_programs, "School Feeding")
        with self.assertRaisesRegex(UserError, "Enrolled elsewhere"):
            request.action_approve()

    def test_disability_top_up(self):
        request = self.checked("okafor")
        self.assertEqual((request.birth_outcome, request.disability_outcome), ("verified", "pwd"))
        self.assertTrue(request.disability_top_up)

    def test_deceased_child_is_a_mismatch(self):
        request = self.checked("bautista")
        self.assertEqual(request.birth_outcome, "mismatch")
        self.assertIn("<td>Deceased</td>", request.birth_details_html)

    def test_registry_error_is_recorded_and_blocks_approval(self):
        request = self.requests["santos"]
        self.sim.faults.add("status", status=500, times=None)
        request.action_run_checks()
        self.sim.faults.clear()
        self.assertEqual(
            (request.birth_outcome, request.enrolment_outcome, request.disability_outcome), ("error", "error", "error")
        )
        with self.assertRaises(UserError):
            request.action_approve()

    def test_partial_checks_are_not_approvable(self):
        request = self.requests["santos"]
        request.action_verify_birth()
        self.assertEqual(request.state, "draft")
        with self.assertRaisesRegex(UserError, "Run the checks"):
            request.action_approve()

    def test_results_cannot_be_forged(self):
        officer = new_test_user(self.env, "officer", groups="base.group_user,spp_dci_client.group_dci_user")
        request = self.requests["delacruz"].with_user(officer)
        for values in ({"state": "approved"}, {"birth_outcome": "verified"}, {"disability_top_up": True}):
            with self.subTest(values=values), self.assertRaises(AccessError):
                request.write(values)
        with self.assertRaises(AccessError):
            self.env["spp.dci.demo.check"].with_user(officer).create(
                {"request_id": request.id, "kind": "birth", "outcome": "verified"}
            )
        request.action_run_checks()
        check = request.check_ids.filtered(lambda check: check.kind == "birth")
        with self.assertRaises(AccessError):
            check.with_user(officer).write({"outcome": "verified"})
        with self.assertRaises(AccessError):
            request.action_approve()
        self.assertEqual(request.birth_outcome, "not_found")

    def test_bulk_verification_confirmed_then_run_in_jobs(self):
        action = self.env["spp.dci.demo.enrollment"].action_bulk_verify_births()
        wizard = self.env[action["res_model"]].browse(action["res_id"])
        self.assertEqual(wizard.request_count, len(CASES))
        self.assertIn(f"The births of {len(CASES)} enrollment requests will be checked", wizard.summary)
        with trap_jobs() as trap:
            opened = wizard.action_start()
            run = self.env["spp.dci.bulk.run"].browse(opened["res_id"])
            self.assertEqual((run.kind, run.item_count, run.state), ("demo_birth", len(CASES), "running"))
            trap.assert_jobs_count(1)
            self.assertEqual(self.sim.received, [], "the click only queues the work")
            trap.perform_enqueued_jobs()
        self.env.invalidate_all()
        searches = [envelope for _role, path, envelope in self.sim.received if path == "/registry/sync/search"]
        self.assertEqual(len(searches), 1)
        self.assertEqual(searches[0]["header"]["total_count"], len(CASES))
        outcomes = {case: request.birth_outcome for case, request in self.requests.items()}
        self.assertEqual(
            outcomes,
            {
                "santos": "verified",
                "reyes": "mismatch",
                "delacruz": "not_found",
                "mensah": "verified",
                "okafor": "verified",
                "bautista": "mismatch",
            },
        )
        self.assertEqual((run.state, run.done_count, run.failed_count), ("done", len(CASES), 0))
        self.assertEqual(run.demo_birth_summary, "3 verified, 2 did not match, 1 not registered")

    def test_bulk_verification_of_selected_requests_needs_an_identifier(self):
        request = self.requests["santos"]
        action = request.action_bulk_verify_selected()
        self.assertEqual(self.env[action["res_model"]].browse(action["res_id"]).request_ids, request)
        with self.assertRaises(UserError):
            self.env["spp.dci.demo.enrollment"].browse().action_bulk_verify_selected()

    def test_async_birth_check(self):
        request = self.requests["santos"]
        with self.allow_requests(all_requests=True):
            request.action_verify_birth_async()
            # As the end of the button's request would: the callback must find this committed.
            self.env.flush_all()
            self.assertEqual(request.birth_outcome, "pending")
            transaction_id = request.check_ids[:1].transaction_id
            self.env["spp.dci.transaction"]._wait_for_callbacks([transaction_id], 10)
        self.env.invalidate_all()
        self.assertEqual(request.birth_outcome, "verified", "the callback completed the check")
        self.assertEqual(request.check_ids[:1].mode, "async")
        self.assertEqual(request.child_id.dci_birth_date, date(2024, 3, 15))
        pushed = self.env["bus.bus"].sudo().search([("message", "like", ASYNC_DONE)])
        self.assertEqual(len(pushed), 1, "the user who asked is told the answer arrived")
        self.assertTrue(pushed.channel.endswith(f'"res.partner",{self.env.user.partner_id.id}]'), pushed.channel)
        self.assertEqual(json.loads(pushed.message)["payload"], {"model": request._name, "id": request.id})
        request.action_refresh_async()
        self.assertEqual(request.birth_outcome, "verified")

    def test_reject_records_reason_who_and_when(self):
        request = self.checked("reyes")
        approver = new_test_user(self.env, "rejecter", groups="base.group_user,spp_dci_demo.group_enrollment_approver")
        action = request.with_user(approver).action_reject()
        wizard = (
            self.env[action["res_model"]]
            .with_user(approver)
            .with_context(**action["context"])
            .create({"reason": "   "})
        )
        self.assertEqual(wizard.request_ids, request)
        with self.assertRaisesRegex(UserError, "why"):
            wizard.action_confirm()
        self.assertEqual(request.state, "checked")
        wizard.reason = "Declared date of birth differs from the civil registry."
        wizard.action_confirm()
        self.assertEqual(
            (request.state, request.rejected_by, request.reject_reason),
            ("rejected", approver, "Declared date of birth differs from the civil registry."),
        )
        self.assertTrue(request.rejected_date)
        self.env.cr.precommit.run()  # as the end of the request does: post the tracked changes
        bodies = request.message_ids.mapped("body")
        self.assertTrue(any("Declared date of birth differs" in body for body in bodies))
        tracked = request.message_ids.tracking_value_ids.filtered(lambda value: value.field_id.name == "state")
        self.assertEqual(tracked.mapped("new_value_char"), ["Rejected", "Checks done"])
        self.assertEqual(request.message_ids[:1].author_id, approver.partner_id)
        with self.assertRaisesRegex(UserError, "not yet decided"):
            request.with_user(approver).action_reject()
        other = self.requests["delacruz"]
        other.with_user(approver).reject("<img src=x onerror=alert(1)>")
        self.assertNotIn("<img", other.message_ids[:1].body, "the reason is posted as text, not markup")
        self.assertIn("&lt;img", other.message_ids[:1].body)
        with self.assertRaisesRegex(UserError, "already decided"):
            request.with_user(approver).reject("again")

    def test_reject_needs_an_approver(self):
        officer = new_test_user(self.env, "officer2", groups="base.group_user,spp_dci_client.group_dci_user")
        request = self.requests["santos"]
        with self.assertRaises(AccessError):
            request.with_user(officer).action_reject()
        with self.assertRaises(AccessError):
            request.with_user(officer).reject("no")
        with self.assertRaises(AccessError):
            self.env["spp.dci.demo.reject"].with_user(officer).create({"request_ids": request.ids, "reason": "no"})
        self.assertEqual(request.state, "draft")

    def test_choosing_the_child_fills_the_household_and_name(self):
        form = Form(self.env["spp.dci.demo.enrollment"])
        form.child_id = self.requests["okafor"].child_id
        self.assertEqual(form.declared_name, "Samuel Okafor")
        self.assertEqual(form.household_id, self.env.ref("spp_dci_demo.household_okafor"))
        form.household_id = self.env.ref("spp_dci_demo.household_santos")
        self.assertFalse(form.child_id, "a child of another household is cleared")
        child = self.requests["okafor"].child_id.with_context(partner_display_name_hide_company=True)
        self.assertEqual(child.display_name, "Samuel Okafor")


@tagged("post_install", "-at_install")
class TestDemoUI(DemoCase):
    def test_enrollment_tour(self):
        self.start_tour("/odoo/child-benefit", "spp_dci_demo_enrollment", login="admin")
        self.assertEqual(self.requests["santos"].state, "enrolled")

    def test_bulk_run_tour(self):
        self.start_tour("/odoo/child-benefit", "spp_dci_demo_bulk_run", login="admin")
        run = self.env["spp.dci.bulk.run"].search([("kind", "=", "demo_birth")], limit=1)
        self.assertEqual((run.state, run.item_count), ("running", len(CASES)))
        jobs = self.env["queue.job"].search([("identity_key", "=", run.chunk_ids._identity_key())])
        self.assertEqual(len(jobs), 1)
        Job.load(self.env, jobs.uuid).perform()  # what queue_job's runner does in `make demo`
        self.start_tour(
            f"/odoo/action-spp_dci_client.spp_dci_bulk_run_action/{run.id}", "spp_dci_demo_bulk_run_done", login="admin"
        )
        self.assertEqual(self.requests["santos"].birth_outcome, "verified")

    def test_reject_tour(self):
        self.start_tour("/odoo/child-benefit", "spp_dci_demo_reject", login="admin")
        request = self.requests["reyes"]
        self.assertEqual((request.state, request.rejected_by.login), ("rejected", "admin"))
        self.assertEqual(request.reject_reason, "The declared date of birth is not the registered one.")

    def test_async_result_arrives_without_reload_tour(self):
        self.http_request_allow_all = True  # the callback comes from the simulator, without the browser's cookie
        self.start_tour("/odoo/child-benefit", "spp_dci_demo_async", login="admin")
        request = self.requests["santos"]
        self.assertEqual((request.birth_outcome, request.check_ids[:1].mode), ("verified", "async"))

    def test_subscription_tour(self):
        self.http_request_allow_all = True  # the callback comes from the simulator, without the browser's cookie
        self.start_tour(
            "/odoo/action-spp_dci_client_crvs.spp_dci_crvs_subscription_action",
            "spp_dci_crvs_subscription",
            login="admin",
        )
        subscription = self.env["spp.dci.crvs.subscription"].search([])
        self.assertEqual((subscription.event_type, subscription.data_source_id.code), ("death", "crvs_main"))
        with self.allow_requests(all_requests=True):
            results = self.env["spp.dci.transaction"]._wait_for_callbacks([subscription.transaction_id], 10)
        subscription._refresh_from_callbacks(results)
        self.assertEqual(subscription.state, "active")
        self.assertIn(subscription.code, self.sim.subscriptions)

    def test_test_connection_tour(self):
        self.start_tour(
            "/odoo/action-spp_dci_client.spp_dci_data_source_action", "spp_dci_test_connection", login="admin"
        )
        self.assertEqual(self.env["spp.dci.data.source"].get_by_code("crvs_main").state, "active")

    def test_mounted_simulator_answers(self):
        response = self.url_open("/dci_simulator/crvs/.well-known/jwks.json")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["keys"][0]["kty"], "OKP")
        token = self.url_open(
            "/dci_simulator/crvs/oauth2/client/token",
            data={"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET},
        )
        self.assertEqual(token.json()["token_type"], "Bearer")
        refused = self.url_open(
            "/dci_simulator/crvs/oauth2/client/token",
            data={"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID, "client_secret": "wrong"},
        )
        self.assertEqual(refused.status_code, 401)
