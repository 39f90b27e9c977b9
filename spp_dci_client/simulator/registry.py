"""The simulated DCI registries: CRVS, IBR and DR roles over one population.

``SimulatedRegistry.handle(method, path, headers, body)`` is framework-free:
the standalone server (server.py) and the demo's Odoo controller both call it.
Paths are ``/<role>/...`` with role crvs, ibr or dr, e.g.
``/crvs/registry/sync/search`` or ``/dr/oauth2/client/token``.
"""

import base64
import hashlib
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote

import httpx
from cryptography.hazmat.primitives.asymmetric import ed25519

from ..services import constants as C
from ..services import envelope as E
from ..services.errors import DCIError, DCISignatureError
from ..services.keys import kid_aliases
from ..services.signing import (
    PROFILE_CAVAGE,
    PROFILE_OPENG2P,
    PROFILE_OPENSPP,
    OpenG2PProfile,
    SignedMessage,
    Signer,
    generate_private_key,
    get_profile,
    public_jwk,
    public_key_from_jwk,
    public_key_to_pem,
    pydantic_datetime,
)
from ..services.transport import DEFAULT_CODES
from .faults import FaultPlan
from .population import Population
from .records import QueryError, crvs_record, dr_record, ibr_records, match_expression, match_predicate

_logger = logging.getLogger(__name__)

ROLES = {
    "crvs": C.REGISTRY_CIVIL,
    "ibr": C.REGISTRY_IBR,
    "dr": C.REGISTRY_DR,
}
MAX_BODY = 10 * 1024 * 1024
MAX_ITEMS = 1000

PEER_SPEC = "spec"
PEER_OPENSPP = "openspp"
PEER_OPENG2P = "openg2p"
PEER_PROFILES = {PEER_SPEC: PROFILE_CAVAGE, PEER_OPENSPP: PROFILE_OPENSPP, PEER_OPENG2P: PROFILE_OPENG2P}
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


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict = field(default_factory=lambda: {"Content-Type": "application/json"})
    drop: bool = False

    @classmethod
    def json(cls, data, status=200):
        return cls(status, json.dumps(data, separators=(",", ":")).encode())


def http_error(status, code, message):
    return Reply.json({"errors": [{"code": code, "message": message}]}, status)


class SimulatedRegistry:
    """An in-memory DCI registry with OAuth2, signatures, callbacks and fault injection.

    :param clients: {client_id: client_secret}; when given, every registry
        call needs a bearer token from /<role>/oauth2/client/token
    :param client_keys: callable kid -> public key (or None), or a dict, used
        to check the signatures of incoming requests
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

    def __init__(self, population=None, *, clients=None, token_lifetime=3600, client_keys=None,
                 client_jwks_url=None, require_signature=False, signing_key=None, rsa_signing_key=None,
                 peer=PEER_SPEC, openg2p_algorithms=OPENG2P_DEFAULT_ALGORITHMS, record_spelling="birth_date",
                 callback_delay=0.05, keep_requests=False, request_validator=None,
                 separate_deaths=True):
        self.population = population or Population()
        self.clients = dict(clients or {})
        self.token_lifetime = token_lifetime
        self.client_keys = client_keys
        self.client_jwks_url = client_jwks_url
        self.require_signature = require_signature
        key = signing_key or simulator_private_key()
        self.signer = Signer(key, public_jwk(key.public_key())["kid"])
        rsa_key = rsa_signing_key or simulator_rsa_private_key()
        self.rsa_signer = Signer(rsa_key, public_jwk(rsa_key.public_key())["kid"])
        if peer not in PEER_PROFILES:
            raise ValueError(f"unknown peer {peer!r}: one of {sorted(PEER_PROFILES)}")
        self.peer = peer
        self.openg2p_algorithms = tuple(openg2p_algorithms)
        self.record_spelling = record_spelling
        self.separate_deaths = separate_deaths
        self.callback_delay = callback_delay
        self.faults = FaultPlan()
        self.keep_requests = keep_requests
        self.request_validator = request_validator
        self.received = []
        self.tokens = {}
        self.seen_message_ids = set()
        self.transactions = {}
        self.subscriptions = {}
        self.stats = {"token_requests": 0, "token_requests_in_query": 0, "requests": 0, "callbacks_sent": 0,
                      "callbacks_failed": 0}
        self._lock = threading.Lock()
        self._last_signed = {}
        self._jwks_cache = {}

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
            jwk["kid"] = get_profile(PROFILE_OPENSPP).key_id(self.sender_id(role), signer.kid, signer.algorithm)
        return {"keys": [jwk]}

    def sender_id(self, role):
        return f"{role}.simulator"

    # entry point

    def handle(self, method, path, headers, body, query=""):
        headers = {name.lower(): value for name, value in headers.items()}
        if path == "/_simulator/stats" and method == "GET":
            with self._lock:
                return Reply.json(dict(self.stats))
        parts = path.strip("/").split("/", 1)
        peer = self.peer
        if parts[0] in PEER_PROFILES and len(parts) > 1:
            peer = parts[0]
            parts = parts[1].split("/", 1)
        role = parts[0]
        rest = "/" + parts[1] if len(parts) > 1 else "/"
        if role not in ROLES:
            return http_error(404, C.ERR_NOT_FOUND, "unknown registry role")
        if rest == C.PATH_JWKS and method == "GET":
            return Reply.json(self.jwks(role, peer))
        if method != "POST":
            return http_error(405, C.ERR_REQUEST_BAD, "POST only")
        if len(body) > MAX_BODY:
            return http_error(413, C.ERR_REQUEST_BAD, "body too large")
        with self._lock:
            self.stats["requests"] += 1
        if self.keep_requests and rest != C.PATH_TOKEN:
            self._record(role, rest, body)
        fault = self.faults.take(rest)
        if rest == C.PATH_TOKEN:
            if query and not body:
                with self._lock:
                    self.stats["token_requests_in_query"] += 1
            return self._token(headers, body or query.encode(), fault)
        if fault and fault.kind in ("latency",):
            time.sleep(fault.params.get("seconds", 1))
            fault = None
        if fault and fault.kind == "status":
            status = fault.params["status"]
            reply = http_error(status, fault.params.get("code") or DEFAULT_CODES.get(status, C.ERR_SERVICE_UNAVAILABLE),
                               "injected fault")
            if fault.params.get("retry_after") is not None:
                reply.headers["Retry-After"] = str(fault.params["retry_after"])
            return reply
        if fault and fault.kind == "drop":
            return Reply(200, drop=True)
        if fault and fault.kind == "expire_tokens":
            self.tokens.clear()
            fault = None
        refusal = self._authorize(headers)
        if refusal:
            return refusal
        try:
            envelope = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return http_error(400, C.ERR_REQUEST_BAD, "body is not JSON")
        if not isinstance(envelope, dict) or not isinstance(envelope.get("header"), dict) \
                or not isinstance(envelope.get("message"), dict):
            return http_error(400, C.ERR_REQUEST_BAD, "not a DCI envelope")
        refusal = self._check_signature(envelope, headers.get("signature"), peer) \
            or self._check_schema(role, rest, envelope)
        if refusal:
            return refusal
        handler = {
            C.PATH_SYNC_SEARCH: self._sync_search,
            C.PATH_SEARCH: self._async_search,
            C.PATH_SUBSCRIBE: self._subscribe,
            C.PATH_UNSUBSCRIBE: self._unsubscribe,
            C.PATH_SYNC_TXN_STATUS: self._sync_txn_status,
            C.PATH_TXN_STATUS: self._async_txn_status,
            C.PATH_SYNC_ENROLLED: self._sync_enrolled,
            C.PATH_SYNC_DISABLED: self._sync_disabled,
            C.PATH_SYNC_DISABILITY_DETAILS: self._sync_disability_details,
        }.get(rest)
        if handler is None or (rest == C.PATH_SYNC_ENROLLED and role != "ibr") \
                or (rest in (C.PATH_SYNC_DISABLED, C.PATH_SYNC_DISABILITY_DETAILS) and role != "dr"):
            return http_error(404, C.ERR_NOT_FOUND, f"no endpoint {rest} for role {role}")
        return handler(role, envelope, peer, fault)

    def _record(self, role, path, body):
        try:
            envelope = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            envelope = None
        with self._lock:
            self.received.append((role, path, envelope))

    # authentication

    def _token(self, headers, body, fault):
        with self._lock:
            self.stats["token_requests"] += 1
        if fault and fault.kind == "status":
            return http_error(fault.params["status"], C.ERR_SERVICE_UNAVAILABLE, "token endpoint down")
        if fault and fault.kind == "drop":
            return Reply(200, drop=True)
        form = {key: values[0] for key, values in parse_qs(body.decode(errors="replace")).items()}
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        authorization = headers.get("authorization", "")
        if authorization.startswith("Basic "):
            try:
                pair = base64.b64decode(authorization[6:]).decode()
                client_id, client_secret = (unquote(part) for part in pair.split(":", 1))
            except ValueError:
                return Reply.json({"error": "invalid_client"}, 401)
        if form.get("grant_type") != "client_credentials":
            return Reply.json({"error": "unsupported_grant_type"}, 400)
        expected = self.clients.get(client_id)
        if expected is None or not secrets.compare_digest(expected, client_secret or "") \
                or (fault and fault.kind == "token_reject"):
            return Reply.json({"error": "invalid_client"}, 401)
        token = secrets.token_urlsafe(24)
        lifetime = fault.params.get("lifetime", self.token_lifetime) if fault and fault.kind == "lifetime" \
            else self.token_lifetime
        with self._lock:
            self.tokens[token] = time.time() + lifetime
        return Reply.json({"access_token": token, "token_type": "Bearer", "expires_in": str(lifetime)})

    def _authorize(self, headers):
        if not self.clients:
            return None
        authorization = headers.get("authorization", "")
        token = authorization[7:] if authorization.startswith("Bearer ") else None
        expires = self.tokens.get(token)
        if not expires or expires < time.time():
            return http_error(401, C.ERR_UNAUTHORIZED, "missing, invalid or expired token")
        return None

    def _check_signature(self, envelope, http_signature, peer):
        """Verify the request as the peer would; a present signature is always checked."""
        if not envelope.get("signature") and not http_signature:
            if self.require_signature:
                return http_error(401, C.ERR_SIGNATURE_MISSING, "the request must be signed")
            return None
        profile = OpenG2PProfile(self.openg2p_algorithms) if peer == PEER_OPENG2P \
            else get_profile(PEER_PROFILES[peer])
        try:
            profile.verify(envelope, self._client_key, http_signature=http_signature, is_response=False)
        except DCIError as error:
            return http_error(401, error.code or C.ERR_SIGNATURE_INVALID, "signature not accepted")
        return None

    def _check_schema(self, role, path, envelope):
        if not self.request_validator:
            return None
        try:
            errors = self.request_validator(role, path, envelope)
        except KeyError:
            return None
        if errors:
            return http_error(400, C.ERR_REQUEST_BAD, f"not valid against the spec: {errors[0][:300]}")
        return None

    def _client_key(self, kid):
        key = None
        if kid is None:
            raise DCISignatureError("the signature names no key", code=C.ERR_SIGNATURE_INVALID)
        if callable(self.client_keys):
            key = self.client_keys(kid)
        elif isinstance(self.client_keys, dict):
            key = self.client_keys.get(kid)
        if key is None and self.client_jwks_url:
            key = self._jwks_key(kid)
        if key is None:
            raise DCISignatureError(f"unknown kid {kid}", code=C.ERR_SIGNATURE_INVALID)
        return key

    def _jwks_key(self, kid):
        if kid not in self._jwks_cache:
            try:
                keys = httpx.get(self.client_jwks_url, timeout=5).json().get("keys", [])
            except (httpx.HTTPError, ValueError):
                return None
            for jwk in keys:
                try:
                    key = public_key_from_jwk(jwk)
                except DCIError:
                    continue
                for name in kid_aliases(jwk.get("kid") or public_jwk(key)["kid"]):
                    self._jwks_cache[name] = key
        return self._jwks_cache.get(kid)

    # envelopes

    def _response_header(self, role, action, request_header, status=C.STATUS_SUCCESS, reason=None, count=0):
        head = {
            "version": C.DCI_VERSION,
            "message_id": E.new_id(),
            "message_ts": E.timestamp(),
            "action": action,
            "status": status,
            "total_count": request_header.get("total_count", 1) if isinstance(
                request_header.get("total_count"), int) else 1,
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
        kind = fault.kind if fault else None
        if kind == "replay" and head["sender_id"] in self._last_signed:
            return self._last_signed[head["sender_id"]]
        if peer == PEER_OPENSPP:
            head["message_ts"] = pydantic_datetime(head["message_ts"])
        signed = self._sign(head, message, peer, kind)
        self._last_signed[head["sender_id"]] = signed
        return signed

    def _sign(self, head, message, peer, kind):
        if kind == "no_signature":
            return SignedMessage({"header": self._wire_header(head, peer), "message": message})
        signer = self.signer_for(peer)
        if kind == "unknown_kid":
            other = generate_private_key(signer.algorithm)
            signer = Signer(other, public_jwk(other.public_key())["kid"])
        now = time.time() - 3600 if kind == "expired_signature" else None
        signed = get_profile(PEER_PROFILES[peer]).sign_envelope(head, message, signer, head["sender_id"], now=now,
                                                                is_response=True)
        signed.envelope["header"] = self._wire_header(head, peer)
        if kind == "bad_signature":
            signed.envelope["message"] = dict(message, tampered=True)
        return signed

    @staticmethod
    def _wire_header(head, peer):
        """OpenSPP never sets is_msg_encrypted, so its wire header lacks it (the header it signs has it)."""
        if peer != PEER_OPENSPP:
            return head
        return {name: value for name, value in head.items() if name != "is_msg_encrypted"}

    def _reply_envelope(self, signed, fault):
        kind = fault.kind if fault else None
        envelope = signed.envelope
        if kind == "malformed_json":
            return Reply(200, b'{"header": {"status": "succ", ')
        if kind == "html":
            return Reply(200, b"<html><body><h1>502 Bad Gateway</h1></body></html>", {"Content-Type": "text/html"})
        if kind == "empty":
            return Reply(200, b"")
        if kind == "huge":
            padding = "x" * fault.params.get("bytes", 30 * 1024 * 1024)
            return Reply.json(dict(envelope, padding=padding))
        reply = Reply.json(envelope)
        reply.headers.update(signed.http_headers)
        return reply

    def _validate_request(self, envelope, action, list_key):
        """Header-level checks of the spec; returns a reason code or None."""
        head, message = envelope["header"], envelope["message"]
        if head.get("version") != C.DCI_VERSION:
            return "rjct.version.invalid"
        if head.get("action") != action:
            return "rjct.action.invalid"
        if not head.get("message_id") or not head.get("message_ts") or not head.get("sender_id"):
            return "rjct.message_id.duplicate" if not head.get("message_id") else "rjct.message_ts.invalid"
        with self._lock:
            if head["message_id"] in self.seen_message_ids:
                return "rjct.message_id.duplicate"
            self.seen_message_ids.add(head["message_id"])
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
        kind = fault.kind if fault else None
        if kind == "wrong_reference" and results:
            results[0]["reference_id"] = E.new_id()
        if kind == "item_rjct" and results:
            results[0].update(status=C.STATUS_REJECTED,
                              status_reason_code=fault.params.get("code", "rjct.search_criteria.invalid"))
            results[0].pop("data", None)
        return results

    def _search_item(self, role, item):
        reference_id = item.get("reference_id") if isinstance(item, dict) else None
        base = {"reference_id": reference_id or E.new_id(), "timestamp": E.timestamp(), "locale": "eng"}
        if not reference_id:
            return dict(base, status=C.STATUS_REJECTED, status_reason_code="rjct.reference_id.invalid")
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
            return dict(base, status=C.STATUS_REJECTED, status_reason_code=C.RJCT_SEARCH_CRITERIA_INVALID)
        page = persons[(number - 1) * size:number * size]
        data = {"version": C.DCI_VERSION, "reg_type": ROLES[role],
                "reg_record_type": criteria.get("reg_record_type") or "ns:org:RegistryRecordType:Person"}
        if role == "crvs":
            data["reg_records"] = [crvs_record(person, self.record_spelling) for person in page]
        elif role == "ibr":
            data["reg_records"] = [record for person in page for record in ibr_records(person)]
        else:
            data["reg_records"] = dr_record(page[0]) if page else {}
        return dict(base, status=C.STATUS_SUCCESS, data=data,
                    pagination={"page_size": size, "page_number": number, "total_count": len(persons)})

    def _select(self, role, query_type, query):
        population = self.population
        if query_type == C.QUERY_IDTYPE_VALUE:
            if not isinstance(query, dict) or not isinstance(query.get("type"), str):
                raise QueryError("idtype-value query needs type and value")
            person = population.find(query["type"], str(query.get("value")))
            candidates = [person] if person else []
        elif query_type == C.QUERY_PREDICATE:
            if not isinstance(query, list):
                raise QueryError("predicate must be a list")
            candidates = [person for person in population.persons if match_predicate(person, query)]
        elif query_type == C.QUERY_EXPRESSION:
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
        reason = self._validate_request(envelope, C.ACTION_SEARCH, "search_request")
        head = envelope["header"]
        if reason or (fault and fault.kind == "header_rjct"):
            reason = reason or fault.params.get("code", "rjct.action.not_supported")
            response_head = self._response_header(role, C.ACTION_ON_SEARCH, head, C.STATUS_REJECTED, reason)
            message = {"transaction_id": envelope["message"].get("transaction_id") or "unknown",
                       "correlation_id": E.new_id(), "search_response": []}
            return self._reply_envelope(self._signed(response_head, message, peer, fault), fault)
        results = self._search_results(role, envelope, fault)
        message = {"transaction_id": envelope["message"]["transaction_id"], "correlation_id": E.new_id(),
                   "search_response": results}
        self._remember(envelope["message"]["transaction_id"], "search", message["correlation_id"], results)
        response_head = self._response_header(role, C.ACTION_ON_SEARCH, head, count=len(results))
        return self._reply_envelope(self._signed(response_head, message, peer, fault), fault)

    def _async_search(self, role, envelope, peer, fault):
        reason = self._validate_request(envelope, C.ACTION_SEARCH, "search_request")
        if reason:
            return Reply.json(E.err(reason, "invalid request"))
        sender_uri = envelope["header"].get("sender_uri")
        if not sender_uri:
            return Reply.json(E.err("err.sender_uri.invalid", "sender_uri is required for async search"))
        correlation_id = E.new_id()
        results = self._search_results(role, envelope, fault)
        message = {"transaction_id": envelope["message"]["transaction_id"], "correlation_id": correlation_id,
                   "search_response": results}
        self._remember(message["transaction_id"], "search", correlation_id, results)
        head = self._response_header(role, C.ACTION_ON_SEARCH, envelope["header"], count=len(results))
        self._callback_later(sender_uri, self._signed(head, message, peer, fault))
        return Reply.json(E.ack(correlation_id))

    # subscriptions and notifications

    def _subscribe(self, role, envelope, peer, fault):
        reason = self._validate_request(envelope, C.ACTION_SUBSCRIBE, "subscribe_request")
        if reason:
            return Reply.json(E.err(reason, "invalid request"))
        head = envelope["header"]
        sender_uri = head.get("sender_uri")
        if not sender_uri:
            return Reply.json(E.err("err.sender_uri.invalid", "sender_uri is required to subscribe"))
        correlation_id = E.new_id()
        responses = []
        for item in envelope["message"]["subscribe_request"]:
            criteria = item.get("subscribe_criteria") or {}
            code = "SUB-" + secrets.token_hex(6)
            with self._lock:
                self.subscriptions[code] = {"role": role, "event_type": criteria.get("reg_event_type"),
                                            "sender_uri": sender_uri, "subscriber": head.get("sender_id"),
                                            "peer": peer}
            responses.append({"reference_id": item.get("reference_id"), "timestamp": E.timestamp(),
                              "status": "succ", "subscriptions": [
                                  {"code": code, "status": "subscribe", "timestamp": E.timestamp(),
                                   "reg_event_type": criteria.get("reg_event_type")}]})
        message = {"transaction_id": envelope["message"]["transaction_id"], "correlation_id": correlation_id,
                   "subscribe_response": responses}
        self._remember(message["transaction_id"], "subscribe", correlation_id)
        response_head = self._response_header(role, C.ACTION_ON_SUBSCRIBE, head, count=len(responses))
        self._callback_later(sender_uri, self._signed(response_head, message, peer))
        return Reply.json(E.ack(correlation_id))

    def _unsubscribe(self, role, envelope, peer, fault):
        message = envelope["message"]
        codes = message.get("subscription_codes")
        if not isinstance(codes, list) or not codes:
            return Reply.json(E.err(C.ERR_REQUEST_BAD, "subscription_codes required"))
        statuses = []
        with self._lock:
            for code in codes:
                known = self.subscriptions.pop(code, None)
                statuses.append({"code": code, "status": "unsubscribe" if known else "rjct"})
        correlation_id = E.new_id()
        sender_uri = envelope["header"].get("sender_uri")
        if sender_uri:
            response = {"transaction_id": message.get("transaction_id"), "correlation_id": correlation_id,
                        "timestamp": E.timestamp(), "status": "succ", "subscription_status": statuses}
            head = self._response_header(role, C.ACTION_ON_UNSUBSCRIBE, envelope["header"], count=len(statuses))
            self._callback_later(sender_uri, self._signed(head, response, peer))
        return Reply.json(E.ack(correlation_id))

    def push_event(self, role, event_type, person, deliver_now=True):
        """Send a notify event about ``person`` to every subscriber of ``event_type``.

        Returns the number of subscribers it was delivered to.
        """
        with self._lock:
            targets = [sub for sub in self.subscriptions.values()
                       if sub["role"] == role and sub["event_type"] == event_type]
        delivered = 0
        for subscription in targets:
            record = crvs_record(person, self.record_spelling)
            message = {"transaction_id": E.new_id(), "notify_event": [{
                "reference_id": E.new_id(), "timestamp": E.timestamp(),
                "data": {"version": C.DCI_VERSION, "reg_type": ROLES[role], "reg_event_type": event_type,
                         "reg_record_type": "ns:org:RegistryRecordType:Person", "reg_records": record},
                "locale": "eng"}]}
            head = {"version": C.DCI_VERSION, "message_id": E.new_id(), "message_ts": E.timestamp(),
                    "action": C.ACTION_NOTIFY, "sender_id": self.sender_id(role),
                    "receiver_id": subscription["subscriber"], "total_count": 1, "is_msg_encrypted": False}
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
        statuses = [{"reference_id": item["reference_id"], "timestamp": item["timestamp"], "status": item["status"]}
                    for item in items]
        with self._lock:
            self.transactions[transaction_id] = {"txn_type": txn_type, "correlation_id": correlation_id,
                                                 "items": statuses}

    def _txn_status_message(self, envelope):
        """The spec's TxnStatusResponse: txn_status holds the transaction's search_response statuses."""
        request = envelope["message"].get("txnstatus_request") or {}
        asked = request.get("attribute_value")
        with self._lock:
            known = self.transactions.get(asked) if request.get("attribute_type") == "transaction_id" else None
        if known:
            txn_status = {"transaction_id": asked, "correlation_id": known["correlation_id"],
                          "search_response": known["items"]}
        else:
            txn_status = {"transaction_id": str(asked)[:99], "correlation_id": E.new_id(), "search_response": [
                {"reference_id": request.get("reference_id") or E.new_id(), "timestamp": E.timestamp(),
                 "status": C.STATUS_REJECTED, "status_reason_code": C.RJCT_REFERENCE_ID_INVALID}]}
        return {"transaction_id": envelope["message"].get("transaction_id"), "correlation_id": E.new_id(),
                "txnstatus_response": {"txn_type": known["txn_type"] if known else request.get("txn_type", "search"),
                                       "txn_status": txn_status}}

    def _sync_txn_status(self, role, envelope, peer, fault):
        if role == "dr":
            return http_error(404, C.ERR_NOT_FOUND, "the disability registry has no txn status")
        reason = self._validate_request(envelope, C.ACTION_TXN_STATUS, None)
        head = self._response_header(role, C.ACTION_TXN_ON_STATUS, envelope["header"],
                                     C.STATUS_REJECTED if reason else C.STATUS_SUCCESS, reason, 1)
        return self._reply_envelope(self._signed(head, self._txn_status_message(envelope), peer, fault),
                                    fault)

    def _async_txn_status(self, role, envelope, peer, fault):
        sender_uri = envelope["header"].get("sender_uri")
        if not sender_uri:
            return Reply.json(E.err("err.sender_uri.invalid", "sender_uri is required"))
        head = self._response_header(role, C.ACTION_TXN_ON_STATUS, envelope["header"], count=1)
        self._callback_later(sender_uri, self._signed(head, self._txn_status_message(envelope), peer))
        return Reply.json(E.ack())

    # IBR and DR special searches

    def _special(self, role, envelope, peer, fault, action, criteria_key, list_key, status_key, answer):
        reason = self._validate_request(envelope, C.ACTION_SEARCH, None)
        message = envelope["message"]
        criteria = message.get(criteria_key)
        items = []
        if not reason:
            try:
                if not isinstance(criteria, dict):
                    raise QueryError(f"{criteria_key} missing")
                query = criteria.get("query") or {}
                found = self._select(role, C.QUERY_IDTYPE_VALUE, {
                    "type": query.get("identifier_type"), "value": query.get("identifier_value")})
                items.append({"reference_id": criteria.get("reference_id") or message["transaction_id"],
                              "timestamp": E.timestamp(), "status": C.STATUS_SUCCESS,
                              status_key: answer(found)})
            except QueryError:
                reason = C.RJCT_SEARCH_CRITERIA_INVALID
        head = self._response_header(role, action, envelope["header"],
                                     C.STATUS_REJECTED if reason else C.STATUS_SUCCESS, reason, len(items))
        response = {"transaction_id": message.get("transaction_id") or "unknown", "correlation_id": E.new_id(),
                    list_key: items}
        return self._reply_envelope(self._signed(head, response, peer, fault), fault)

    def _sync_enrolled(self, role, envelope, peer, fault):
        return self._special(role, envelope, peer, fault, "on-enrolled", "enrolled_criteria",
                             "enrolled_response", "enrolled_status",
                             lambda found: "yes" if found else "no")

    def _sync_disabled(self, role, envelope, peer, fault):
        return self._special(role, envelope, peer, fault, "on-disabled", "disabled_criteria",
                             "disabled_response", "disabled_status",
                             lambda found: "yes" if found and any(
                                 score >= 3 for score in found[0].disability["scores"].values()) else "no")

    def _sync_disability_details(self, role, envelope, peer, fault):
        reason = self._validate_request(envelope, C.ACTION_SEARCH, None)
        message = envelope["message"]
        criteria = message.get("disabled_criteria") if isinstance(message.get("disabled_criteria"), dict) else {}
        query = criteria.get("query") or {}
        items = []
        if not reason:
            try:
                found = self._select(role, C.QUERY_IDTYPE_VALUE, {"type": query.get("identifier_type"),
                                                                   "value": query.get("identifier_value")})
            except QueryError:
                reason = C.RJCT_SEARCH_CRITERIA_INVALID
            else:
                items.append({"reference_id": message["transaction_id"], "timestamp": E.timestamp(),
                              "status": C.STATUS_SUCCESS, "locale": "eng",
                              "data": {"version": C.DCI_VERSION, "reg_type": ROLES[role],
                                       "reg_record_type": "ns:org:RegistryRecordType:Person",
                                       "reg_records": [dr_record(person) for person in found[:1]]}})
        head = self._response_header(role, C.ACTION_ON_SEARCH, envelope["header"],
                                     C.STATUS_REJECTED if reason else C.STATUS_SUCCESS, reason, len(items))
        response = {"transaction_id": message.get("transaction_id") or "unknown", "correlation_id": E.new_id(),
                    "search_response": items}
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
            ok = response.status_code == 200 and response.json().get("message", {}).get("ack_status") == C.ACK
        except (httpx.HTTPError, ValueError) as error:
            _logger.warning("simulator callback to %s failed: %s", url, type(error).__name__)
            ok = False
        with self._lock:
            self.stats["callbacks_sent" if ok else "callbacks_failed"] += 1
        return int(ok)
