from odoo import fields, models


class DciDemoReject(models.TransientModel):
    """Asks an approver why enrollment requests are rejected."""

    _name = "spp.dci.demo.reject"
    _description = "Reject Enrollment Requests"

    request_ids = fields.Many2many("spp.dci.demo.enrollment", string="Requests", required=True)
    reason = fields.Text(required=True)

    def action_confirm(self):
        self.ensure_one()
        self.request_ids.reject(self.reason)
        return {"type": "ir.actions.act_window_close"}
