from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

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
        cls.env["spp.dci.data.source"].search(
            [("receiver_id", "=", cls.data_source.receiver_id), ("id", "!=", cls.data_source.id)]
        ).active = False

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
        self.assertEqual(
            (event.event_type, event.state, str(event.event_date)),
            ("live_birth", "unmatched", person.birth_date.isoformat()),
        )


@tagged("post_install", "-at_install")
class TestSubscribeWizard(CallbackCase):
    """Subscribing from the UI: the wizard calls the service, the registry confirms by callback."""

    def test_subscribe_then_unsubscribe(self):
        admin = new_test_user(self.env, "crvs_admin", groups="base.group_user,spp_dci_client.group_dci_admin")
        wizards = self.env["spp.dci.crvs.subscribe"].with_user(admin)
        self.assertEqual(
            wizards.create({"event_type": "death"}).data_source_id.registry_type,
            "ns:org:RegistryType:Civil",
            "a civil registry is preselected",
        )
        wizard = wizards.create({"event_type": "death", "data_source_id": self.data_source.id})
        with self.allow_requests(all_requests=True):
            action = wizard.action_subscribe()
        self.assertIn("confirmed the subscription to Death events", action["params"]["message"])
        subscription = self.env["spp.dci.crvs.subscription"].search([("data_source_id", "=", self.data_source.id)])
        self.assertEqual((subscription.event_type, subscription.state), ("death", "active"))
        self.assertIn(subscription.code, self.sim.subscriptions)
        subscription.with_user(admin).action_unsubscribe()
        self.assertEqual(subscription.state, "cancelled")
        self.assertNotIn(subscription.code, self.sim.subscriptions)

    def test_only_an_administrator_subscribes(self):
        before = dict(self.sim.subscriptions)
        user = new_test_user(self.env, "crvs_user", groups="base.group_user,spp_dci_client.group_dci_user")
        with self.assertRaises(AccessError):
            self.env["spp.dci.crvs.subscribe"].with_user(user).create({"event_type": "death"})
        wizard = self.env["spp.dci.crvs.subscribe"].create({"event_type": "death"})
        with self.assertRaises(AccessError):
            wizard.with_user(user).action_subscribe()
        self.assertFalse(self.env["spp.dci.crvs.subscription"].search([]))
        self.assertEqual(self.sim.subscriptions, before, "nothing reached the registry")
