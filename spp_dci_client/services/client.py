"""DCIClient: the synchronous DCI client every service of the suite calls.

    from odoo.addons.spp_dci_client.services.client import DCIClient
    client = DCIClient(env["spp.dci.data.source"].get_by_code("crvs_main"), env)
    response = client.search_by_id("BRN", "BR-2024-0042")
    records = response["message"]["search_response"][0]["data"]["reg_records"]

One client holds one keep-alive connection pool, the data source's settings read
once, its signing key and the registry's verification keys. It may be shared
by threads; the OAuth token is cached per process and per database (see
spp.dci.oauth.token) and every message is logged in spp.dci.transaction.
"""

import logging
import time

from odoo.api import Environment

from . import constants as C
from . import envelope as E
from .cel import to_predicate
from .errors import (
    DCIAuthenticationError,
    DCIError,
    DCISignatureError,
    DCIValidationError,
    _lt,
    registry_text,
)
from .probe import (
    NO_STEPS,
    OUTCOME_BEARER,
    OUTCOME_ISSUED,
    OUTCOME_NO_AUTH,
    OUTCOME_NOT_CHECKED,
    OUTCOME_STORED,
    OUTCOME_UNSIGNED,
    OUTCOME_VALID,
    STEP_ANSWER,
    STEP_ENVELOPE,
    STEP_SEARCH,
    STEP_SIGNATURE,
    STEP_TOKEN,
    ProbeSteps,
)
from .signing import get_profile
from .transport import NO_RETRY, Transport
from .verification import POLICY_OFF, check_registry_signature

_logger = logging.getLogger(__name__)

DEFAULT_RECORD_TYPE = "ns:org:RegistryRecordType:Person"
SEARCH_RESPONSE = "search_response"
# The probe looks up an identifier no registry holds: any answer, found or not, shows the exchange works.
PROBE_QUERY = {"type": "UIN", "value": "connection-test"}


class DCIClient:
    """Talks DCI to the registry of one spp.dci.data.source record."""

    def __init__(self, data_source, env, *, retry=None):
        """OpenSPP's shape: the parts are read from the record (spp.dci.data.source _dci_client_parts).

        ``retry``: a RetryPolicy replacing the data source's (bulk jobs use none).
        """
        if not isinstance(env, Environment):
            raise TypeError(
                "DCIClient takes (data_source, env): a spp.dci.data.source record, then the Odoo environment"
            )
        if getattr(data_source, "_name", None) != "spp.dci.data.source":
            raise TypeError(
                "DCIClient takes (data_source, env): the first argument must be a spp.dci.data.source "
                "record; look one up with env['spp.dci.data.source'].get_by_code(code)"
            )
        data_source.ensure_one()
        self.env = env  # OpenSPP's client has these two attributes; nothing here uses them
        self.data_source = data_source.with_env(env)
        self._assemble(**self.data_source._dci_client_parts(), retry=retry)

    @classmethod
    def from_parts(cls, config, keys, tokens, message_log, retry=None):
        """A client made of plain parts, with no ORM behind it.

        ``config``: the ClientConfig; ``keys``: the registry's key resolver
        (services/keys.py); ``tokens``: the OAuth2 token provider, or None;
        ``message_log``: called once per message with the row's values (see
        _finish_log), after the answer is checked and before it is returned.
        """
        client = cls.__new__(cls)
        client._assemble(config, keys, tokens, message_log, retry)
        return client

    def _assemble(self, config, keys, tokens, message_log, retry=None):
        self.config = config
        self.profile = get_profile(config.signature_profile)
        self.keys = keys
        self.tokens = tokens
        self.message_log = message_log
        self.transport = Transport(
            config.base_url,
            timeout=config.timeout,
            verify=config.verify_ssl,
            max_response_bytes=config.max_response_bytes,
            retry=retry or config.retry,
        )

    def close(self):
        self.transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # searches: the arguments, positions and defaults of OpenSPP's published DCIClient

    def search(
        self,
        query_type,
        query_value,
        record_type="PERSON",
        page=1,
        page_size=10,
        registry_type=None,
        registry_event_type=None,
        *,
        sort=None,
        consent=None,
        locale=C.DEFAULT_LOCALE,
    ):
        """Sync search of one query; returns the on-search envelope.

        ``query_value``: for idtype-value a "TYPE:VALUE" string or {"type", "value"};
        for predicate a CEL-style string (see cel.py) or the spec's predicate list;
        for expression an expression object. ``record_type``: PERSON, GROUP, ...
        or a namespaced record type; ``registry_type``: CRVS, IBR, DR, ... or the
        spec's value (default: the data source's).
        """
        item = self._search_item(
            self._criteria(
                query_type,
                query_value,
                record_type,
                page,
                page_size,
                registry_type,
                registry_event_type,
                sort=sort,
                consent=consent,
                locale=locale,
            )
        )
        return self._sync_search([item])[0]

    def search_async(
        self,
        query_type,
        query_value,
        record_type="PERSON",
        page=1,
        page_size=10,
        registry_type=None,
        registry_event_type=None,
        callback_url=None,
        *,
        origin=None,
        sort=None,
        consent=None,
        locale=C.DEFAULT_LOCALE,
    ):
        """DCI async search: returns the registry's ACK once it accepts the request.

        The results come to our callback (``callback_url`` or the data source's
        our_callback_uri) and are stored on the spp.dci.transaction row whose
        transaction_id is returned under ``"transaction_id"``.
        """
        criteria = self._criteria(
            query_type,
            query_value,
            record_type,
            page,
            page_size,
            registry_type,
            registry_event_type,
            sort=sort,
            consent=consent,
            locale=locale,
        )
        return self._search_async(criteria, callback_url, origin)

    def search_by_id(
        self,
        identifier_type,
        identifier_value,
        record_type="PERSON",
        page=1,
        page_size=10,
        async_mode=False,
        registry_event_type=None,
    ):
        query = E.idtype_value_query(identifier_type, identifier_value)
        return self._search_in_mode(
            async_mode,
            C.QUERY_IDTYPE_VALUE,
            query,
            record_type,
            page,
            page_size,
            registry_event_type=registry_event_type,
        )

    def search_by_id_opencrvs(
        self, identifier_type, identifier_value, event_type="birth", page=1, page_size=10, async_mode=False
    ):
        """The identifier lookup in the shape OpenCRVS's DCI API accepts (see _opencrvs_criteria)."""
        query = E.idtype_value_query(identifier_type, identifier_value)
        return self._send(self._opencrvs_criteria(C.QUERY_IDTYPE_VALUE, query, event_type, page, page_size), async_mode)

    def search_by_predicate(self, predicate, record_type="PERSON", page=1, page_size=10, async_mode=False):
        """``predicate``: a CEL-style string such as 'birth_date >= "2020-01-01" && sex == "female"', or a list."""
        return self._search_in_mode(async_mode, C.QUERY_PREDICATE, predicate, record_type, page, page_size)

    def search_by_expression(
        self,
        expression,
        record_type="PERSON",
        page=1,
        page_size=10,
        registry_type=None,
        registry_event_type=None,
        async_mode=False,
        use_opencrvs_format=False,
    ):
        """An expression object; a list (the predicate list OpenSPP's examples pass here) is sent as a predicate."""
        if use_opencrvs_format:
            if not isinstance(expression, dict) or not expression:
                raise E._invalid("expression", "a non-empty object is required")
            query = {"type": "ns:org:QueryType:expression", "value": {"expression": {"query": expression}}}
            criteria = self._opencrvs_criteria(C.QUERY_EXPRESSION, query, registry_event_type, page, page_size)
            return self._send(criteria, async_mode)
        query_type = C.QUERY_PREDICATE if isinstance(expression, list) else C.QUERY_EXPRESSION
        return self._search_in_mode(
            async_mode,
            query_type,
            expression,
            record_type,
            page,
            page_size,
            registry_type=registry_type,
            registry_event_type=registry_event_type,
        )

    def search_by_date_range(
        self,
        start_date,
        end_date,
        attribute_name="birth_date",
        event_type=None,
        record_type="PERSON",
        page=1,
        page_size=10,
        async_mode=False,
        use_opencrvs_format=False,
    ):
        """Records whose ``attribute_name`` lies between the two dates, both included.

        The default attribute is the spec's birth_date (OpenSPP's default,
        dateOfEvent, is no attribute of the spec's person record). With
        ``use_opencrvs_format`` the range is sent as OpenCRVS's expression
        {attribute: {"type": "range", "gte": start, "lte": end}}.
        """
        start = E.iso_date_or_time(start_date, "start_date")
        end = E.iso_date_or_time(end_date, "end_date")
        E.check_token(attribute_name, "attribute_name")
        if start[:10] > end[:10]:
            raise E._invalid("date range", "start_date is after end_date")
        if use_opencrvs_format:
            query = {
                "type": "ns:org:QueryType:expression",
                "value": {"expression": {"query": {attribute_name: {"type": "range", "gte": start, "lte": end}}}},
            }
            return self._send(
                self._opencrvs_criteria(C.QUERY_EXPRESSION, query, event_type, page, page_size), async_mode
            )
        predicate = [
            {
                "seq_num": 1,
                "expression1": {"attribute_name": attribute_name, "operator": "ge", "attribute_value": start},
                "condition": "and",
                "expression2": {"attribute_name": attribute_name, "operator": "le", "attribute_value": end},
            }
        ]
        return self._search_in_mode(
            async_mode, C.QUERY_PREDICATE, predicate, record_type, page, page_size, registry_event_type=event_type
        )

    def _criteria(
        self,
        query_type,
        query_value,
        record_type,
        page,
        page_size,
        registry_type=None,
        registry_event_type=None,
        **extra,
    ):
        """The search_item arguments for one search, from the public methods' arguments."""
        return dict(
            extra,
            query_type=query_type,
            query=self._query(query_type, query_value),
            record_type=E.record_type(record_type) if record_type else None,
            event_type=E.event_type(registry_event_type) if registry_event_type else None,
            reg_type=E.registry_type(registry_type) if registry_type else None,
            page=page,
            page_size=page_size,
        )

    @staticmethod
    def _query(query_type, query_value):
        """The spec's query for a query value in any of the accepted shapes."""
        if query_type == C.QUERY_IDTYPE_VALUE and isinstance(query_value, str):
            kind, separator, value = query_value.partition(":")
            if not separator:
                raise E._invalid("query_value", "an idtype-value query is 'TYPE:VALUE', e.g. 'BRN:BR-2024-0042'")
            return E.idtype_value_query(kind.strip(), value.strip())
        if query_type == C.QUERY_PREDICATE and isinstance(query_value, str):
            return to_predicate(query_value)
        if (
            query_type == C.QUERY_EXPRESSION
            and isinstance(query_value, dict)
            and query_value
            and "type" not in query_value
        ):
            return {"type": "ns:org:QueryType:expression", "value": {"expression": query_value}}
        return query_value

    def _opencrvs_criteria(self, query_type, query, event_type, page, page_size):
        """A search in the shape OpenCRVS's DCI API takes: the event, a consent and a sort order.

        OpenCRVS (opencrvs/dci-crvs-api) reads the event from reg_type,
        "ocrvs:registry_type:<event>"; OpenSPP2 sends it in reg_event_type:
        both are sent. The query itself is unchanged.
        """
        event = E.check_token((event_type or "birth").lower(), "event_type")
        return {
            "query_type": query_type,
            "query": query,
            "reg_type": f"ocrvs:registry_type:{event}",
            "event_type": event,
            "sort": [{"attribute_name": "createdAt", "sort_order": "asc"}],
            "consent": {
                "ts": E.timestamp(),
                "purpose": {"text": "Social protection programme verification", "code": "SPP"},
            },
            "page": page,
            "page_size": page_size,
        }

    def _search_in_mode(self, async_mode, query_type, query_value, record_type, page, page_size, **criteria):
        return self._send(self._criteria(query_type, query_value, record_type, page, page_size, **criteria), async_mode)

    def _send(self, criteria, async_mode):
        if async_mode:
            return self._search_async(criteria, None, None)
        return self._sync_search([self._search_item(criteria)])[0]

    def _search_async(self, criteria, callback_url, origin):
        sender_uri = callback_url or self.config.callback_uri
        if not sender_uri:
            raise DCIValidationError(
                _lt("Data source %s has no callback URI: set our_callback_uri for async searches.", self.config.code)
            )
        item = self._search_item(criteria)
        transaction_id = E.new_id()
        ack = self._send_for_ack(
            self.config.async_search_endpoint,
            C.ACTION_SEARCH,
            E.search_message(transaction_id, [item]),
            transaction_id,
            reference_ids=[item["reference_id"]],
            sender_uri=sender_uri,
            origin=origin,
        )
        return dict(ack, transaction_id=transaction_id)

    def search_batch(self, queries, *, strict=True):
        """Many queries, sent as few envelopes as the batch size allows.

        ``queries`` are dicts of search() arguments (query_type and query at
        least). Returns one search_response item per query, in query order.
        With ``strict`` (the default) an item rejected by the registry raises
        DCIRejectedError naming its reference_id; without it the rejected item
        is returned as it came, with status "rjct".

        A query with ``max_records`` follows the registry's ``pagination``:
        the next pages are asked for (in batches too) until the registry has
        no more or the item holds ``max_records`` records; its reg_records
        then hold every page's records. Without it, only the asked page comes.
        """
        if not isinstance(queries, (list, tuple)) or not all(isinstance(query, dict) for query in queries):
            raise DCIValidationError(_lt("Invalid queries: a list of query dicts is required."))
        queries = [dict(query) for query in queries]
        limits = [E.check_record_limit(query.pop("max_records", None)) for query in queries]
        results = self._search_items([self._search_item(dict(query)) for query in queries], strict)
        pages = [query.get("page", 1) for query in queries]
        while True:
            pending = [
                index for index, limit in enumerate(limits) if limit and E.has_more_records(results[index], limit)
            ]
            if not pending:
                return results
            for index in pending:
                pages[index] += 1
            next_pages = self._search_items(
                [self._search_item(dict(queries[index], page=pages[index])) for index in pending], strict
            )
            for index, item in zip(pending, next_pages, strict=True):
                if not E.merge_page(results[index], item, limits[index]):
                    limits[index] = None

    def _search_items(self, items, strict):
        """Sync search of prepared items in envelopes of at most max_batch_size; items in order."""
        size = self.config.max_batch_size
        results = []
        for start in range(0, len(items), size):
            chunk = items[start : start + size]
            _envelope, by_reference = self._sync_search(chunk, strict=strict)
            results.extend(by_reference[item["reference_id"]] for item in chunk)
        return results

    def _search_item(self, query):
        if not isinstance(query, dict) or "query_type" not in query or "query" not in query:
            raise DCIValidationError(_lt("Invalid query: each query needs query_type and query."))
        unknown = set(query) - {
            "query_type",
            "query",
            "reg_type",
            "record_type",
            "event_type",
            "page",
            "page_size",
            "sort",
            "consent",
            "locale",
        }
        if unknown:
            raise DCIValidationError(_lt("Invalid query: unknown keys %s.", ", ".join(sorted(unknown))))
        query = dict(query)
        query["reg_type"] = query.get("reg_type") or self.config.registry_type
        return E.search_item(query.pop("query_type"), query.pop("query"), **query)

    def _sync_search(self, items, strict=True):
        """(envelope, {reference_id: search_response item}) of one sync search envelope."""
        transaction_id = E.new_id()
        return self._exchange(
            self.config.search_endpoint,
            C.ACTION_SEARCH,
            E.search_message(transaction_id, items),
            transaction_id,
            reference_ids=[item["reference_id"] for item in items],
            list_key=SEARCH_RESPONSE,
            strict=strict,
        )

    # subscriptions and transaction status

    def subscribe(
        self,
        event_type,
        filter_query=None,
        notify_record_type=DEFAULT_RECORD_TYPE,
        *,
        frequency=None,
        callback_url=None,
        locale=C.DEFAULT_LOCALE,
        origin=None,
    ):
        """Subscribe to a registry event type; returns the ACK with our transaction_id.

        ``event_type``: the registry's name (live_birth, death, ...) or OpenSPP's
        (BIRTH, DEATH, ...); ``notify_record_type``: Person, PERSON, ... or a
        namespaced type. The registry confirms with an on-subscribe callback
        carrying the subscription codes; that callback is stored on the
        transaction row.
        """
        sender_uri = callback_url or self.config.callback_uri
        if not sender_uri:
            raise DCIValidationError(
                _lt("Data source %s has no callback URI: set our_callback_uri to subscribe.", self.config.code)
            )
        if filter_query is not None and (not isinstance(filter_query, dict) or not filter_query):
            raise DCIValidationError(_lt("Invalid filter_query: a non-empty object is required."))
        transaction_id = E.new_id()
        message = E.subscribe_message(
            transaction_id,
            reg_type=self.config.registry_type,
            event_type=E.event_type(event_type),
            filter_query=filter_query or {"type": "ns:org:QueryType:expression", "value": {"expression": {}}},
            notify_record_type=E.record_type(notify_record_type),
            frequency=frequency,
            locale=locale,
        )
        reference_ids = [item["reference_id"] for item in message["subscribe_request"]]
        ack = self._send_for_ack(
            self.config.subscribe_endpoint,
            C.ACTION_SUBSCRIBE,
            message,
            transaction_id,
            reference_ids=reference_ids,
            sender_uri=sender_uri,
            origin=origin,
        )
        return dict(ack, transaction_id=transaction_id)

    def unsubscribe(self, subscription_codes, *, callback_url=None, origin=None):
        transaction_id = E.new_id()
        message = E.unsubscribe_message(transaction_id, subscription_codes)
        ack = self._send_for_ack(
            self.config.unsubscribe_endpoint,
            C.ACTION_UNSUBSCRIBE,
            message,
            transaction_id,
            sender_uri=callback_url or self.config.callback_uri,
            origin=origin,
        )
        return dict(ack, transaction_id=transaction_id)

    def txn_status(
        self, attribute_value, attribute_type="transaction_id", *, txn_type="search", locale=C.DEFAULT_LOCALE
    ):
        """Synchronous transaction status (/registry/sync/txn/status).

        ``attribute_type`` "reference_id" (OpenSPP's name) is the spec's
        reference_id_list of that one id.
        """
        if attribute_type == "reference_id":
            attribute_type = "reference_id_list"
        transaction_id = E.new_id()
        message = E.txn_status_message(transaction_id, attribute_value, attribute_type, txn_type, locale)
        return self._exchange(self.config.sync_txn_status_endpoint, C.ACTION_TXN_STATUS, message, transaction_id)[0]

    def post_sync(self, path, action, message, *, list_key=None, reference_ids=None):
        """A signed sync request to a registry-specific endpoint (IBR enrolled, DR disabled).

        Returns ``(envelope, items_by_reference_id)``; the items are matched
        to ``reference_ids`` under ``list_key``, and empty without one.
        """
        transaction_id = message.get("transaction_id") or E.new_id()
        return self._exchange(
            path, action, message, transaction_id, reference_ids=reference_ids or [], list_key=list_key
        )

    # Test Connection

    def probe(self, origin=None):
        """Test Connection's checks, sent once: the token, one search, its envelope, signature and answer.

        Returns the ProbeSteps done, each timed, with its URL and outcome; a
        DCIError ends the probe and is kept on the last step. With OAuth2 a
        new token is requested, so that the credentials themselves are
        tested. The search is logged like every message (``origin``: the
        record that asked).
        """
        steps = ProbeSteps()
        try:
            token = self._probe_token(steps)
            transaction_id = E.new_id()
            item = E.search_item(C.QUERY_IDTYPE_VALUE, PROBE_QUERY, reg_type=self.config.registry_type, page_size=1)

            def post_once(path, action, message, total_count):
                return self._post_once(path, action, message, total_count, None, token, retry=NO_RETRY)

            self._exchange(
                self.config.search_endpoint,
                C.ACTION_SEARCH,
                E.search_message(transaction_id, [item]),
                transaction_id,
                reference_ids=[item["reference_id"]],
                list_key=SEARCH_RESPONSE,
                origin=origin,
                post=post_once,
                steps=steps,
            )
        except DCIError as error:
            _logger.info(
                "DCI %s: connection probe failed at %s (%s %s)",
                self.config.code,
                steps[-1].name if steps else "start",
                type(error).__name__,
                registry_text(error.code),
            )
        return steps

    def _probe_token(self, steps):
        if self.config.auth_type != C.AUTH_OAUTH2:
            outcome = OUTCOME_BEARER if self.config.auth_type == C.AUTH_BEARER else OUTCOME_NO_AUTH
            with steps.step(STEP_TOKEN) as step:
                step["outcome"] = outcome
            return self._token()
        with steps.step(STEP_TOKEN, self.config.oauth2.token_url) as step:
            token, requested = self.tokens.fetch(self.transport, force=True)
            step["outcome"] = OUTCOME_ISSUED if requested else OUTCOME_STORED
        return token

    # the request path

    def _exchange(
        self,
        path,
        action,
        message,
        transaction_id,
        reference_ids=(),
        list_key=None,
        strict=True,
        *,
        origin=None,
        post=None,
        steps=NO_STEPS,
    ):
        """Send a signed request; return ``(envelope, items_by_reference_id)``, both checked.

        With ``list_key`` the response items under that key are matched to
        ``reference_ids``; without it the items are ``{}``. ``post`` replaces
        _post_signed (the probe sends once, with the token it fetched);
        ``steps`` times each step (see probe).
        """
        log = self._start_log(action, transaction_id, len(reference_ids) or 1, origin=origin)
        post = post or self._post_signed
        try:
            with steps.step(STEP_SEARCH, self.config.base_url + path) as step:
                response = post(path, action, message, total_count=len(reference_ids) or 1)
                step["detail"] = response.status
            with steps.step(STEP_ENVELOPE):
                envelope = E.check_envelope(response.json())
            with steps.step(STEP_SIGNATURE) as step:
                step["detail"] = self._verify(envelope, response.headers.get("signature"), transaction_id)
                step["outcome"] = self._signature_outcome(step["detail"])
            with steps.step(STEP_ANSWER):
                items = E.check_response_items(envelope, list_key, reference_ids, strict=strict) if list_key else {}
        except Exception as error:
            self._finish_log(log, "error", error=error)
            raise
        self._finish_log(log, "done", http_status=response.status, envelope=envelope)
        return envelope, items

    def _send_for_ack(self, path, action, message, transaction_id, reference_ids=(), sender_uri=None, origin=None):
        log = self._start_log(
            action, transaction_id, len(reference_ids) or 1, origin=origin, reference_ids=reference_ids
        )
        try:
            response = self._post_signed(
                path, action, message, total_count=len(reference_ids) or 1, sender_uri=sender_uri, idempotent=False
            )
            ack = E.check_ack(response.json())
        except Exception as error:
            self._finish_log(log, "error", error=error)
            raise
        self._finish_log(
            log, "pending", http_status=response.status, correlation_id=ack["message"].get("correlation_id")
        )
        return ack

    def _post_signed(self, path, action, message, total_count, sender_uri=None, idempotent=True):
        """POST the message; on a 401 with OAuth2, renew the token once and send a new message.

        Requests that are not ``idempotent`` (async search, subscribe,
        unsubscribe: a repeat would start a second search or subscription) are
        sent again only when the registry cannot have received them; a 401
        means it refused them.
        """
        token = self._token()
        try:
            return self._post_once(path, action, message, total_count, sender_uri, token, idempotent=idempotent)
        except DCIAuthenticationError as error:
            if self.config.auth_type != C.AUTH_OAUTH2 or error.response_status != 401:
                raise
            _logger.info("DCI %s: 401 from %s, renewing the token", self.config.code, path)
            token = self._token(rejected=token)
            return self._post_once(path, action, message, total_count, sender_uri, token, idempotent=idempotent)

    def _post_once(self, path, action, message, total_count, sender_uri, token, idempotent=True, retry=None):
        def build():
            head = E.header(
                action,
                sender_id=self.config.sender_id,
                receiver_id=self.config.receiver_id,
                total_count=total_count,
                sender_uri=sender_uri,
            )
            headers = {"Content-Type": "application/json", "Accept": "application/json"}
            if self.config.signer:
                signed = self.profile.sign_envelope(head, message, self.config.signer, self.config.sender_id)
                envelope = signed.envelope
                headers.update(signed.http_headers)
            else:
                envelope = {"header": head, "message": message}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            return E.json_bytes(envelope), headers

        return self.transport.post(path, build, idempotent=idempotent, retry=retry)

    def _token(self, rejected=None):
        if self.config.auth_type == C.AUTH_BEARER:
            return self.config.bearer_token
        if self.config.auth_type == C.AUTH_OAUTH2:
            return self.tokens.get(self.transport, rejected=rejected)
        return None

    def _verify(self, envelope, http_signature, transaction_id):
        """Check the signature as the policy says, and that the response answers this request.

        A response names our transaction_id, a fresh uuid4, inside what is
        signed: a signed response recorded earlier (or sent to another worker,
        before a restart, for another request) cannot answer this one. That
        binding is the replay guard of responses, and needs no shared state.
        """
        verified = check_registry_signature(
            self.config.signature_policy, self.profile, envelope, http_signature, self.keys.resolve
        )
        if envelope["message"].get("transaction_id") != transaction_id:
            raise DCISignatureError(
                _lt("The response answers another request than this one (a replayed or misrouted response)."),
                code=C.RJCT_MESSAGE_ID_DUPLICATE,
            )
        return verified

    def _signature_outcome(self, verified):
        """What _verify's answer means: a valid signature, none checked, or none given and none required."""
        if verified:
            return OUTCOME_VALID
        return OUTCOME_NOT_CHECKED if self.config.signature_policy == POLICY_OFF else OUTCOME_UNSIGNED

    # message log

    def _start_log(self, action, transaction_id, item_count, origin=None, reference_ids=()):
        return {
            "action": action,
            "transaction_id": transaction_id,
            "item_count": item_count,
            "origin": origin,
            "reference_ids": list(reference_ids),
            "started": time.monotonic(),
        }

    def _finish_log(self, log, state, http_status=None, envelope=None, error=None, correlation_id=None):
        duration_ms = int((time.monotonic() - log.pop("started")) * 1000)
        head = envelope.get("header", {}) if envelope else {}
        values = dict(
            log,
            state=state,
            http_status=http_status or getattr(error, "response_status", None),
            reason_code=registry_text(getattr(error, "code", None) if error else head.get("status_reason_code")),
            error_type=type(error).__name__ if error else None,
            correlation_id=registry_text(correlation_id or (envelope or {}).get("message", {}).get("correlation_id")),
            duration_ms=duration_ms,
        )
        _logger.info(
            "DCI %s %s %s: %s in %d ms%s",
            self.config.code,
            log["action"],
            log["transaction_id"],
            state,
            duration_ms,
            f" ({values['reason_code']})" if values["reason_code"] else "",
        )
        self.message_log(values)
