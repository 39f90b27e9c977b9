from unittest.mock import patch

from odoo.tests import tagged

from odoo.addons.queue_job.tests.common import trap_jobs
from odoo.addons.spp_dci_client.services import bulk
from odoo.addons.spp_dci_client.tests.common import DCICase, registrant

from ..services.ibr_service import IBRService


@tagged("post_install", "-at_install")
class TestIBRBulk(DCICase):
    registry_role = "ibr"

    def test_large_duplication_checks_become_a_run_with_audit_records(self):
        partners = registrant(self.env, ("BRN", "BR-2024-0044"), name="Twice enrolled")
        partners |= registrant(self.env, ("BRN", "BR-2024-0042"), name="Clear")
        no_identifier = self.env["res.partner"].create({"name": "No identifier"})
        partners |= no_identifier
        service = IBRService(self.data_source, self.env)
        self.addCleanup(service.close)
        with patch.object(bulk, "SYNC_LIMIT", 2), trap_jobs() as trap:
            run = service.check_duplications(partners, exclude_programs=["PRG-CBN"])
            self.assertEqual((run._name, run.kind, run.item_count), ("spp.dci.bulk.run", "ibr_duplication", 3))
            self.assertEqual(self.sim.received, [])
            trap.perform_enqueued_jobs()
        self.env.invalidate_all()
        items = self.env["spp.dci.bulk.item"].search([("run_id", "=", run.id)])
        self.assertEqual(items.mapped("state"), ["done", "done", "failed"])
        self.assertEqual(items[2].reason_code, "no_identifier")
        self.assertEqual(items[0].result["matched_programs"], ["School Feeding"])
        self.assertFalse(items[1].result["is_duplicate"])
        self.assertNotIn("raw_response", items[0].result)
        checks = self.env["spp.dci.ibr.check"].search([("partner_id", "in", partners.ids)])
        self.assertEqual(len(checks), 2, "one audit record per checked partner, written by the job")
        self.assertEqual((run.state, run.done_count, run.failed_count), ("done", 2, 1))
