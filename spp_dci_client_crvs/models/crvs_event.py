import json

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..services.person import parse_person
from .crvs_subscription import EVENT_TYPES


def _json_value(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


class DciCrvsEvent(models.Model):
    """A vital event notified by a civil registry, and what it changed.

    Events for known registrants are applied at once and can be reverted:
    the previous values are kept. Nobody is deactivated or archived: a death
    sets a flag that programmes can act upon.
    """

    _name = "spp.dci.crvs.event"
    _description = "CRVS Vital Event"
    _order = "id desc"

    data_source_id = fields.Many2one("spp.dci.data.source", required=True, ondelete="cascade", readonly=True)
    subscription_id = fields.Many2one("spp.dci.crvs.subscription", readonly=True, ondelete="set null")
    event_type = fields.Selection(EVENT_TYPES, required=True, readonly=True)
    event_date = fields.Date(readonly=True)
    identifiers = fields.Char(readonly=True, help="The person's identifiers in the registry.")
    partner_id = fields.Many2one("res.partner", string="Registrant", index=True)
    state = fields.Selection(
        [
            ("unmatched", "No matching registrant"),
            ("applied", "Applied"),
            ("reverted", "Reverted"),
            ("ignored", "Nothing to change"),
        ],
        required=True,
        default="unmatched",
        readonly=True,
    )
    changes = fields.Text(readonly=True, help="JSON: field -> [previous value, new value].")
    raw_record = fields.Text(groups="spp_dci_client.group_dci_admin", readonly=True)

    @api.model
    def _create_from_notify(self, data_source, message):
        """Events from a notify message; applied to the registrants they match."""
        events = self.browse()
        for item in message.get("notify_event") or []:
            data = item.get("data") or {}
            event_type = data.get("reg_event_type")
            if event_type not in dict(EVENT_TYPES):
                continue
            records = data.get("reg_records") or []
            for record in records if isinstance(records, list) else [records]:
                person = parse_person(record)
                subscription = (
                    self.env["spp.dci.crvs.subscription"]
                    .sudo()
                    .search(
                        [
                            ("data_source_id", "=", data_source.id),
                            ("event_type", "=", event_type),
                            ("state", "=", "active"),
                        ],
                        limit=1,
                    )
                )
                event = self.sudo().create(
                    {
                        "data_source_id": data_source.id,
                        "subscription_id": subscription.id,
                        "event_type": event_type,
                        "event_date": person["death_date"] if event_type == "death" else person["birth_date"],
                        "identifiers": ", ".join(
                            f"{pair['identifier_type']} {pair['identifier_value']}" for pair in person["identifiers"]
                        ),
                        "partner_id": self._match_partner(person["identifiers"]).id,
                        "raw_record": json.dumps(record),
                    }
                )
                event._apply()
                events |= event
        return events

    @api.model
    def _match_partner(self, identifiers):
        for pair in identifiers:
            found = (
                self.env["spp.dci.partner.identifier"]
                .sudo()
                .search(
                    [("identifier_type", "=", pair["identifier_type"]), ("value", "=", pair["identifier_value"])],
                    limit=1,
                )
            )
            if found:
                return found.partner_id
        return self.env["res.partner"]

    def _new_values(self):
        self.ensure_one()
        if self.event_type == "live_birth":
            return {"dci_birth_date": self.event_date}
        if self.event_type == "death":
            return {"dci_is_deceased": True, "dci_death_date": self.event_date}
        return {}

    def _apply(self):
        for event in self:
            if not event.partner_id:
                event.state = "unmatched"
                continue
            partner = event.partner_id.sudo()
            new = event._new_values()
            changes = {
                name: [_json_value(partner[name]), _json_value(value)]
                for name, value in new.items()
                if partner[name] != value
            }
            if not changes:
                event.state = "ignored"
                continue
            partner.write(new)
            event.write({"state": "applied", "changes": json.dumps(changes)})

    def action_apply(self):
        self.check_access("write")
        if self.filtered(lambda event: event.state == "applied"):
            raise UserError(self.env._("This event is already applied."))
        self._apply()
        return True

    def action_revert(self):
        """Put back the values the event replaced."""
        self.check_access("write")
        for event in self:
            if event.state != "applied":
                raise UserError(self.env._("Only an applied event can be reverted."))
            previous = {name: values[0] for name, values in json.loads(event.changes).items()}
            event.partner_id.sudo().write(previous)
            event.state = "reverted"
        return True
