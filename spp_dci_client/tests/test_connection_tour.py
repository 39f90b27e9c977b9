from odoo.tests import tagged

from .common import CallbackCase


@tagged("post_install", "-at_install")
class TestConnectionTour(CallbackCase):
    def test_the_wait_is_said_then_the_timeout(self):
        source = self.make_data_source(code="tour_slow", timeout=2)
        self.sim.faults.add("latency", seconds=4)
        self.start_tour(
            f"/odoo/action-spp_dci_client.spp_dci_data_source_action/{source.id}",
            "spp_dci_test_connection_wait",
            login="admin",
        )
        self.assertEqual(source.state, "error")
        self.assertIn("no answer within 2 s", source.last_error)
