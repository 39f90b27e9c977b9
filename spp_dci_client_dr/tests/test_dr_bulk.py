from unittest.mock import patch

from odoo.tests import tagged

from odoo.addons.queue_job.tests.common import trap_jobs
from odoo.addons.spp_dci_client.services import bulk
from odoo.addons.spp_dci_client.tests.common import DCICase, registrant

from ..services.dr_service import DRService


@tagged("post_install", "-at_install")
class TestDRBulk(DCICase):
    registry_role = "dr"

    def test_large_sync_becomes_a_run_that_fills_the_cache(self):
        persons = self.sim.population.persons[:30]
        partners = self.env["res.partner"]
        for person in persons:
            partners |= registrant(self.env, ("UIN", person.uin), name=person.uin)
        service = DRService(self.env, self.data_source.code)
        self.addCleanup(service.close)
        with patch.object(bulk, "SYNC_LIMIT", 10), trap_jobs() as trap:
            run = service.sync_disability_data(partners)
            self.assertEqual((run.kind, run.item_count), ("dr_sync", 30))
            trap.perform_enqueued_jobs()
        self.env.invalidate_all()
        items = self.env["spp.dci.bulk.item"].search([("run_id", "=", run.id)])
        self.assertEqual(set(items.mapped("state")), {"done"})
        caches = self.env["spp.dci.disability.status"].search([("partner_id", "in", partners.ids)])
        self.assertEqual(len(caches), 30)
        for item, person in zip(items, persons, strict=True):
            self.assertEqual(bool(item.result), person.disability is not None)
        self.assertEqual(run.state, "done")
