"""The simulated DCI registries: CRVS, IBR and DR roles over one population.

``SimulatedRegistry.handle(method, path, headers, body)`` is framework-free:
the standalone server (server.py) and any web framework's route can call it.
Paths are ``/<role>/...`` with role crvs, ibr or dr, e.g.
``/crvs/registry/sync/search`` or ``/dr/oauth2/client/token``; a peer prefix
(``/openspp/crvs/...``) picks the registry it plays for that request.
"""

import collections
import hashlib
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass

import httpx
from cryptography.hazmat.primitives.asymmetric import ed25519

from . import protocol as dci
from .auth import RequestVerifier, TokenIssuer
from .faults import FaultKind, FaultPlan, before_reading, body_reply, kind_of
from .population import Population
from .records import QueryError, crvs_record, dr_record, ibr_records, match_expression, match_predicate
from .replies import Reply, http_error
from .signing import (
    CavageProfile,
    OpenG2PProfile,
    OpenSPPProfile,
    SignedMessage,
    Signer,
    generate_private_key,
    public_jwk,
    public_key_to_pem,
    pydantic_datetime,
)

_logger = logging.getLogger(__name__)

ROLES = {
    "crvs": dci.REGISTRY_CIVIL,
    "ibr": dci.REGISTRY_IBR,
    "dr": dci.REGISTRY_DR,
}
MAX_BODY = 10 * 1024 * 1024
MAX_ITEMS = 1000
# A long-running simulator (the demo's, a bench of a million births) remembers a window, not everything:
# the transactions txn-status can still report, and the message ids the replay check still knows.
REMEMBERED_TRANSACTIONS = 10000
REMEMBERED_MESSAGE_IDS = 100000
STATS_PATH = "/_simulator/stats"

PEER_SPEC = "spec"
PEER_OPENSPP = "openspp"
PEER_OPENG2P = "openg2p"
# The signature profile each peer uses, by the name the client's data sources give it.
PEER_PROFILES = {PEER_SPEC: "dci_cavage", PEER_OPENSPP: "openspp", PEER_OPENG2P: "openg2p"}
OPENG2P_DEFAULT_ALGORITHMS = ("RS256",)

_process_key = ed25519.Ed25519PrivateKey.generate()
_process_rsa_key = generate_private_key("rsa")


def simulator_private_key(seed=None):
    """The simulator's Ed25519 signing key: random, made once per process and never stored.

    Peers learn its public key from the simulator's JWKS, so no one else can
    sign as the simulator. With ``seed``, a key derived from it: a known second
    key for tests only, never a registry's.
    """
    if seed is None:
        return _process_key
    return ed25519.Ed25519PrivateKey.from_private_bytes(hashlib.sha256(seed).digest())


def simulator_rsa_private_key():
    """The simulator's RSA key (OpenG2P signs with RS256): like its Ed25519 key, made once per process."""
    return _process_rsa_key


@dataclass(frozen=True)
class Route:
    peer: str
    role: str
    endpoint: str


def parse_route(path, default_peer):
    """``/[<peer>/]<role>/<endpoint>`` as a Route; None when the role is unknown."""
    parts = path.strip("/").split("/", 1)
    peer = default_peer
    if parts[0] in PEER_PROFILES and len(parts) > 1:
        peer = parts[0]
        parts = parts[1].split("/", 1)
    if parts[0] not in ROLES:
        return None
    return Route(peer, parts[0], "/" + parts[1] if len(parts) > 1 else "/")


class SimulatedRegistry:
    """An in-memory DCI registry with OAuth2, signatures, callbacks and fault injection.

    :param clients: {client_id: client_secret}; when given, every registry
        call needs a bearer token from /<role>/oauth2/client/token
    :param client_keys: callable kid -> public key (or None), or a dict, used
        to check the signatures of incoming requests
    :param client_jwks_url: a client JWKS read for kids the keys do not know
    :param require_signature: refuse unsigned requests (err.signature.missing);
        a signed request is always verified, and refused when no client key
        is known to check it
    :param peer: the registry it plays: "spec" (the spec's body signature),
        "openspp" (signs and verifies like OpenSPP's DCI server) or "openg2p"
        (a JWS in the Signature HTTP header, RS256 only unless
        ``openg2p_algorithms`` says otherwise). A path may pick another peer
        for one request: /<peer>/<role>/...
    :param signing_key: the Ed25519 key responses are signed with (spec, OpenSPP)
    :param rsa_signing_key: the RSA key responses are signed with (OpenG2P)
    :param request_validator: callable (role, path, envelope) -> list of schema
        errors; requests with errors are refused with HTTP 400 err.request.bad
    :param separate_deaths: answer searches for reg_event_type "death" with
        death records only, as registries keeping deaths apart do; False: the
        event type is ignored
    """

    def __init__(
        self,
        population=None,
        *,
        clients=None,
        token_lifetime=3600,
        client_keys=None,
        client_jwks_url=None,
        require_signature=False,
        signing_key=None,
        rsa_signing_key=None,
        peer=PEER_SPEC,
        openg2p_algorithms=OPENG2P_DEFAULT_ALGORITHMS,
        record_spelling="birth_date",
        callback_delay=0.05,
        keep_requests=False,
        request_validator=None,
        separate_deaths=True,
    ):
        if peer not in PEER_PROFILES:
            raise ValueError(f"unknown peer {peer!r}: one of {sorted(PEER_PROFILES)}")
        self.population = population or Population()
        self.oauth = TokenIssuer(clients, token_lifetime)
        self.verifier = RequestVerifier(client_keys, client_jwks_url, require_signature)
        self.signer = Signer.of(signing_key or simulator_private_key())
        self.rsa_signer = Signer.of(rsa_signing_key or simulator_rsa_private_key())
        self.peer = peer
        self.profiles = {
            PEER_SPEC: CavageProfile(),
            PEER_OPENSPP: OpenSPPProfile(),
            PEER_OPENG2P: OpenG2PProfile(openg2p_algorithms),
        }
        self.record_spelling = record_spelling
        self.separate_deaths = separate_deaths
        self.callback_delay = callback_delay
        self.faults = FaultPlan()
        self.keep_requests = keep_requests
        self.request_validator = request_validator
        self.received = []
        self.seen_message_ids = set()
        self._message_id_order = collections.deque()
        self.transactions = {}
        self.subscriptions = {}
        self.stats = {
            "token_requests": 0,
            "token_requests_in_query": 0,
            "requests": 0,
            "callbacks_sent": 0,
            "callbacks_failed": 0,
        }
        self._lock = threading.Lock()
        self._last_signed = {}

    @property
    def tokens(self):
        """The bearer tokens issued: token -> expiry (unix seconds)."""
        return self.oauth.tokens

    @property
    def client_jwks_url(self):
        return self.verifier.client_jwks_url

    @client_jwks_url.setter
    def client_jwks_url(self, url):
        self.verifier.client_jwks_url = url

    @property
    def public_key_pem(self):
        return public_key_to_pem(self.signer.private_key.public_key())

    def signer_for(self, peer):
        """The key a peer signs its responses with: OpenG2P signs RS256, the others Ed25519."""
        return self.rsa_signer if peer == PEER_OPENG2P else self.signer

    def public_key_pem_for(self, peer):
        return public_key_to_pem(self.signer_for(peer).private_key.public_key())

    def jwks(self, role, peer):
        """The registry's JWKS; an OpenSPP registry names its key <sender>|<key>|<alg>."""
        signer = self.signer_for(peer)
        jwk = public_jwk(signer.private_key.public_key())
        if peer == PEER_OPENSPP:
            label = self.profiles[PEER_OPENSPP].labels[signer.algorithm]
            jwk["kid"] = f"{self.sender_id(role)}|{signer.kid}|{label}"
        return {"keys": [jwk]}

    def sender_id(self, role):
        return f"{role}.simulator"

    # routing

    def handle(self, method, path, headers, body, query=""):
        """Answer one HTTP request: a Reply (status, headers, body, or drop the connection)."""
        headers = {name.lower(): value for name, value in headers.items()}
        if path == STATS_PATH and method == "GET":
            with self._lock:
                return Reply.json(dict(self.stats))
        route = parse_route(path, self.peer)
        if route is None:
            return http_error(404, dci.ERR_NOT_FOUND, "unknown registry role")
        if route.endpoint == dci.PATH_JWKS and method == "GET":
            return Reply.json(self.jwks(route.role, route.peer))
        if method != "POST":
            return http_error(405, dci.ERR_REQUEST_BAD, "POST only")
        if len(body) > MAX_BODY:
            return http_error(413, dci.ERR_REQUEST_BAD, "body too large")
        self._count("requests")
        if route.endpoint == dci.PATH_TOKEN:
            return self._token(headers, body, query)
        if self.keep_requests:
            self._record(route, body)
        return self._registry_call(route, headers, body, self.faults.take(route.endpoint))

    def _token(self, headers, body, query):
        self._count("token_requests")
        if query and not body:
            self._count("token_requests_in_query")
        return self.oauth.issue(headers, body or query.encode(), self.faults.take(dci.PATH_TOKEN))

    def _registry_call(self, route, headers, body, fault):
        forced, fault = before_reading(fault, self.oauth.expire_all)
        if forced:
            return forced
        refusal = self.oauth.refusal(headers)
        if refusal:
            return refusal
        envelope = self._envelope(body)
        if isinstance(envelope, Reply):
            return envelope
        refusal = self.verifier.refusal(
            envelope, headers.get("signature"), self.profiles[route.peer]
        ) or self._schema_refusal(route, envelope)
        if refusal:
            return refusal
        endpoint = self._endpoint(route)
        if endpoint is None:
            return http_error(404, dci.ERR_NOT_FOUND, f"no endpoint {route.endpoint} for role {route.role}")
        return endpoint(route.role, envelope, route.peer, fault)

    @staticmethod
    def _envelope(body):
        """The request's DCI envelope, or the 400 Reply refusing it."""
        try:
            envelope = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return http_error(400, dci.ERR_REQUEST_BAD, "body is not JSON")
        if (
            not isinstance(envelope, dict)
            or not isinstance(envelope.get("header"), dict)
            or not isinstance(envelope.get("message"), dict)
        ):
            return http_error(400, dci.ERR_REQUEST_BAD, "not a DCI envelope")
        return envelope

    def _endpoint(self, route):
        """The method answering the route's endpoint; None when the role has no such endpoint."""
        common = {
            dci.PATH_SYNC_SEARCH: self._sync_search,
            dci.PATH_SEARCH: self._async_search,
            dci.PATH_SUBSCRIBE: self._subscribe,
            dci.PATH_UNSUBSCRIBE: self._unsubscribe,
            dci.PATH_SYNC_TXN_STATUS: self._sync_txn_status,
            dci.PATH_TXN_STATUS: self._async_txn_status,
        }
        by_role = {
            "ibr": {dci.PATH_SYNC_ENROLLED: self._sync_enrolled},
            "dr": {
                dci.PATH_SYNC_DISABLED: self._sync_disabled,
                dci.PATH_SYNC_DISABILITY_DETAILS: self._sync_disability_details,
            },
        }
        return common.get(route.endpoint) or by_role.get(route.role, {}).get(route.endpoint)

    def _schema_refusal(self, route, envelope):
        if not self.request_validator:
            return None
        try:
            errors = self.request_validator(route.role, route.endpoint, envelope)
        except KeyError:
            return None
        if errors:
            return http_error(400, dci.ERR_REQUEST_BAD, f"not valid against the spec: {errors[0][:300]}")
        return None

    def _count(self, name):
        with self._lock:
            self.stats[name] += 1

    def _record(self, route, body):
        try:
            envelope = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            envelope = None
        with self._lock:
            self.received.append((route.role, route.endpoint, envelope))

    # envelopes

    def _response_header(self, role, action, request_header, status=dci.STATUS_SUCCESS, reason=None, count=0):
        head = {
            "version": dci.DCI_VERSION,
            "message_id": dci.new_id(),
            "message_ts": dci.timestamp(),
            "action": action,
            "status": status,
            "total_count": request_header.get("total_count", 1)
            if isinstance(request_header.get("total_count"), int)
            else 1,
            "completed_count": count,
            "sender_id": self.sender_id(role),
            "receiver_id": request_header.get("sender_id"),
            "is_msg_encrypted": False,
        }
        if reason:
            head["status_reason_code"] = reason
            head["status_reason_message"] = reason.replace(".", " ")
        return head

    def _signed(self, head, message, peer, fault=None):
        """The response as the peer sends it: a SignedMessage (body and HTTP headers).

        The "replay" fault sends again, as it was, the last response signed for this sender.
        """
        kind = kind_of(fault)
        if kind == FaultKind.REPLAY and head["sender_id"] in self._last_signed:
            return self._last_signed[head["sender_id"]]
        if peer == PEER_OPENSPP:
            head["message_ts"] = pydantic_datetime(head["message_ts"])
        signed = self._sign(head, message, peer, kind)
        self._last_signed[head["sender_id"]] = signed
        return signed

    def _sign(self, head, message, peer, kind):
        if kind == FaultKind.NO_SIGNATURE:
            return SignedMessage({"header": self._wire_header(head, peer), "message": message})
        signer = self.signer_for(peer)
        if kind == FaultKind.UNKNOWN_KID:
            signer = Signer.of(generate_private_key(signer.algorithm))
        now = time.time() - 3600 if kind == FaultKind.EXPIRED_SIGNATURE else None
        signed = self.profiles[peer].sign_response(head, message, signer, head["sender_id"], now=now)
        signed.envelope["header"] = self._wire_header(head, peer)
        if kind == FaultKind.BAD_SIGNATURE:
            signed.envelope["message"] = dict(message, tampered=True)
        return signed

    @staticmethod
    def _wire_header(head, peer):
        """OpenSPP never sets is_msg_encrypted, so its wire header lacks it (the header it signs has it)."""
        if peer != PEER_OPENSPP:
            return head
        return {name: value for name, value in head.items() if name != "is_msg_encrypted"}

    @staticmethod
    def _reply_envelope(signed, fault):
        reply = body_reply(signed.envelope, fault)
        if reply is None:
            reply = Reply.json(signed.envelope)
            reply.headers.update(signed.http_headers)
        return reply

    def _validate_request(self, envelope, action, list_key):
        """Header-level checks of the spec; returns a reason code or None."""
        head, message = envelope["header"], envelope["message"]
        if head.get("version") != dci.DCI_VERSION:
            return "rjct.version.invalid"
        if head.get("action") != action:
            return "rjct.action.invalid"
        if not head.get("message_id") or not head.get("message_ts") or not head.get("sender_id"):
            return "rjct.message_id.duplicate" if not head.get("message_id") else "rjct.message_ts.invalid"
        with self._lock:
            if head["message_id"] in self.seen_message_ids:
                return "rjct.message_id.duplicate"
            self.seen_message_ids.add(head["message_id"])
            self._message_id_order.append(head["message_id"])
            if len(self._message_id_order) > REMEMBERED_MESSAGE_IDS:
                self.seen_message_ids.discard(self._message_id_order.popleft())
        items = message.get(list_key) if list_key else None
        count = head.get("total_count")
        if list_key:
            if not isinstance(items, list) or not items:
                return "rjct.total_count.invalid"
            if not isinstance(count, int) or isinstance(count, bool) or count != len(items):
                return "rjct.total_count.invalid"
            if len(items) > MAX_ITEMS:
                return "rjct.total_count.limit_exceeded"
        if not message.get("transaction_id"):
            return "rjct.action.invalid"
        return None

    # search

    def _search_results(self, role, envelope, fault):
        message = envelope["message"]
        results = []
        for item in message["search_request"]:
            results.append(self._search_item(role, item))
        kind = kind_of(fault)
        if kind == FaultKind.WRONG_REFERENCE and results:
            results[0]["reference_id"] = dci.new_id()
        if kind == FaultKind.ITEM_RJCT and results:
            results[0].update(
                status=dci.STATUS_REJECTED, status_reason_code=fault.params.get("code", "rjct.search_criteria.invalid")
            )
            results[0].pop("data", None)
        return results

    def _search_item(self, role, item):
        reference_id = item.get("reference_id") if isinstance(item, dict) else None
        base = {"reference_id": reference_id or dci.new_id(), "timestamp": dci.timestamp(), "locale": "eng"}
        if not reference_id:
            return dict(base, status=dci.STATUS_REJECTED, status_reason_code="rjct.reference_id.invalid")
        criteria = item.get("search_criteria")
        try:
            if not isinstance(criteria, dict):
                raise QueryError("search_criteria missing")
            persons = self._select(role, criteria.get("query_type"), criteria.get("query"))
            if self.separate_deaths and criteria.get("reg_event_type") == "death":
                persons = [person for person in persons if person.death_date]
            pagination = criteria.get("pagination") or {}
            size = int(pagination.get("page_size", 10))
            number = int(pagination.get("page_number", 1))
            if size < 1 or number < 1:
                raise QueryError("pagination")
        except (QueryError, TypeError, ValueError):
            return dict(base, status=dci.STATUS_REJECTED, status_reason_code=dci.RJCT_SEARCH_CRITERIA_INVALID)
        page = persons[(number - 1) * size : number * size]
        data = {
            "version": dci.DCI_VERSION,
            "reg_type": ROLES[role],
            "reg_record_type": criteria.get("reg_record_type") or dci.RECORD_TYPE_PERSON,
        }
        if role == "crvs":
            data["reg_records"] = [crvs_record(person, self.record_spelling) for person in page]
        elif role == "ibr":
            data["reg_records"] = [record for person in page for record in ibr_records(person)]
        else:
            data["reg_records"] = dr_record(page[0]) if page else {}
        return dict(
            base,
            status=dci.STATUS_SUCCESS,
            data=data,
            pagination={"page_size": size, "page_number": number, "total_count": len(persons)},
        )

    def _select(self, role, query_type, query):
        population = self.population
        if query_type == dci.QUERY_IDTYPE_VALUE:
            if not isinstance(query, dict) or not isinstance(query.get("type"), str):
                raise QueryError("idtype-value query needs type and value")
            person = population.find(query["type"], str(query.get("value")))
            candidates = [person] if person else []
        elif query_type == dci.QUERY_PREDICATE:
            if not isinstance(query, list):
                raise QueryError("predicate must be a list")
            candidates = [person for person in population.persons if match_predicate(person, query)]
        elif query_type == dci.QUERY_EXPRESSION:
            expression = query.get("value", {}).get("expression") if isinstance(query, dict) else None
            if "query" in (expression or {}):
                expression = expression["query"]
            candidates = [person for person in population.persons if match_expression(person, expression)]
        else:
            raise QueryError(f"unsupported query_type {query_type!r}")
        if role == "ibr":
            return [person for person in candidates if person.enrolments]
        if role == "dr":
            return [person for person in candidates if person.disability]
        return candidates

    def _sync_search(self, role, envelope, peer, fault):
        reason = self._validate_request(envelope, dci.ACTION_SEARCH, "search_request")
        head = envelope["header"]
        if reason or kind_of(fault) == FaultKind.HEADER_RJCT:
            reason = reason or fault.params.get("code", "rjct.action.not_supported")
            response_head = self._response_header(role, dci.ACTION_ON_SEARCH, head, dci.STATUS_REJECTED, reason)
            message = {
                "transaction_id": envelope["message"].get("transaction_id") or "unknown",
                "correlation_id": dci.new_id(),
                "search_response": [],
            }
            return self._reply_envelope(self._signed(response_head, message, peer, fault), fault)
        results = self._search_results(role, envelope, fault)
        message = {
            "transaction_id": envelope["message"]["transaction_id"],
            "correlation_id": dci.new_id(),
            "search_response": results,
        }
        self._remember(envelope["message"]["transaction_id"], "search", message["correlation_id"], results)
        response_head = self._response_header(role, dci.ACTION_ON_SEARCH, head, count=len(results))
        return self._reply_envelope(self._signed(response_head, message, peer, fault), fault)

    def _async_search(self, role, envelope, peer, fault):
        reason = self._validate_request(envelope, dci.ACTION_SEARCH, "search_request")
        if reason:
            return Reply.json(dci.err(reason, "invalid request"))
        sender_uri = envelope["header"].get("sender_uri")
        if not sender_uri:
            return Reply.json(dci.err(dci.ERR_SENDER_URI_INVALID, "sender_uri is required for async search"))
        correlation_id = dci.new_id()
        results = self._search_results(role, envelope, fault)
        message = {
            "transaction_id": envelope["message"]["transaction_id"],
            "correlation_id": correlation_id,
            "search_response": results,
        }
        self._remember(message["transaction_id"], "search", correlation_id, results)
        head = self._response_header(role, dci.ACTION_ON_SEARCH, envelope["header"], count=len(results))
        self._callback_later(sender_uri, self._signed(head, message, peer, fault))
        return Reply.json(dci.ack(correlation_id))

    # subscriptions and notifications

    def _subscribe(self, role, envelope, peer, fault):
        reason = self._validate_request(envelope, dci.ACTION_SUBSCRIBE, "subscribe_request")
        if reason:
            return Reply.json(dci.err(reason, "invalid request"))
        head = envelope["header"]
        sender_uri = head.get("sender_uri")
        if not sender_uri:
            return Reply.json(dci.err(dci.ERR_SENDER_URI_INVALID, "sender_uri is required to subscribe"))
        correlation_id = dci.new_id()
        responses = []
        for item in envelope["message"]["subscribe_request"]:
            criteria = item.get("subscribe_criteria") or {}
            code = "SUB-" + secrets.token_hex(6)
            with self._lock:
                self.subscriptions[code] = {
                    "role": role,
                    "event_type": criteria.get("reg_event_type"),
                    "sender_uri": sender_uri,
                    "subscriber": head.get("sender_id"),
                    "peer": peer,
                }
            responses.append(
                {
                    "reference_id": item.get("reference_id"),
                    "timestamp": dci.timestamp(),
                    "status": "succ",
                    "subscriptions": [
                        {
                            "code": code,
                            "status": "subscribe",
                            "timestamp": dci.timestamp(),
                            "reg_event_type": criteria.get("reg_event_type"),
                        }
                    ],
                }
            )
        message = {
            "transaction_id": envelope["message"]["transaction_id"],
            "correlation_id": correlation_id,
            "subscribe_response": responses,
        }
        self._remember(message["transaction_id"], "subscribe", correlation_id)
        response_head = self._response_header(role, dci.ACTION_ON_SUBSCRIBE, head, count=len(responses))
        self._callback_later(sender_uri, self._signed(response_head, message, peer))
        return Reply.json(dci.ack(correlation_id))

    def _unsubscribe(self, role, envelope, peer, fault):
        message = envelope["message"]
        codes = message.get("subscription_codes")
        if not isinstance(codes, list) or not codes:
            return Reply.json(dci.err(dci.ERR_REQUEST_BAD, "subscription_codes required"))
        statuses = []
        with self._lock:
            for code in codes:
                known = self.subscriptions.pop(code, None)
                statuses.append({"code": code, "status": "unsubscribe" if known else "rjct"})
        correlation_id = dci.new_id()
        sender_uri = envelope["header"].get("sender_uri")
        if sender_uri:
            response = {
                "transaction_id": message.get("transaction_id"),
                "correlation_id": correlation_id,
                "timestamp": dci.timestamp(),
                "status": "succ",
                "subscription_status": statuses,
            }
            head = self._response_header(role, dci.ACTION_ON_UNSUBSCRIBE, envelope["header"], count=len(statuses))
            self._callback_later(sender_uri, self._signed(head, response, peer))
        return Reply.json(dci.ack(correlation_id))

    def push_event(self, role, event_type, person, deliver_now=True):
        """Send a notify event about ``person`` to every subscriber of ``event_type``.

        Returns the number of subscribers it was delivered to.
        """
        with self._lock:
            targets = [
                sub for sub in self.subscriptions.values() if sub["role"] == role and sub["event_type"] == event_type
            ]
        delivered = 0
        for subscription in targets:
            record = crvs_record(person, self.record_spelling)
            message = {
                "transaction_id": dci.new_id(),
                "notify_event": [
                    {
                        "reference_id": dci.new_id(),
                        "timestamp": dci.timestamp(),
                        "data": {
                            "version": dci.DCI_VERSION,
                            "reg_type": ROLES[role],
                            "reg_event_type": event_type,
                            "reg_record_type": dci.RECORD_TYPE_PERSON,
                            "reg_records": record,
                        },
                        "locale": "eng",
                    }
                ],
            }
            head = {
                "version": dci.DCI_VERSION,
                "message_id": dci.new_id(),
                "message_ts": dci.timestamp(),
                "action": dci.ACTION_NOTIFY,
                "sender_id": self.sender_id(role),
                "receiver_id": subscription["subscriber"],
                "total_count": 1,
                "is_msg_encrypted": False,
            }
            envelope = self._signed(head, message, subscription["peer"])
            if deliver_now:
                delivered += self._post_callback(subscription["sender_uri"], envelope)
            else:
                self._callback_later(subscription["sender_uri"], envelope)
                delivered += 1
        return delivered

    # transaction status

    def _remember(self, transaction_id, txn_type, correlation_id, items=()):
        """Keep what txn-status tells later: each item's reference_id and status, no records."""
        statuses = [
            {"reference_id": item["reference_id"], "timestamp": item["timestamp"], "status": item["status"]}
            for item in items
        ]
        with self._lock:
            self.transactions[transaction_id] = {
                "txn_type": txn_type,
                "correlation_id": correlation_id,
                "items": statuses,
            }
            if len(self.transactions) > REMEMBERED_TRANSACTIONS:
                del self.transactions[next(iter(self.transactions))]

    def _txn_status_message(self, envelope):
        """The spec's TxnStatusResponse: txn_status holds the transaction's search_response statuses."""
        request = envelope["message"].get("txnstatus_request") or {}
        asked = request.get("attribute_value")
        with self._lock:
            known = self.transactions.get(asked) if request.get("attribute_type") == "transaction_id" else None
        if known:
            txn_status = {
                "transaction_id": asked,
                "correlation_id": known["correlation_id"],
                "search_response": known["items"],
            }
        else:
            txn_status = {
                "transaction_id": str(asked)[:99],
                "correlation_id": dci.new_id(),
                "search_response": [
                    {
                        "reference_id": request.get("reference_id") or dci.new_id(),
                        "timestamp": dci.timestamp(),
                        "status": dci.STATUS_REJECTED,
                        "status_reason_code": dci.RJCT_REFERENCE_ID_INVALID,
                    }
                ],
            }
        return {
            "transaction_id": envelope["message"].get("transaction_id"),
            "correlation_id": dci.new_id(),
            "txnstatus_response": {
                "txn_type": known["txn_type"] if known else request.get("txn_type", "search"),
                "txn_status": txn_status,
            },
        }

    def _sync_txn_status(self, role, envelope, peer, fault):
        if role == "dr":
            return http_error(404, dci.ERR_NOT_FOUND, "the disability registry has no txn status")
        reason = self._validate_request(envelope, dci.ACTION_TXN_STATUS, None)
        head = self._response_header(
            role,
            dci.ACTION_TXN_ON_STATUS,
            envelope["header"],
            dci.STATUS_REJECTED if reason else dci.STATUS_SUCCESS,
            reason,
            1,
        )
        return self._reply_envelope(self._signed(head, self._txn_status_message(envelope), peer, fault), fault)

    def _async_txn_status(self, role, envelope, peer, fault):
        sender_uri = envelope["header"].get("sender_uri")
        if not sender_uri:
            return Reply.json(dci.err(dci.ERR_SENDER_URI_INVALID, "sender_uri is required"))
        head = self._response_header(role, dci.ACTION_TXN_ON_STATUS, envelope["header"], count=1)
        self._callback_later(sender_uri, self._signed(head, self._txn_status_message(envelope), peer))
        return Reply.json(dci.ack())

    # IBR and DR special searches

    def _special(self, role, envelope, peer, fault, action, criteria_key, list_key, status_key, answer):
        reason = self._validate_request(envelope, dci.ACTION_SEARCH, None)
        message = envelope["message"]
        criteria = message.get(criteria_key)
        items = []
        if not reason:
            try:
                if not isinstance(criteria, dict):
                    raise QueryError(f"{criteria_key} missing")
                query = criteria.get("query") or {}
                found = self._select(
                    role,
                    dci.QUERY_IDTYPE_VALUE,
                    {"type": query.get("identifier_type"), "value": query.get("identifier_value")},
                )
                items.append(
                    {
                        "reference_id": criteria.get("reference_id") or message["transaction_id"],
                        "timestamp": dci.timestamp(),
                        "status": dci.STATUS_SUCCESS,
                        status_key: answer(found),
                    }
                )
            except QueryError:
                reason = dci.RJCT_SEARCH_CRITERIA_INVALID
        head = self._response_header(
            role, action, envelope["header"], dci.STATUS_REJECTED if reason else dci.STATUS_SUCCESS, reason, len(items)
        )
        response = {
            "transaction_id": message.get("transaction_id") or "unknown",
            "correlation_id": dci.new_id(),
            list_key: items,
        }
        return self._reply_envelope(self._signed(head, response, peer, fault), fault)

    def _sync_enrolled(self, role, envelope, peer, fault):
        return self._special(
            role,
            envelope,
            peer,
            fault,
            dci.ACTION_ON_ENROLLED,
            "enrolled_criteria",
            "enrolled_response",
            "enrolled_status",
            lambda found: "yes" if found else "no",
        )

    def _sync_disabled(self, role, envelope, peer, fault):
        return self._special(
            role,
            envelope,
            peer,
            fault,
            dci.ACTION_ON_DISABLED,
            "disabled_criteria",
            "disabled_response",
            "disabled_status",
            lambda found: (
                "yes" if found and any(score >= 3 for score in found[0].disability["scores"].values()) else "no"
            ),
        )

    def _sync_disability_details(self, role, envelope, peer, fault):
        reason = self._validate_request(envelope, dci.ACTION_SEARCH, None)
        message = envelope["message"]
        criteria = message.get("disabled_criteria") if isinstance(message.get("disabled_criteria"), dict) else {}
        query = criteria.get("query") or {}
        items = []
        if not reason:
            try:
                found = self._select(
                    role,
                    dci.QUERY_IDTYPE_VALUE,
                    {"type": query.get("identifier_type"), "value": query.get("identifier_value")},
                )
            except QueryError:
                reason = dci.RJCT_SEARCH_CRITERIA_INVALID
            else:
                items.append(
                    {
                        "reference_id": message["transaction_id"],
                        "timestamp": dci.timestamp(),
                        "status": dci.STATUS_SUCCESS,
                        "locale": "eng",
                        "data": {
                            "version": dci.DCI_VERSION,
                            "reg_type": ROLES[role],
                            "reg_record_type": dci.RECORD_TYPE_PERSON,
                            "reg_records": [dr_record(person) for person in found[:1]],
                        },
                    }
                )
        head = self._response_header(
            role,
            dci.ACTION_ON_SEARCH,
            envelope["header"],
            dci.STATUS_REJECTED if reason else dci.STATUS_SUCCESS,
            reason,
            len(items),
        )
        response = {
            "transaction_id": message.get("transaction_id") or "unknown",
            "correlation_id": dci.new_id(),
            "search_response": items,
        }
        return self._reply_envelope(self._signed(head, response, peer, fault), fault)

    # callbacks

    def _callback_later(self, url, signed):
        def send():
            time.sleep(self.callback_delay)
            self._post_callback(url, signed)

        threading.Thread(target=send, name="dci-simulator-callback", daemon=True).start()

    def _post_callback(self, url, signed):
        try:
            response = httpx.post(url, json=signed.envelope, headers=signed.http_headers, timeout=10)
            ok = response.status_code == 200 and response.json().get("message", {}).get("ack_status") == dci.ACK
        except (httpx.HTTPError, ValueError) as error:
            _logger.warning("simulator callback to %s failed: %s", url, type(error).__name__)
            ok = False
        with self._lock:
            self.stats["callbacks_sent" if ok else "callbacks_failed"] += 1
        return int(ok)
