from odoo import fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    dci_birth_date = fields.Date(string="Date of Birth (CRVS)", tracking=False)
    dci_is_deceased = fields.Boolean(
        string="Deceased (CRVS)", help="Set from a death the civil registry notified; nobody is archived."
    )
    dci_death_date = fields.Date(string="Date of Death (CRVS)")
    dci_vital_event_ids = fields.One2many("spp.dci.crvs.event", "partner_id", string="Vital Events")
