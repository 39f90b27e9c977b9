from odoo import fields, models

from odoo.addons.spp_dci_client.services import bulk
from odoo.addons.spp_dci_client.services.errors import rejected
from odoo.addons.spp_dci_client_crvs.services.crvs_service import birth_queries, birth_result, first_record


class DciBulkRun(models.Model):
    _inherit = "spp.dci.bulk.run"

    kind = fields.Selection(selection_add=[("demo_birth", "Enrollment birth checks (demo)")],
                            ondelete={"demo_birth": "cascade"})

    def _bulk_process(self, client, payloads):
        """Verify the births of enrollment requests and record each as the request's birth check."""
        if self.kind != "demo_birth":
            return super()._bulk_process(client, payloads)
        requests = self.env["spp.dci.demo.enrollment"].browse(payloads).exists().filtered("birth_identifier")
        pairs = [("BRN", request.birth_identifier) for request in requests]
        items = dict(zip(requests.ids, client.search_batch(birth_queries(pairs), strict=False), strict=True))
        outcomes = []
        for request_id in payloads:
            item = items.get(request_id)
            if item is None:
                outcomes.append(("failed", None, "no_birth_identifier"))
                continue
            state, code = bulk.item_outcome(item)
            request = requests.browse(request_id)

            def check(request=request, item=item, state=state, code=code):
                if state == "failed":
                    raise rejected(code, reference_id=item.get("reference_id"))
                return request._birth_outcome(birth_result(first_record(item), "BRN", request.birth_identifier))

            outcome = request._add_check("birth", check)
            request._mark_checked()
            outcomes.append((state, {"outcome": outcome}, code))
        return outcomes
