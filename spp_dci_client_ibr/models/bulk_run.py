from odoo import fields, models

from ..services.ibr_service import IBRService


class DciBulkRun(models.Model):
    _inherit = "spp.dci.bulk.run"

    kind = fields.Selection(
        selection_add=[("ibr_duplication", "Duplication checks (IBR)")], ondelete={"ibr_duplication": "cascade"}
    )

    def _bulk_process(self, client, payloads):
        if self.kind != "ibr_duplication":
            return super()._bulk_process(client, payloads)

        def fetch(partners):
            service = IBRService(self.data_source_id, self.env, client=client)  # retries are the job engine's
            results = service.check_duplications(partners, (self.options or {}).get("exclude_programs"))
            return {
                partner_id: {key: value for key, value in result.items() if key != "raw_response"}
                for partner_id, result in results.items()
            }

        return self._partner_outcomes(payloads, fetch)
