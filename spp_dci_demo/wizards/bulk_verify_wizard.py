from odoo import api, fields, models


class DciDemoBulkVerify(models.TransientModel):
    """Confirms a bulk birth verification before it is queued: how many, against which registry."""

    _name = "spp.dci.demo.bulk.verify"
    _description = "Verify Births in the Background"

    request_ids = fields.Many2many("spp.dci.demo.enrollment", string="Requests")
    request_count = fields.Integer(compute="_compute_summary")
    summary = fields.Char(compute="_compute_summary")

    @api.depends("request_ids")
    def _compute_summary(self):
        for wizard in self:
            wizard.request_count = len(wizard.request_ids)
            wizard.summary = self.env._(
                "The births of %s enrollment requests will be checked with the civil registry (crvs_main), "
                "in the background.",
                wizard.request_count,
            )

    def action_start(self):
        self.ensure_one()
        run = self.request_ids._start_birth_run()
        return {
            "type": "ir.actions.act_window",
            "res_model": "spp.dci.bulk.run",
            "res_id": run.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "current",
        }
