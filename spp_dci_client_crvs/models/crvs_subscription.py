from odoo import api, fields, models

from ..services.crvs_service import CRVSService

EVENT_TYPES = [
    ("live_birth", "Live birth"),
    ("death", "Death"),
    ("fetal_death", "Fetal death"),
    ("marriage", "Marriage"),
    ("divorce", "Divorce"),
    ("adoption", "Adoption"),
]


class DciCrvsSubscription(models.Model):
    """A subscription to a civil registry's vital events."""

    _name = "spp.dci.crvs.subscription"
    _description = "CRVS Event Subscription"
    _order = "id desc"
    _rec_name = "event_type"

    data_source_id = fields.Many2one("spp.dci.data.source", required=True, ondelete="cascade", readonly=True)
    event_type = fields.Selection(EVENT_TYPES, required=True, readonly=True)
    transaction_id = fields.Char(readonly=True, index=True)
    code = fields.Char(string="Subscription Code", readonly=True, index=True,
                       help="The registry's code for this subscription, once it has confirmed it.")
    state = fields.Selection([("requested", "Requested"), ("active", "Active"), ("cancelled", "Cancelled"),
                              ("failed", "Failed")], default="requested", required=True, readonly=True)
    confirmed_date = fields.Datetime(readonly=True)
    event_ids = fields.One2many("spp.dci.crvs.event", "subscription_id", string="Events")

    def _refresh_from_callbacks(self):
        """Read the registry's on-subscribe answer from the message log."""
        requested = self.filtered(lambda subscription: subscription.state == "requested")
        if not requested:
            return
        self.env["spp.dci.transaction"].invalidate_model()
        transactions = self.env["spp.dci.transaction"].sudo().search([
            ("transaction_id", "in", requested.mapped("transaction_id")), ("direction", "=", "out")])
        by_id = {transaction.transaction_id: transaction for transaction in transactions}
        for subscription in requested:
            transaction = by_id.get(subscription.transaction_id)
            if not transaction or transaction.state == "pending":
                continue
            if transaction.state == "error":
                subscription.state = "failed"
                continue
            codes = [entry.get("code") for item in (transaction._get_result() or {}).get("subscribe_response", [])
                     if item.get("status") != "rjct" for entry in item.get("subscriptions") or []]
            if codes:
                subscription.write({"code": codes[0], "state": "active", "confirmed_date": fields.Datetime.now()})
            else:
                subscription.state = "failed"

    def action_refresh(self):
        self._refresh_from_callbacks()
        return True

    def action_unsubscribe(self):
        for data_source in self.mapped("data_source_id"):
            mine = self.filtered(lambda subscription, source=data_source: subscription.data_source_id == source)
            service = CRVSService(self.env, data_source.code)
            try:
                service.unsubscribe_events(mine.filtered(lambda sub: sub.state == "active").mapped("event_type"))
            finally:
                service.close()
        return True

    @api.model
    def _cron_refresh(self):
        self.search([("state", "=", "requested")])._refresh_from_callbacks()
