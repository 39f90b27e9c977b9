from odoo import fields, models

from odoo.addons.spp_dci_client.services import bulk

from ..services.crvs_service import birth_queries, birth_result, first_record


class DciBulkRun(models.Model):
    _inherit = "spp.dci.bulk.run"

    kind = fields.Selection(
        selection_add=[("crvs_birth", "Birth verification (CRVS)")], ondelete={"crvs_birth": "cascade"}
    )

    def _bulk_process(self, client, payloads):
        if self.kind != "crvs_birth":
            return super()._bulk_process(client, payloads)
        if client.config.record_format == "opencrvs":
            items = [
                client.search_by_id_opencrvs(kind, value, page_size=1)["message"]["search_response"][0]
                for kind, value in payloads
            ]
        else:
            items = client.search_batch(birth_queries(payloads), strict=False)
        outcomes = []
        for (kind, value), item in zip(payloads, items, strict=True):
            state, code = bulk.item_outcome(item)
            birth = birth_result(first_record(item), kind, value) if state == "done" else None
            if birth:
                birth.pop("raw_record")
            outcomes.append((state, birth, code))
        return outcomes
