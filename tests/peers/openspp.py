"""Independent oracle: how an OpenSPP2 DCI server checks a request signature,
and how an OpenSPP2 registry signs its responses.

Written from OpenSPP/OpenSPP2 (spp_dci/services/signing.py DCISigner and
DCIVerifier, spp_dci/schemas/envelope.py, spp_dci_server/middleware/signature.py
verify_dci_signature, spp_dci_server/models/sender_registry.py,
spp_dci_server/routers/search.py, spp_dci/models/signing_key.py); shares no
code with spp_dci_client. See README.md beside this file for which rule comes
from where.

Deliberate deviation, RSA: OpenSPP2 cannot do RSA at all. DCISigner.sign calls
``private_key.sign(data)`` and DCIVerifier.verify calls
``public_key.verify(signature, data)`` with no padding and no hash, which is
the Ed25519 call shape; for an RSA key ``cryptography`` raises TypeError
(missing ``padding`` and ``algorithm``). The verifier swallows it and answers
"invalid" for every RSA-signed request; the search router swallows the
signer's error and sends its response with ``"signature": ""``. This oracle
verifies and signs RSA with PKCS#1 v1.5 + SHA-256 (what a fixed OpenSPP would
do, and the label "rs256" names), and ``sign_response(..., as_deployed=True)``
reproduces the unsigned RSA response a deployed OpenSPP2 sends.
"""

import base64
import hashlib
import json
import re
import time
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from pydantic import BaseModel, ConfigDict, Field, ValidationError

REGISTERED_ALGORITHMS = ("ed25519", "rs256")
CLOCK_SKEW = 60
SIGNATURE_VALIDITY = 300
SENDER_ID_CHARS = re.compile(r"^[A-Za-z0-9._-]+$")
_SIGNATURE_PARAM = re.compile(r'(\w+)="([^"]+)"|(\w+)=([^\s,]+)')


class PeerRejected(Exception):
    """The peer would refuse this message; ``reason`` says which rule failed."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class RequestStatus(StrEnum):
    RECEIVED = "rcvd"
    PENDING = "pdng"
    SUCCESS = "succ"
    REJECTED = "rjct"


class MessageHeader(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    version: str = "1.0.0"
    message_id: str
    message_ts: datetime
    action: str
    sender_id: str
    sender_uri: str | None = None
    receiver_id: str
    total_count: int = 0
    is_msg_encrypted: bool = False
    meta: dict | None = None


class CallbackHeader(MessageHeader):
    status: RequestStatus
    status_reason_code: str | None = None
    status_reason_message: str | None = Field(None, max_length=999)
    completed_count: int = 0


class Envelope(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    signature: str
    header: MessageHeader | CallbackHeader
    message: Any


@dataclass(frozen=True)
class VerifiedRequest:
    sender_id: str
    digest: str
    signing_string: str
    params: dict


@dataclass(frozen=True)
class AcceptedKey:
    kid: str
    algorithm: str
    public_key: Any


def digest(header, message):
    """base64(SHA-256) of the sorted, compact, ASCII-escaped {header, message}."""
    text = json.dumps({"header": header, "message": message}, sort_keys=True, separators=(",", ":"))
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def signing_string(created, expires, digest_b64):
    return f"(created): {created}\n(expires): {expires}\ndigest: {digest_b64}"


def parse_signature(signature):
    """The server's parse: quoted or bare key=value pairs, last one wins."""
    params = {}
    for quoted_key, quoted_value, bare_key, bare_value in _SIGNATURE_PARAM.findall(signature):
        if quoted_key:
            params[quoted_key] = quoted_value
        else:
            params[bare_key] = bare_value
    return params


def parse_envelope(body):
    """Parse a request body the way FastAPI hands it to the server's DCIEnvelope."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise PeerRejected(f"body is not JSON: {error}") from error
    try:
        return Envelope.model_validate(data)
    except ValidationError as error:
        raise PeerRejected(f"envelope does not match DCIEnvelope (HTTP 422): {error}") from error


def dumped_header(envelope):
    """The header the server digests: as its model dumps it, not as it was sent."""
    return envelope.header.model_dump(mode="json")


def load_public_key(key):
    if isinstance(key, (ed25519.Ed25519PublicKey, rsa.RSAPublicKey)):
        return key
    data = key.encode() if isinstance(key, str) else key
    try:
        return serialization.load_pem_public_key(data)
    except ValueError:
        if len(data) == 32:
            return ed25519.Ed25519PublicKey.from_public_bytes(data)
        raise


def load_private_key(key):
    if isinstance(key, (ed25519.Ed25519PrivateKey, rsa.RSAPrivateKey)):
        return key
    data = key.encode() if isinstance(key, str) else key
    return serialization.load_pem_private_key(data, password=None)


def _verify_bytes(public_key, signature, data):
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        public_key.verify(signature, data)
    elif isinstance(public_key, rsa.RSAPublicKey):
        public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    else:
        raise InvalidSignature("unsupported key type")


def _sign_bytes(private_key, data):
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return private_key.sign(data)
    return private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def verify_signature(signature, header, message, public_key, algorithm, now=None):
    """DCIVerifier.verify over an already-dumped header; returns the parsed params."""
    params = parse_signature(signature)
    for field in ("created", "expires", "signature", "algorithm"):
        if field not in params:
            raise PeerRejected(f"signature lacks {field}")
    if params["algorithm"] != algorithm:
        raise PeerRejected(f"algorithm {params['algorithm']!r} is not the registered {algorithm!r}")
    try:
        created = int(params["created"])
        expires = int(params["expires"])
    except ValueError as error:
        raise PeerRejected("created/expires are not integers") from error
    now = int(time.time()) if now is None else int(now)
    if now > expires:
        raise PeerRejected("signature expired")
    if created > now + CLOCK_SKEW:
        raise PeerRejected("signature created in the future beyond the 60 s skew")
    digest_b64 = digest(header, message)
    text = signing_string(created, expires, digest_b64)
    try:
        raw = base64.b64decode(params["signature"])
        _verify_bytes(load_public_key(public_key), raw, text.encode("utf-8"))
    except (InvalidSignature, ValueError, TypeError) as error:
        raise PeerRejected("signature does not verify") from error
    return params, digest_b64, text


def verify_request(body, public_key, algorithm, sender_id, now=None):
    """What verify_dci_signature does with a request from the sender registered as
    ``sender_id`` with ``public_key`` and ``algorithm`` ("ed25519" or "rs256")."""
    if algorithm not in REGISTERED_ALGORITHMS:
        raise ValueError(f"a sender registry algorithm is one of {REGISTERED_ALGORITHMS}, not {algorithm!r}")
    envelope = parse_envelope(body)
    if not envelope.header.sender_id:
        raise PeerRejected("err.request.missing_sender_id")
    if not envelope.signature or envelope.signature == "unsigned-stub":
        raise PeerRejected("err.signature.missing")
    if envelope.header.sender_id != sender_id:
        raise PeerRejected(f"err.sender.unknown: {envelope.header.sender_id!r}")
    params, digest_b64, text = verify_signature(
        envelope.signature, dumped_header(envelope), envelope.message, public_key, algorithm, now
    )
    return VerifiedRequest(sender_id=sender_id, digest=digest_b64, signing_string=text, params=params)


def kid_parts(signature):
    """kidId split as "<sender_id>|<key_id>|<algorithm>". The server never reads
    kidId (it finds the key by header.sender_id); this is the signer's format."""
    kid = parse_signature(signature).get("kidId", "")
    parts = kid.split("|")
    if len(parts) != 3 or not all(parts):
        raise PeerRejected(f"kidId {kid!r} is not <sender_id>|<key_id>|<algorithm>")
    return tuple(parts)


def sign(header, message, private_key, sender_id, key_id, algorithm, created=None):
    """DCISigner.sign: the signature string over an already-dumped header."""
    created = int(time.time()) if created is None else int(created)
    expires = created + SIGNATURE_VALIDITY
    text = signing_string(created, expires, digest(header, message))
    raw = _sign_bytes(load_private_key(private_key), text.encode("utf-8"))
    return (
        f'namespace="dci", kidId="{sender_id}|{key_id}|{algorithm}", algorithm="{algorithm}", '
        f'created="{created}", expires="{expires}", headers="(created) (expires) digest", '
        f'signature="{base64.b64encode(raw).decode("ascii")}"'
    )


def sign_response(
    header_fields,
    message,
    private_key,
    key_id,
    algorithm="ed25519",
    sender_id="openspp",
    created=None,
    as_deployed=False,
):
    """The envelope an OpenSPP2 registry puts on the wire (search.py).

    ``header_fields`` are the callback header fields the router sets explicitly
    (it always sets version, message_id, message_ts, action, sender_id,
    receiver_id, total_count, status, status_reason_code, status_reason_message,
    completed_count). The signature covers the header dumped with exclude_none
    (so is_msg_encrypted appears); the wire header is also exclude_unset (so it
    does not). ``as_deployed`` with an RSA key gives the unsigned response a
    deployed OpenSPP2 sends. Returns the wire JSON as a dict.
    """
    header = CallbackHeader(**header_fields)
    signed_header = header.model_dump(mode="json", exclude_none=True)
    if as_deployed and isinstance(load_private_key(private_key), rsa.RSAPrivateKey):
        signature = ""
    else:
        signature = sign(signed_header, message, private_key, sender_id, key_id, algorithm, created)
    envelope = Envelope(signature=signature, header=header, message=message)
    return envelope.model_dump(mode="json", exclude_unset=True, exclude_none=True)


def sign_callback(header, message, private_key, key_id, sender_id="openspp", created=None):
    """An async callback as OpenSPP2's transaction model sends it (on-search,
    on-subscribe, on-unsubscribe, txn-on-status): ``header`` is a plain dict
    (message_ts from ``datetime.now(UTC).isoformat()``, no completed_count, no
    is_msg_encrypted) signed exactly as sent, with the server key (Ed25519)."""
    signature = sign(header, message, private_key, sender_id, key_id, "ed25519", created)
    return {"signature": signature, "header": header, "message": message}


def verify_response(envelope, public_key, algorithm, now=None):
    """Accept an OpenSPP2 response or callback: async callbacks sign the header
    as sent; sync responses sign it as DCICallbackHeader dumps it with
    exclude_none, which the wire copy lacks. Tries both; returns the params."""
    if not isinstance(envelope, dict) or not envelope.get("signature"):
        raise PeerRejected("response is unsigned")
    header = envelope.get("header")
    message = envelope.get("message")
    try:
        params, _digest, _text = verify_signature(envelope["signature"], header, message, public_key, algorithm, now)
        return params
    except PeerRejected as error:
        if error.reason != "signature does not verify":
            raise
    try:
        rebuilt = CallbackHeader.model_validate(header).model_dump(mode="json", exclude_none=True)
    except ValidationError as error:
        raise PeerRejected(f"response header does not match DCICallbackHeader: {error}") from error
    params, _digest, _text = verify_signature(envelope["signature"], rebuilt, message, public_key, algorithm, now)
    return params


def _b64url_decode(value):
    return base64.urlsafe_b64decode(value + "=" * (4 - len(value) % 4))


def accept_jwks(jwks, sender_id):
    """What the sender registry's "Fetch public key" stores from a client's JWKS:
    the FIRST key whose kid starts with "<sender_id>|", algorithm from the kid's
    third part. Raises PeerRejected where the registry raises UserError or its
    write fails."""
    if not SENDER_ID_CHARS.match(sender_id or ""):
        raise PeerRejected("sender_id may hold only letters, digits, dots, hyphens and underscores")
    if not isinstance(jwks, dict) or "keys" not in jwks:
        raise PeerRejected("Invalid JWKS response: 'keys' field not found")
    match = next((key for key in jwks["keys"] if key.get("kid", "").startswith(f"{sender_id}|")), None)
    if match is None:
        raise PeerRejected(f"No matching key found in JWKS for sender {sender_id}")
    try:
        if match.get("kty") == "OKP" and match.get("crv") == "Ed25519":
            public_key = ed25519.Ed25519PublicKey.from_public_bytes(_b64url_decode(match["x"]))
        elif match.get("kty") == "RSA":
            n = int.from_bytes(_b64url_decode(match["n"]), "big")
            e = int.from_bytes(_b64url_decode(match["e"]), "big")
            public_key = rsa.RSAPublicNumbers(e, n).public_key()
        else:
            raise PeerRejected(f"Unsupported JWK key type: {match.get('kty')}")
    except (KeyError, ValueError) as error:
        raise PeerRejected(f"Failed to convert JWK to PEM: {error}") from error
    parts = match["kid"].split("|")
    algorithm = parts[2] if len(parts) >= 3 else None
    if algorithm not in REGISTERED_ALGORITHMS:
        raise PeerRejected(f"kid algorithm {algorithm!r} is not a registry selection value {REGISTERED_ALGORITHMS}")
    return AcceptedKey(kid=match["kid"], algorithm=algorithm, public_key=public_key)
