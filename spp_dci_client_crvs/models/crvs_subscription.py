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

    data_source_id = fields.Many2one(
        "spp.dci.data.source", string="Registry", required=True, ondelete="cascade", readonly=True
    )
    event_type = fields.Selection(EVENT_TYPES, required=True, readonly=True)
    transaction_id = fields.Char(readonly=True, index=True)
    code = fields.Char(
        string="Subscription Code",
        readonly=True,
        index=True,
        help="The registry's code for this subscription, once it has confirmed it.",
    )
    state = fields.Selection(
        [("requested", "Requested"), ("active", "Active"), ("cancelled", "Cancelled"), ("failed", "Failed")],
        string="Status",
        default="requested",
        required=True,
        readonly=True,
    )
    confirmed_date = fields.Datetime(string="Confirmed on", readonly=True)
    event_ids = fields.One2many("spp.dci.crvs.event", "subscription_id", string="Events")

    def _refresh_from_callbacks(self, results=None):
        """Confirm requested subscriptions from the registry's on-subscribe answers.

        ``results``: {transaction_id: (state, callback message)}; by default
        read from the message log in this transaction.
        """
        requested = self.filtered(lambda subscription: subscription.state == "requested")
        if not requested:
            return
        if results is None:
            results = self.env["spp.dci.transaction"]._callback_results(requested.mapped("transaction_id"))
        for subscription in requested:
            state, message = results.get(subscription.transaction_id, ("pending", None))
            if state == "pending":
                continue
            codes = [
                entry.get("code")
                for item in (message or {}).get("subscribe_response", [])
                if item.get("status") != "rjct"
                for entry in item.get("subscriptions") or []
            ]
            if state == "done" and codes:
                subscription.write({"code": codes[0], "state": "active", "confirmed_date": fields.Datetime.now()})
            else:
                subscription.state = "failed"

    def action_refresh(self):
        self.check_access("write")
        self._refresh_from_callbacks()
        return True

    def action_unsubscribe(self):
        self.check_access("write")
        for data_source in self.mapped("data_source_id"):
            mine = self.filtered(lambda subscription, source=data_source: subscription.data_source_id == source)
            service = CRVSService(self.env, data_source.code)
            try:
                service.unsubscribe_events(
                    event_types=mine.filtered(lambda sub: sub.state == "active").mapped("event_type")
                )
            finally:
                service.close()
        return True

    @api.model
    def _cron_refresh(self):
        self.search([("state", "=", "requested")])._refresh_from_callbacks()
