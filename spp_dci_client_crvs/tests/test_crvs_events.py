from odoo.tests import tagged

from odoo.addons.spp_dci_client.tests.common import CallbackCase, registrant

from ..services.crvs_service import CRVSService


@tagged("post_install", "-at_install")
class TestCRVSEvents(CallbackCase):
    """Subscribe and notify round trip: the simulator calls back into this server."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Notify events are routed by their sender id: make ours the only data source of that registry
        # (the database may also hold the demo's, whose simulator has the same name).
        cls.env["spp.dci.data.source"].search([
            ("receiver_id", "=", cls.data_source.receiver_id), ("id", "!=", cls.data_source.id)]).active = False

    def service(self):
        service = CRVSService(self.env, data_source_code="test_crvs")
        self.addCleanup(service.close)
        return service

    def test_subscribe_notify_apply_and_undo(self):
        child = registrant(self.env, ("BRN", "BR-2024-0043"), name="Tomas Bautista")
        with self.allow_requests(all_requests=True):
            codes = self.service().subscribe_events()
            self.assertEqual(len(codes), 2)
            again = self.service().subscribe_events()
            self.assertEqual(sorted(again), sorted(codes))
            self.assertEqual(len(self.sim.subscriptions), 2)
            person = self.sim.population.find("BRN", "BR-2024-0043")
            self.assertEqual(self.sim.push_event("crvs", "death", person), 1)
        self.env.invalidate_all()
        event = self.env["spp.dci.crvs.event"].search([("partner_id", "=", child.id)])
        self.assertEqual((event.event_type, event.state), ("death", "applied"))
        self.assertTrue(child.dci_is_deceased)
        self.assertEqual(str(child.dci_death_date), "2024-08-30")
        self.assertTrue(child.active, "a death never archives the registrant")
        event.action_revert()
        self.assertFalse(child.dci_is_deceased)
        self.assertFalse(child.dci_death_date)
        self.assertEqual(event.state, "reverted")

    def test_unknown_person_event_is_kept_unmatched(self):
        with self.allow_requests(all_requests=True):
            self.service().subscribe_events(["live_birth"])
            person = next(person for person in self.sim.population.persons if (person.brn or "").startswith("BR-19"))
            self.assertFalse(self.env["spp.dci.partner.identifier"].search([("value", "=", person.brn)]))
            self.sim.push_event("crvs", "live_birth", person)
        self.env.invalidate_all()
        event = self.env["spp.dci.crvs.event"].search([], limit=1)
        self.assertEqual((event.event_type, event.state, str(event.event_date)),
                         ("live_birth", "unmatched", person.birth_date.isoformat()))
