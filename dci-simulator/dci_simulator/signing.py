"""Registry-side signatures: keys and JWKs, signing responses and checking requests, for each peer.

- ``spec`` (the DCI spec's, draft-cavage style): the body's ``signature`` is
  ``namespace="dci", kidId="<sender>|<kid>|<alg>", algorithm, created, expires,
  headers="(created) (expires) digest", signature``, over the string
  ``"(created): c\\n(expires): e\\ndigest: d"`` where d is base64(SHA-256) of
  ``{"header", "message"}`` as JSON with sorted keys and no spaces. Labels
  ``ed25519`` and ``rsa-sha256``.
- ``openspp``: the same string, with labels ``ed25519`` and ``rs256``, over the
  header as OpenSPP's pydantic models dump it (see openspp_header).
- ``openg2p``: a detached JWS (``<protected>..<signature>``, alg RS256 or EdDSA,
  a kid, no iat/exp) in the HTTP ``Signature`` header, over the whole body
  re-serialized with sorted keys, compact, raw UTF-8.

RSA is PKCS#1 v1.5 with SHA-256. Key ids are RFC 7638 JWK thumbprints.
"""

import base64
import hashlib
import json
import math
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from .protocol import ERR_SIGNATURE_INVALID, ERR_SIGNATURE_MISSING

ED25519 = "ed25519"
RSA = "rsa"
SIGNATURE_LIFETIME = 300
CLOCK_SKEW = 60
MAX_SIGNATURE_LIFETIME = 600
MIN_RSA_BITS = 2048


class SignatureRejected(Exception):
    """A request signature the registry does not accept; ``code`` is the DCI error code."""

    def __init__(self, reason, code=ERR_SIGNATURE_INVALID):
        super().__init__(reason)
        self.code = code


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text):
    if not isinstance(text, str) or not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def generate_private_key(algorithm):
    if algorithm == RSA:
        return rsa.generate_private_key(public_exponent=65537, key_size=MIN_RSA_BITS)
    return ed25519.Ed25519PrivateKey.generate()


def key_algorithm(public_key):
    return RSA if isinstance(public_key, rsa.RSAPublicKey) else ED25519


def _checked(public_key):
    if isinstance(public_key, rsa.RSAPublicKey):
        if public_key.key_size < MIN_RSA_BITS:
            raise ValueError(f"RSA keys need at least {MIN_RSA_BITS} bits")
    elif not isinstance(public_key, ed25519.Ed25519PublicKey):
        raise ValueError("only Ed25519 and RSA keys are supported")
    return public_key


def load_public_key(pem):
    """An Ed25519 or RSA public key from PEM; ValueError otherwise."""
    return _checked(serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem))


def public_key_to_pem(public_key):
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def jwk_thumbprint(jwk):
    """RFC 7638: SHA-256 over the required members, sorted, without spaces."""
    required = ("e", "kty", "n") if jwk.get("kty") == "RSA" else ("crv", "kty", "x")
    members = {name: jwk[name] for name in required}
    return b64url(hashlib.sha256(json.dumps(members, sort_keys=True, separators=(",", ":")).encode()).digest())


def public_jwk(public_key):
    """The public JWK of a key, with its thumbprint as kid."""
    if isinstance(public_key, rsa.RSAPublicKey):
        numbers = public_key.public_numbers()
        jwk = {
            "kty": "RSA",
            "n": b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
            "e": b64url(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")),
            "alg": "RS256",
            "use": "sig",
        }
    else:
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw), "alg": "EdDSA", "use": "sig"}
    jwk["kid"] = jwk_thumbprint(jwk)
    return jwk


def public_key_from_jwk(jwk):
    """A public key from a JWK; ValueError when it is not an Ed25519 or RSA key."""
    try:
        if jwk.get("kty") == "RSA":
            numbers = rsa.RSAPublicNumbers(
                int.from_bytes(b64url_decode(jwk["e"]), "big"), int.from_bytes(b64url_decode(jwk["n"]), "big")
            )
            return _checked(numbers.public_key())
        if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
            return ed25519.Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))
    except (KeyError, TypeError, AttributeError) as error:
        raise ValueError("malformed JWK") from error
    raise ValueError("only Ed25519 and RSA keys are supported")


def kid_names(kid):
    """The names a kid is known by: itself and, for an OpenSPP kid <sender>|<key>|<alg>, its key part."""
    parts = kid.split("|")
    return {kid, parts[1]} if len(parts) == 3 and parts[1] else {kid}


def _sign_bytes(private_key, data):
    if isinstance(private_key, rsa.RSAPrivateKey):
        return private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return private_key.sign(data)


def _verify_bytes(public_key, signature, data):
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            public_key.verify(signature, data)
    except InvalidSignature as error:
        raise SignatureRejected("the signature does not match the message") from error


@dataclass(frozen=True)
class Signer:
    """A private key with the kid it is published under."""

    private_key: object
    kid: str

    @classmethod
    def of(cls, private_key):
        return cls(private_key, public_jwk(private_key.public_key())["kid"])

    @property
    def algorithm(self):
        return key_algorithm(self.private_key.public_key())


@dataclass(frozen=True)
class SignedMessage:
    """A signed envelope as it goes on the wire: the body and the extra HTTP headers."""

    envelope: dict
    http_headers: dict = field(default_factory=dict)


def pydantic_datetime(value):
    """An ISO 8601 timestamp as pydantic 2 writes it back: microseconds only when not zero, UTC as Z."""
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError) as error:
        raise SignatureRejected("message_ts is not an ISO 8601 timestamp") from error
    text = f"{moment:%Y-%m-%dT%H:%M:%S}"
    if moment.microsecond:
        text += f".{moment.microsecond:06d}"
    offset = moment.utcoffset()
    if offset is None:
        return text
    if not offset:
        return text + "Z"
    sign = "-" if offset < timedelta(0) else "+"
    minutes, seconds = divmod(abs(int(offset.total_seconds())), 60)
    text += f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    return text + (f":{seconds:02d}" if seconds else "")


_REQUIRED = object()
# OpenSPP's DCIMessageHeader and DCICallbackHeader: field -> default.
OPENSPP_REQUEST_HEADER = {
    "version": "1.0.0",
    "message_id": _REQUIRED,
    "message_ts": _REQUIRED,
    "action": _REQUIRED,
    "sender_id": _REQUIRED,
    "sender_uri": None,
    "receiver_id": _REQUIRED,
    "total_count": 0,
    "is_msg_encrypted": False,
    "meta": None,
}
OPENSPP_CALLBACK_HEADER = {
    **OPENSPP_REQUEST_HEADER,
    "status": _REQUIRED,
    "status_reason_code": None,
    "status_reason_message": None,
    "completed_count": 0,
}


def openspp_header(header, is_response):
    """The header as OpenSPP digests it: its pydantic model's ``model_dump(mode="json")``.

    Fields the model lacks are dropped, absent optional ones become null,
    defaults are filled and message_ts is written back by pydantic. Requests
    are the DCIMessageHeader dumped whole; responses with a status are the
    DCICallbackHeader dumped with exclude_none.
    """
    if not isinstance(header, dict):
        raise SignatureRejected("the header is not an object")
    model = OPENSPP_CALLBACK_HEADER if is_response and "status" in header else OPENSPP_REQUEST_HEADER
    dumped = {}
    for name, default in model.items():
        if name not in header and default is _REQUIRED:
            raise SignatureRejected(f"the header lacks {name}, which OpenSPP requires")
        dumped[name] = header.get(name, default)
    dumped["message_ts"] = pydantic_datetime(dumped["message_ts"])
    if is_response:
        dumped = {name: value for name, value in dumped.items() if value is not None}
    return dumped


def _check_validity(created, expires, now):
    if expires <= created or expires - created > MAX_SIGNATURE_LIFETIME:
        raise SignatureRejected("the signature's validity period is empty or too long")
    if created > now + CLOCK_SKEW or expires < now - CLOCK_SKEW:
        raise SignatureRejected("the signature is not valid now")


class CavageProfile:
    """The spec's signature string in the body, over the header as sent."""

    labels = {ED25519: "ed25519", RSA: "rsa-sha256"}
    _param = re.compile(r'\s*([a-zA-Z]+)="([^"]*)"\s*(?:,|$)')

    def signed_header(self, header, is_response):
        return header

    @staticmethod
    def signing_string(created, expires, header, message):
        canonical = json.dumps({"header": header, "message": message}, sort_keys=True, separators=(",", ":"))
        digest = base64.b64encode(hashlib.sha256(canonical.encode()).digest()).decode()
        return f"(created): {created}\n(expires): {expires}\ndigest: {digest}".encode()

    def sign_response(self, header, message, signer, sender_id, now=None):
        created = int(now if now is not None else time.time())
        expires = created + SIGNATURE_LIFETIME
        data = self.signing_string(created, expires, self.signed_header(header, True), message)
        label = self.labels[signer.algorithm]
        signature = (
            f'namespace="dci", kidId="{sender_id}|{signer.kid}|{label}", algorithm="{label}", '
            f'created="{created}", expires="{expires}", headers="(created) (expires) digest", '
            f'signature="{base64.b64encode(_sign_bytes(signer.private_key, data)).decode()}"'
        )
        return SignedMessage({"header": header, "message": message, "signature": signature})

    def _parse(self, signature):
        params, position = {}, 0
        while position < len(signature):
            match = self._param.match(signature, position)
            if not match or match.end() == position:
                raise SignatureRejected("malformed signature")
            params[match.group(1)] = match.group(2)
            position = match.end()
        if params.get("headers") != "(created) (expires) digest" or params.get("namespace") != "dci":
            raise SignatureRejected("malformed signature")
        try:
            sender_id, kid, label = params["kidId"].split("|")
            created, expires = int(params["created"]), int(params["expires"])
            raw = base64.b64decode(params["signature"], validate=True)
        except (KeyError, ValueError) as error:
            raise SignatureRejected("malformed signature") from error
        if label != params.get("algorithm") or label not in self.labels.values():
            raise SignatureRejected("malformed signature or unknown algorithm")
        return sender_id, kid, label, created, expires, raw

    def verify_request(self, envelope, http_signature, resolve_key, now=None):
        """Check the body's signature; ``resolve_key(kid)`` returns the key or raises SignatureRejected."""
        if http_signature:
            raise SignatureRejected("a Signature HTTP header, where this registry reads the body's signature")
        signature = envelope.get("signature")
        if not signature:
            raise SignatureRejected("the request is not signed", ERR_SIGNATURE_MISSING)
        if not isinstance(signature, str):
            raise SignatureRejected("malformed signature")
        sender_id, kid, label, created, expires, raw = self._parse(signature)
        _check_validity(created, expires, now if now is not None else time.time())
        try:
            public_key = resolve_key(kid)
        except SignatureRejected:
            public_key = resolve_key(f"{sender_id}|{kid}|{label}")
        if self.labels[key_algorithm(public_key)] != label:
            raise SignatureRejected(f"the algorithm {label} does not match the key")
        header = self.signed_header(envelope.get("header"), False)
        _verify_bytes(public_key, raw, self.signing_string(created, expires, header, envelope.get("message")))


class OpenSPPProfile(CavageProfile):
    """The signature string as OpenSPP's DCI server computes it."""

    labels = {ED25519: "ed25519", RSA: "rs256"}

    def signed_header(self, header, is_response):
        return openspp_header(header, is_response)


def _finite_number(text):
    number = float(text)
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    return number


class OpenG2PProfile:
    """A detached JWS in the HTTP Signature header over the whole body, as OpenG2P checks it."""

    jws_algorithms = {ED25519: "EdDSA", RSA: "RS256"}

    def __init__(self, allowed_algorithms=("RS256",)):
        self.allowed_algorithms = tuple(allowed_algorithms)

    @staticmethod
    def payload(body):
        return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    def sign_response(self, header, message, signer, sender_id, now=None):
        protected = {"alg": self.jws_algorithms[signer.algorithm], "kid": signer.kid}
        protected_b64 = b64url(json.dumps(protected, sort_keys=True, separators=(",", ":")).encode())
        body = {"header": header, "message": message}
        signature = _sign_bytes(signer.private_key, f"{protected_b64}.{b64url(self.payload(body))}".encode())
        return SignedMessage(body, {"Signature": f"{protected_b64}..{b64url(signature)}"})

    def verify_request(self, envelope, http_signature, resolve_key, now=None):
        if envelope.get("signature") not in (None, ""):
            raise SignatureRejected("a signature in the body, where this registry reads the Signature header")
        if not http_signature:
            raise SignatureRejected("the request is not signed", ERR_SIGNATURE_MISSING)
        try:
            protected_b64, payload, signature_b64 = http_signature.strip().split(".")
            protected = json.loads(
                b64url_decode(protected_b64), parse_float=_finite_number, parse_constant=_finite_number
            )
            raw = b64url_decode(signature_b64)
        except (ValueError, TypeError) as error:
            raise SignatureRejected("malformed JWS") from error
        if payload or not isinstance(protected, dict) or "crit" in protected or "b64" in protected:
            raise SignatureRejected("malformed JWS")
        alg, kid = protected.get("alg"), protected.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise SignatureRejected("malformed JWS")
        if alg not in self.jws_algorithms.values() or alg not in self.allowed_algorithms:
            raise SignatureRejected(f"the JWS algorithm {str(alg)[:20]} is not accepted")
        public_key = resolve_key(kid)
        if self.jws_algorithms[key_algorithm(public_key)] != alg:
            raise SignatureRejected(f"the algorithm {alg} does not match the key")
        _verify_bytes(public_key, raw, f"{protected_b64}.{b64url(self.payload(envelope))}".encode())
