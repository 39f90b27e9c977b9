from odoo import api, models


class IrConfigParameter(models.Model):
    _inherit = "ir.config_parameter"

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        records._spp_dci_demo_follow_base_url()
        return records

    def write(self, vals):
        result = super().write(vals)
        self._spp_dci_demo_follow_base_url()
        return result

    def _spp_dci_demo_follow_base_url(self):
        for parameter in self.filtered(lambda parameter: parameter.key == "web.base.url"):
            self.env["spp.dci.data.source"]._spp_dci_demo_repoint(parameter.value)
