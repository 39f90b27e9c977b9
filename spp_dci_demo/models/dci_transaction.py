from odoo import models

from odoo.addons.spp_dci_client.services import constants as C


class DciTransaction(models.Model):
    _inherit = "spp.dci.transaction"

    def _handle_callback(self, data_source, envelope):
        super()._handle_callback(data_source, envelope)
        if envelope["header"]["action"] != C.ACTION_ON_SEARCH:
            return
        checks = (
            self.env["spp.dci.demo.check"]
            .sudo()
            .search([("transaction_id", "=", self.transaction_id), ("outcome", "=", "pending")])
        )
        checks._complete_async_birth(envelope["message"])
        checks.mapped("request_id")._mark_checked()
