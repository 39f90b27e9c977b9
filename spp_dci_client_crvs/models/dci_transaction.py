from odoo import models

from odoo.addons.spp_dci_client.services import constants as C


class DciTransaction(models.Model):
    _inherit = "spp.dci.transaction"

    def _handle_callback(self, data_source, envelope):
        super()._handle_callback(data_source, envelope)
        if data_source.registry_type != C.REGISTRY_CIVIL:
            return
        action = envelope["header"]["action"]
        if action == C.ACTION_NOTIFY:
            self.env["spp.dci.crvs.event"].sudo()._create_from_notify(data_source, envelope["message"])
        elif action == C.ACTION_ON_SUBSCRIBE:
            self.env["spp.dci.crvs.subscription"].sudo().search(
                [("transaction_id", "=", self.transaction_id)]
            )._refresh_from_callbacks()
