from odoo import fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    dci_disability_status_ids = fields.One2many("spp.dci.disability.status", "partner_id", string="Disability Status")
