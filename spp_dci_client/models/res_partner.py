from odoo import fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    dci_identifier_ids = fields.One2many("spp.dci.partner.identifier", "partner_id", string="Registry Identifiers")

    def _get_dci_identifiers(self):
        """(DCI identifier type, value) pairs of this registrant.

        The one place services read identifiers from: an OpenSPP deployment
        maps its own ID model onto the suite by overriding this method.
        """
        self.ensure_one()
        return [(identifier.identifier_type, identifier.value) for identifier in self.sudo().dci_identifier_ids]
