from odoo import api, fields, models
from odoo.exceptions import AccessError

from odoo.addons.spp_dci_client.services import constants as C

from ..models.crvs_subscription import EVENT_TYPES
from ..services.crvs_service import CRVSService

CONFIRMATION_WAIT = 5.0


class DciCrvsSubscribe(models.TransientModel):
    """Subscribes to one kind of vital event of a civil registry, from the subscription list."""

    _name = "spp.dci.crvs.subscribe"
    _description = "Subscribe to Vital Events"

    data_source_id = fields.Many2one(
        "spp.dci.data.source",
        string="Civil Registry",
        required=True,
        domain=[("registry_type", "=", C.REGISTRY_CIVIL)],
        default=lambda self: self._default_data_source(),
    )
    event_type = fields.Selection(EVENT_TYPES, required=True, default="live_birth")

    @api.model
    def _default_data_source(self):
        return self.env["spp.dci.data.source"].search([("registry_type", "=", C.REGISTRY_CIVIL)], limit=1, order="id")

    def action_subscribe(self):
        """Ask the registry; its confirmation is awaited a few seconds, and otherwise arrives later."""
        self.ensure_one()
        if not self.env.user.has_group("spp_dci_client.group_dci_admin"):
            raise AccessError(self.env._("Only a DCI administrator can subscribe to a registry's events."))
        service = CRVSService(self.env, self.data_source_id.code)
        try:
            codes = service.subscribe_events([self.event_type], wait=CONFIRMATION_WAIT)
        finally:
            service.close()
        label = dict(EVENT_TYPES)[self.event_type]
        if codes:
            message = self.env._(
                "%(registry)s confirmed the subscription to %(event)s events.",
                registry=self.data_source_id.name,
                event=label,
            )
        else:
            message = self.env._(
                "%(registry)s has not confirmed the subscription to %(event)s events yet: "
                "it shows as Requested until it does.",
                registry=self.data_source_id.name,
                event=label,
            )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "message": message,
                "type": "success" if codes else "info",
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
