from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..services.constants import IDENTIFIER_TYPES
from ..services.envelope import check_value
from ..services.errors import DCIConfigurationError


class DciPartnerIdentifier(models.Model):
    """An identifier of a registrant, typed with a DCI identifier type."""

    _name = "spp.dci.partner.identifier"
    _description = "Registrant Identifier"
    _order = "partner_id, identifier_type"
    _rec_name = "value"

    partner_id = fields.Many2one("res.partner", required=True, index=True, ondelete="cascade")
    identifier_type = fields.Selection(IDENTIFIER_TYPES, string="DCI Type", required=True)
    local_type = fields.Char(help="The name of this identifier in the local system, when it differs.")
    value = fields.Char(required=True)

    _type_value_unique = models.Constraint(
        "UNIQUE(identifier_type, value)", "An identifier of this type and value already exists."
    )

    @api.constrains("value")
    def _check_value(self):
        for identifier in self:
            try:
                check_value(identifier.value, "identifier value")
            except DCIConfigurationError as error:
                raise ValidationError(str(error)) from error

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if isinstance(vals.get("value"), str):
                vals["value"] = vals["value"].strip()
        return super().create(vals_list)
