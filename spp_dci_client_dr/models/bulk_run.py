from odoo import fields, models

from ..services.dr_service import DRService


class DciBulkRun(models.Model):
    _inherit = "spp.dci.bulk.run"

    kind = fields.Selection(selection_add=[("dr_sync", "Disability sync (DR)")], ondelete={"dr_sync": "cascade"})

    def _bulk_process(self, client, payloads):
        if self.kind != "dr_sync":
            return super()._bulk_process(client, payloads)

        def fetch(partners):
            # the job's client: retries are the job engine's
            return DRService(self.env, self.data_source_id.sudo().code, client=client)._fetch(partners)

        return self._partner_outcomes(payloads, fetch)
