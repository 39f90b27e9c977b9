from odoo import fields, models

from ..services.ibr_service import IBRService


class DciBulkRun(models.Model):
    _inherit = "spp.dci.bulk.run"

    kind = fields.Selection(selection_add=[("ibr_duplication", "Duplication checks (IBR)")],
                            ondelete={"ibr_duplication": "cascade"})

    def _bulk_process(self, client, payloads):
        if self.kind != "ibr_duplication":
            return super()._bulk_process(client, payloads)
        partners = self.env["res.partner"].browse(payloads).exists()
        checkable = partners.filtered(lambda partner: partner._get_dci_identifiers())
        results = {}
        if checkable:
            service = IBRService(self.data_source_id, self.env)
            service.close()
            service.client = client  # the job's client: retries are the job engine's
            results = service.check_duplications(checkable, (self.options or {}).get("exclude_programs"))
        outcomes = []
        for partner_id in payloads:
            if partner_id not in partners.ids:
                outcomes.append(("failed", None, "partner_deleted"))
            elif partner_id not in results:
                outcomes.append(("failed", None, "no_identifier"))
            else:
                result = dict(results[partner_id])
                result.pop("raw_response")
                outcomes.append(("done", result, None))
        return outcomes
