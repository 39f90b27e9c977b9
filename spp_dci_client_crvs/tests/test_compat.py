"""CRVSService called as OpenSPP's documentation and OpenSPP2's callers call it, over real HTTP."""

from dci_simulator import SimulatedRegistry, SimulatorServer

from odoo.exceptions import ValidationError
from odoo.tests import tagged

from odoo.addons.spp_dci_client.tests.common import CallbackCase, population

from ..services.crvs_service import CRVSService

DOCUMENTED_KEYS = {
    "identifier_type",
    "identifier_value",
    "birth_date",
    "person_name",
    "mother_name",
    "father_name",
    "place_of_birth",
}


@tagged("post_install", "-at_install")
class TestOpenSPPCRVSCalls(CallbackCase):
    def service(self, code="test_crvs"):
        service = CRVSService(self.env, data_source_code=code)
        self.addCleanup(service.close)
        return service

    def full_name(self, uin):
        person = self.sim.population.find("UIN", uin)
        return f"{person.given_name} {person.surname}"

    def test_verify_birth_with_the_parents_names(self):
        self.sim.received.clear()
        birth = self.service().verify_birth("BRN", "BR-2024-0042")
        child = self.sim.population.find("BRN", "BR-2024-0042")
        self.assertLessEqual(DOCUMENTED_KEYS, birth.keys())
        self.assertEqual((birth["identifier_type"], birth["identifier_value"]), ("BRN", "BR-2024-0042"))
        self.assertEqual((birth["person_name"], birth["birth_date"]), ("Maria Santos", "2024-03-15"))
        self.assertEqual(birth["mother_name"], self.full_name(child.parent1_uin))
        self.assertEqual(birth["father_name"], self.full_name(child.parent2_uin))
        self.assertEqual(len(self.sim.received), 2, "the child, then both parents in one envelope")
        parents = self.sim.received[1][2]["message"]["search_request"]
        self.assertEqual(
            sorted(item["search_criteria"]["query"]["value"] for item in parents),
            sorted([child.parent1_uin, child.parent2_uin]),
        )

        only_mother = self.service().verify_birth(identifier_type="BRN", identifier_value="BR-2024-0046")
        self.assertEqual(only_mother["mother_name"], self.full_name("UIN-100000001"))
        self.assertIsNone(only_mother["father_name"])
        self.sim.received.clear()
        orphan = self.service().verify_birth("BRN", "BR-2024-0043")
        self.assertEqual((orphan["mother_name"], orphan["father_name"]), (None, None))
        self.assertEqual(len(self.sim.received), 1, "no parent lookup without parent identifiers")
        self.assertIsNone(self.service().verify_birth("BRN", "BR-2024-9999"))

    def test_verify_births_in_bulk_carry_the_parents_names(self):
        births = self.service().verify_births(
            [("BRN", "BR-2024-0042"), ("BRN", "BR-2024-9999"), ("BRN", "BR-2024-0046")]
        )
        self.assertEqual(births[0]["father_name"], "Luis Santos")
        self.assertIsNone(births[1])
        self.assertEqual(births[2]["mother_name"], "Rosa Santos")

    def test_check_death_asks_for_deaths(self):
        self.sim.received.clear()
        service = self.service()
        self.assertTrue(service.check_death("UIN", "UIN-200000043"))
        self.assertFalse(service.check_death("BRN", "BR-2024-0042"))
        criteria = self.sim.received[-1][2]["message"]["search_request"][0]["search_criteria"]
        self.assertEqual(criteria["reg_event_type"], "death")

    def test_check_death_against_a_registry_ignoring_the_event_type(self):
        """Such a registry answers with the birth record: a living person must not come back dead."""
        registry = SimulatedRegistry(population(), separate_deaths=False, client_keys=self.client_keys)
        with SimulatorServer(registry) as server:
            self.make_data_source(
                code="crvs_mixed", base_url=server.url("crvs"), auth_type="none", signature_policy="off"
            )
            service = self.service("crvs_mixed")
            self.assertFalse(service.check_death("BRN", "BR-2024-0042"))
            self.assertTrue(service.check_death("BRN", "BR-2024-0043"))

    def test_opencrvs_source_searches_its_events(self):
        self.make_data_source(code="crvs_ocrvs_compat", record_format="opencrvs")
        self.sim.received.clear()
        service = self.service("crvs_ocrvs_compat")
        birth = service.verify_birth("BRN", "BR-2024-0042")
        self.assertLessEqual(DOCUMENTED_KEYS, birth.keys())
        self.assertTrue(service.check_death("BRN", "BR-2024-0043"))
        events = [
            envelope["message"]["search_request"][0]["search_criteria"]["reg_event_type"]
            for _role, _path, envelope in self.sim.received
        ]
        self.assertEqual(events, ["birth", "death"])

    def test_subscribe_and_unsubscribe_events_as_documented(self):
        with self.allow_requests(all_requests=True):
            codes = self.service().subscribe_events()
            self.assertEqual(len(codes), 2)
            self.assertEqual(
                {subscription["event_type"] for subscription in self.sim.subscriptions.values()},
                {"live_birth", "death"},
            )
            self.assertEqual(
                sorted(self.service().subscribe_events(event_types=["BIRTH", "DEATH"])),
                sorted(codes),
                "OpenSPP's names are the same events: nothing is subscribed twice",
            )
        ack = self.service().unsubscribe_events(codes)
        self.assertEqual(ack["message"]["ack_status"], "ACK")
        self.assertEqual(self.sim.subscriptions, {})
        subscriptions = self.env["spp.dci.crvs.subscription"].search([("code", "in", codes)])
        self.assertEqual(set(subscriptions.mapped("state")), {"cancelled"})
        with self.allow_requests(all_requests=True):
            again = self.service().subscribe_events(["BIRTH"])
        self.assertEqual(self.service().unsubscribe_events(event_types=["live_birth"]), again)

    def test_wrong_registry_is_a_validation_error(self):
        self.make_data_source(role="ibr", code="ibr_not_crvs")
        with self.assertRaises(ValidationError):
            CRVSService(self.env, data_source_code="ibr_not_crvs")
        with self.assertRaises(TypeError):
            CRVSService(self.data_source, self.env)
