from odoo import fields, models


class DciIbrCheck(models.Model):
    """One duplicate-enrolment check: who asked, when, and what the registry answered."""

    _name = "spp.dci.ibr.check"
    _description = "Duplicate Enrolment Check"
    _order = "id desc"

    partner_id = fields.Many2one(
        "res.partner", string="Registrant", required=True, index=True, ondelete="cascade", readonly=True
    )
    data_source_id = fields.Many2one("spp.dci.data.source", required=True, ondelete="cascade", readonly=True)
    check_date = fields.Datetime(string="Checked on", default=fields.Datetime.now, required=True, readonly=True)
    is_duplicate = fields.Boolean(string="Enrolled Elsewhere", readonly=True)
    matched_programs = fields.Char(string="Matched Programmes", readonly=True)
    user_id = fields.Many2one("res.users", string="Checked by", readonly=True, ondelete="set null")
