from odoo import fields, models
from odoo.tools import SQL

from odoo.addons.spp_dci_client.services import bulk
from odoo.addons.spp_dci_client.services.errors import rejected
from odoo.addons.spp_dci_client_crvs.services.crvs_service import birth_queries, birth_result, first_record


class DciBulkRun(models.Model):
    _inherit = "spp.dci.bulk.run"

    kind = fields.Selection(
        selection_add=[("demo_birth", "Enrollment birth checks (demo)")], ondelete={"demo_birth": "cascade"}
    )
    demo_birth_summary = fields.Char(
        string="Outcome",
        compute="_compute_demo_birth_summary",
        help="What the civil registry said of the births checked so far.",
    )

    def _compute_demo_birth_summary(self):
        for run in self:
            run.demo_birth_summary = run._demo_birth_summary() if run.kind == "demo_birth" else False

    def _demo_birth_summary(self):
        """ "2 verified, 2 did not match, 1 not registered, 1 failed": the items' outcomes in words."""
        self.env["spp.dci.bulk.item"].flush_model(["run_id", "state", "result"])
        self.env.cr.execute(
            SQL(
                """SELECT CASE WHEN state = 'done' THEN result->>'outcome' ELSE state END, count(*)
                 FROM spp_dci_bulk_item WHERE run_id = %s GROUP BY 1""",
                self.id,
            )
        )
        counts = dict(self.env.cr.fetchall())
        counts["failed"] = counts.get("failed", 0) + counts.pop("error", 0)
        words = [
            (counts.get("verified"), self.env._("%s verified")),
            (counts.get("mismatch"), self.env._("%s did not match")),
            (counts.get("not_found"), self.env._("%s not registered")),
            (counts.get("failed"), self.env._("%s failed")),
            (counts.get("pending"), self.env._("%s waiting")),
        ]
        return ", ".join(text % count for count, text in words if count) or self.env._("Nothing checked yet")

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
