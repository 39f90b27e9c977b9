from odoo import fields, models

from ..services.dr_service import DRService


class DciBulkRun(models.Model):
    _inherit = "spp.dci.bulk.run"

    kind = fields.Selection(selection_add=[("dr_sync", "Disability sync (DR)")], ondelete={"dr_sync": "cascade"})

    def _bulk_process(self, client, payloads):
        if self.kind != "dr_sync":
            return super()._bulk_process(client, payloads)
        partners = self.env["res.partner"].browse(payloads).exists()
        checkable = partners.filtered(lambda partner: partner._get_dci_identifiers())
        results = {}
        if checkable:
            service = DRService(self.env, self.data_source_id.sudo().code)
            service.close()
            service.client = client  # the job's client: retries are the job engine's
            results = service._fetch(checkable)
        outcomes = []
        for partner_id in payloads:
            if partner_id not in partners.ids:
                outcomes.append(("failed", None, "partner_deleted"))
            elif partner_id not in results:
                outcomes.append(("failed", None, "no_identifier"))
            else:
                outcomes.append(("done", results[partner_id], None))
        return outcomes
