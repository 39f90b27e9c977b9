from odoo import fields, models
from odoo.exceptions import AccessError

from ..services.ibr_service import IBRService

DEFAULT_CODE_PARAM = "spp_dci_client_ibr.data_source_code"


class ResPartner(models.Model):
    _inherit = "res.partner"

    dci_ibr_check_ids = fields.One2many("spp.dci.ibr.check", "partner_id", string="Enrolment Checks")

    def action_dci_check_duplication(self):
        """Partner form button: check other enrolments with the default IBR data source."""
        self.ensure_one()
        if not self.env.user.has_group("spp_dci_client.group_dci_user"):
            raise AccessError(self.env._("Only DCI users can query the beneficiary registry."))
        code = self.env["ir.config_parameter"].sudo().get_param(DEFAULT_CODE_PARAM, "ibr_main")
        service = IBRService(self.env["spp.dci.data.source"].get_by_code(code), self.env)
        try:
            result = service.check_duplication(self)
        finally:
            service.close()
        if result["is_duplicate"]:
            message = self.env._("Enrolled in: %s", ", ".join(result["matched_programs"]))
        else:
            message = self.env._("Not enrolled in any other programme.")
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Other enrolments of %s", self.display_name),
                "message": message,
                "type": "warning" if result["is_duplicate"] else "success",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }
