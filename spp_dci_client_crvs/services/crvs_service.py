"""CRVSService: birth and death verification against a civil registry.

    from odoo.addons.spp_dci_client_crvs.services.crvs_service import CRVSService
    service = CRVSService(env, data_source_code="crvs_main")
    birth = service.verify_birth("BRN", "BR-2024-0042")   # dict, or None when not registered

A thin layer over DCIClient: authentication, signing, retries and errors are
the client's. Registry errors raise (a DCIError); only "no such record"
returns None.
"""

from odoo.addons.spp_dci_client.services import bulk
from odoo.addons.spp_dci_client.services import constants as C
from odoo.addons.spp_dci_client.services import envelope as E
from odoo.addons.spp_dci_client.services.registry_service import RegistryService, reg_records

from .person import parse_person, person_name

BIRTH = "live_birth"
DEATH = "death"
DEFAULT_EVENT_TYPES = (BIRTH, DEATH)
OPENCRVS_EVENTS = {BIRTH: "birth", DEATH: "death"}


class CRVSService(RegistryService):
    """Birth and death lookups, vital-event subscriptions, bulk verification."""

    registry_type = C.REGISTRY_CIVIL

    def __init__(self, env, data_source_code="crvs_main", *, client=None):
        super().__init__(env, data_source_code, client=client)
        self.record_format = self.client.config.record_format

    def _lookup(self, identifier_type, identifier_value, event):
        """The first record for the identifier, asked for among the registry's ``event`` records."""
        if self.record_format == "opencrvs":
            response = self.client.search_by_id_opencrvs(
                identifier_type, identifier_value, event_type=OPENCRVS_EVENTS[event], page_size=1
            )
        else:
            response = self.client.search_by_id(
                identifier_type, identifier_value, page_size=1, registry_event_type=event
            )
        return first_record(response["message"]["search_response"][0])

    def verify_birth(self, identifier_type, identifier_value):
        """The registered birth as a dict, or None when the registry has no such birth.

        Keys: identifier_type, identifier_value, person_name, given_name,
        family_name, birth_date (ISO), sex, place_of_birth,
        parent1_identifier, parent2_identifier, mother_name, father_name,
        is_deceased, death_date, raw_record. The parents' names are None
        unless the registry gives them, in the record or as the records of the
        parent identifiers (looked up in one more request).
        """
        result = birth_result(self._lookup(identifier_type, identifier_value, BIRTH), identifier_type, identifier_value)
        return self._with_parent_names([result])[0]

    def check_death(self, identifier_type, identifier_value):
        """True when the registry records the person as deceased.

        The registry is asked for death records (reg_event_type death), as
        registries that keep deaths apart from births need; a record counts
        only if it shows the death (a death date, DRN or deceased flag), so a
        registry that ignores the event type and answers with the birth
        record does not make a living person dead.
        """
        record = self._lookup(identifier_type, identifier_value, DEATH)
        return bool(record) and parse_person(record)["is_deceased"]

    def verify_births(self, pairs):
        """verify_birth for many (identifier_type, identifier_value) pairs in batched envelopes.

        Returns one result (dict or None) per pair, in order. Beyond
        SYNC_LIMIT pairs the work goes to the job queue instead, and the
        spp.dci.bulk.run record is returned (see start_verify_births).
        """
        pairs = list(pairs)
        if len(pairs) > bulk.SYNC_LIMIT:
            return self.start_verify_births(pairs)
        if self.record_format == "opencrvs":
            return [self.verify_birth(*pair) for pair in pairs]
        items = self.client.search_batch(birth_queries(pairs))
        return self._with_parent_names(
            [birth_result(first_record(item), kind, value) for (kind, value), item in zip(pairs, items, strict=True)]
        )

    def _with_parent_names(self, results):
        """Fill mother_name and father_name, looking the parents' identifiers up in one batch.

        A parent the registry declines to return (item rjct) has no name;
        an error of the request itself raises, as every registry error does.
        """
        wanted = {}
        for result in filter(None, results):
            record = result["raw_record"]
            result["mother_name"] = inline_parent_name(record, "mother")
            result["father_name"] = inline_parent_name(record, "father")
            if self.record_format == "opencrvs" or (result["mother_name"] and result["father_name"]):
                continue
            for key in ("parent1_identifier", "parent2_identifier"):
                if result[key]:
                    wanted[(result[key]["identifier_type"], result[key]["identifier_value"])] = None
        if not wanted:
            return results
        items = self.client.search_batch(
            [
                {"query_type": C.QUERY_IDTYPE_VALUE, "query": {"type": kind, "value": value}, "page_size": 1}
                for kind, value in wanted
            ],
            strict=False,
        )
        parents = {pair: first_record(item) for pair, item in zip(wanted, items, strict=True)}
        for result in filter(None, results):
            for key, default_role in (("parent1_identifier", "mother"), ("parent2_identifier", "father")):
                pair = result[key] and (result[key]["identifier_type"], result[key]["identifier_value"])
                parent = parents.get(pair) if pair else None
                if not parent:
                    continue
                sex = parse_person(parent)["sex"]
                role = {"female": "mother", "male": "father"}.get(sex, default_role)
                result[f"{role}_name"] = result[f"{role}_name"] or person_name(parent) or None
        return results

    def start_verify_births(self, pairs, name=None):
        """verify_births as a bulk run in the job queue; returns the spp.dci.bulk.run.

        ``pairs`` may be any iterable (a generator of millions is read lazily).
        Each item's result is verify_birth's dict without raw_record, or null
        when the registry has no such birth.
        """
        return self.env["spp.dci.bulk.run"]._start(
            self.data_source,
            "crvs_birth",
            ([kind, value] for kind, value in pairs),
            name or self.env._("Birth verification on %s", self.data_source.sudo().code),
        )

    def subscribe_events(self, event_types=None, wait=5.0):
        """Subscribe to vital events (default: live_birth and death); returns subscription codes.

        Event types are the spec's (live_birth, death, ...) or OpenSPP's names
        (BIRTH, DEATH, ...). An event type already subscribed is not
        subscribed again. The registry confirms asynchronously; this waits up
        to ``wait`` seconds for the confirmations, and returns the codes
        confirmed by then (later ones are stored when they arrive).
        """
        event_types = list(dict.fromkeys(E.event_type(kind) for kind in event_types or DEFAULT_EVENT_TYPES))
        subscriptions = self.env["spp.dci.crvs.subscription"].sudo()
        for event_type in event_types:
            existing = subscriptions.search(
                [
                    ("data_source_id", "=", self.data_source.id),
                    ("event_type", "=", event_type),
                    ("state", "in", ("requested", "active")),
                ],
                limit=1,
            )
            if existing:
                subscriptions |= existing
                continue
            ack = self.client.subscribe(event_type, notify_record_type=self.data_source.sudo().notify_record_type)
            subscriptions |= subscriptions.create(
                {
                    "data_source_id": self.data_source.id,
                    "event_type": event_type,
                    "transaction_id": ack["transaction_id"],
                }
            )
        requested = subscriptions.filtered(lambda subscription: subscription.state == "requested")
        if requested:
            results = self.env["spp.dci.transaction"]._wait_for_callbacks(requested.mapped("transaction_id"), wait)
            requested._refresh_from_callbacks(results)
        return [code for code in subscriptions.mapped("code") if code]

    def unsubscribe_events(self, subscription_codes=None, event_types=None):
        """Cancel subscriptions, by code (OpenSPP's call) or by event type.

        With ``subscription_codes``: unsubscribes those codes and returns the
        registry's acknowledgement (a dict), as OpenSPP's service did. With
        ``event_types`` (or nothing: every active subscription): returns the
        codes cancelled.
        """
        subscriptions = self.env["spp.dci.crvs.subscription"].sudo()
        if subscription_codes:
            codes = [subscription_codes] if isinstance(subscription_codes, str) else list(subscription_codes)
            ack = self.client.unsubscribe(codes)
            subscriptions.search([("data_source_id", "=", self.data_source.id), ("code", "in", codes)]).write(
                {"state": "cancelled"}
            )
            return ack
        domain = [("data_source_id", "=", self.data_source.id), ("state", "=", "active")]
        if event_types:
            domain.append(("event_type", "in", [E.event_type(kind) for kind in event_types]))
        subscriptions = subscriptions.search(domain)
        if subscriptions:
            self.client.unsubscribe(subscriptions.mapped("code"))
            subscriptions.write({"state": "cancelled"})
        return subscriptions.mapped("code")


def first_record(item):
    """The first person record of one search_response item, or None."""
    records = reg_records(item)
    return records[0] if records else None


def inline_parent_name(record, role):
    """The mother's or father's name when the record itself carries it (mother_name, mother {...}), or None."""
    name = record.get(f"{role}_name") or record.get(role)
    name = person_name(name) if isinstance(name, dict) else name
    return str(name) if name else None


def birth_result(record, identifier_type, identifier_value):
    """verify_birth's answer for a registry record (None: no registered birth)."""
    if record is None:
        return None
    person = parse_person(record)
    if not person["birth_date"]:
        return None
    return dict(
        person, identifier_type=identifier_type, identifier_value=str(identifier_value).strip(), raw_record=record
    )


def birth_queries(pairs):
    """The search queries of verify_births, one per (identifier_type, identifier_value) pair."""
    return [
        {
            "query_type": C.QUERY_IDTYPE_VALUE,
            "query": {"type": kind, "value": value},
            "event_type": BIRTH,
            "page_size": 1,
        }
        for kind, value in pairs
    ]
