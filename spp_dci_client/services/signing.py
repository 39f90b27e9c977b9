"""Message signatures: keys, JWKs and the signature profiles.

The DCI spec names a signature string but not the canonical form, digest or
signed string, and the peers differ, so the profile is chosen per data source
after the registry it talks to:

- ``dci_cavage`` (the spec's): the draft-cavage string in the body's
  ``signature``, digest = base64(SHA-256(json.dumps({"header": h, "message":
  m}, sort_keys=True, separators=(",", ":")))) over the header as sent, signed
  string ``"(created): c\\n(expires): e\\ndigest: d"``, algorithm labels
  ``ed25519`` and ``rsa-sha256``, valid for 300 s.
- ``openspp``: the same string, computed as OpenSPP's DCI server does: over the
  header as its pydantic model dumps it (see openspp_header), labels
  ``ed25519`` and ``rs256``.
- ``openg2p``: a detached JWS (RFC 7515 appendix F) in the HTTP ``Signature``
  header over the whole body, re-serialized with sorted keys, compact, raw
  UTF-8 (as orjson does), RS256 or EdDSA, no iat/exp.

RSA is PKCS#1 v1.5 with SHA-256 everywhere. Our key ids are RFC 7638 JWK
thumbprints; OpenSPP names keys ``<sender_id>|<key_id>|<alg>``.
"""

import base64
import functools
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

from . import constants as C
from .constants import ALGORITHM_ED25519, ALGORITHM_RSA, PROFILE_CAVAGE, PROFILE_OPENG2P, PROFILE_OPENSPP
from .errors import DCIConfigurationError, DCISignatureError, _lt

SIGNATURE_LIFETIME = 300
CLOCK_SKEW = 60
# A message is remembered (replay guard) for as long as its signature is
# valid: a longer lifetime is refused rather than remembered for years.
MAX_SIGNATURE_LIFETIME = 600
MIN_RSA_BITS = 2048


def canonical_json(header, message):
    """The bytes every profile signs: {header, message}, keys sorted, no spaces."""
    return json.dumps({"header": header, "message": message}, sort_keys=True, separators=(",", ":")).encode()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text):
    if not isinstance(text, str) or not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def generate_private_key(algorithm, rsa_bits=MIN_RSA_BITS):
    if algorithm == ALGORITHM_ED25519:
        return ed25519.Ed25519PrivateKey.generate()
    if algorithm == ALGORITHM_RSA:
        if rsa_bits < MIN_RSA_BITS:
            raise DCIConfigurationError(_lt("RSA keys must have at least %s bits.", MIN_RSA_BITS))
        return rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
    raise DCIConfigurationError(_lt("Unknown signing algorithm %r.", algorithm))


def private_key_to_pem(private_key):
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_key_to_pem(public_key):
    return public_key.public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo,
    ).decode()


def load_private_key(pem):
    key = serialization.load_pem_private_key(pem.encode() if isinstance(pem, str) else pem, password=None)
    _check_key_type(key.public_key())
    return key


def load_public_key(pem):
    """A public key from PEM; raises DCIConfigurationError naming the problem."""
    try:
        key = serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    except ValueError as error:
        raise DCIConfigurationError(_lt("The registry public key is not a valid PEM public key.")) from error
    _check_key_type(key)
    return key


def _check_key_type(public_key):
    if isinstance(public_key, rsa.RSAPublicKey):
        if public_key.key_size < MIN_RSA_BITS:
            raise DCIConfigurationError(_lt("RSA keys must have at least %s bits.", MIN_RSA_BITS))
    elif not isinstance(public_key, ed25519.Ed25519PublicKey):
        raise DCIConfigurationError(_lt("Only Ed25519 and RSA keys are supported."))


def key_algorithm(public_key):
    return ALGORITHM_RSA if isinstance(public_key, rsa.RSAPublicKey) else ALGORITHM_ED25519


def public_jwk(public_key):
    """The public JWK of a key, with its RFC 7638 thumbprint as kid."""
    if isinstance(public_key, rsa.RSAPublicKey):
        numbers = public_key.public_numbers()
        jwk = {
            "kty": "RSA",
            "n": b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
            "e": b64url(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")),
        }
        jwk.update(alg="RS256", use="sig")
    else:
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw), "alg": "EdDSA", "use": "sig"}
    jwk["kid"] = jwk_thumbprint(jwk)
    return jwk


def jwk_thumbprint(jwk):
    """RFC 7638: SHA-256 over the required members, sorted, without spaces."""
    required = ("e", "kty", "n") if jwk.get("kty") == "RSA" else ("crv", "kty", "x")
    try:
        members = {name: jwk[name] for name in required}
    except KeyError as error:
        raise DCIConfigurationError(_lt("The JWK lacks the member %s.", error.args[0])) from error
    return b64url(hashlib.sha256(json.dumps(members, sort_keys=True, separators=(",", ":")).encode()).digest())


def public_key_from_jwk(jwk):
    """A public key from a JWK; raises DCIConfigurationError when it is not usable."""
    try:
        if jwk.get("kty") == "RSA":
            n = int.from_bytes(b64url_decode(jwk["n"]), "big")
            e = int.from_bytes(b64url_decode(jwk["e"]), "big")
            key = rsa.RSAPublicNumbers(e, n).public_key()
        elif jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
            key = ed25519.Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))
        else:
            raise DCIConfigurationError(_lt("Only Ed25519 and RSA keys are supported."))
    except (KeyError, ValueError, TypeError, AttributeError) as error:
        raise DCIConfigurationError(_lt("A key in the registry's JWKS is malformed.")) from error
    _check_key_type(key)
    return key


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
        raise DCISignatureError(
            _lt("The message signature does not match its content."), code=C.ERR_SIGNATURE_INVALID
        ) from error


@dataclass(frozen=True)
class Signer:
    """A private key ready to sign, with the kid the peers know it by."""

    private_key: object
    kid: str

    @classmethod
    def from_pem(cls, pem):
        private_key = load_private_key(pem)
        return cls(private_key, public_jwk(private_key.public_key())["kid"])

    @functools.cached_property
    def algorithm(self):
        return key_algorithm(self.private_key.public_key())


@dataclass(frozen=True)
class SignedMessage:
    """A signed message as it goes on the wire: the body and the extra HTTP headers."""

    envelope: dict
    http_headers: dict = field(default_factory=dict)


@dataclass(frozen=True)
class VerifiedSignature:
    kid: str
    created: int | None = None
    expires: int | None = None


def _malformed():
    return DCISignatureError(_lt("The message signature is malformed."), code=C.ERR_SIGNATURE_INVALID)


def _check_validity(created, expires, now):
    if expires <= created:
        raise DCISignatureError(_lt("The signature's validity period is empty."), code=C.ERR_SIGNATURE_INVALID)
    if expires - created > MAX_SIGNATURE_LIFETIME:
        raise DCISignatureError(
            _lt("The signature claims a validity period longer than %s seconds.", MAX_SIGNATURE_LIFETIME),
            code=C.ERR_SIGNATURE_INVALID,
        )
    if created > now + CLOCK_SKEW:
        raise DCISignatureError(_lt("The signature was created in the future."), code=C.ERR_SIGNATURE_INVALID)
    if expires < now - CLOCK_SKEW:
        raise DCISignatureError(_lt("The signature has expired."), code=C.ERR_SIGNATURE_INVALID)


def _wrong_algorithm(algorithm, kid):
    return DCISignatureError(
        _lt("The signature algorithm %(algorithm)s does not match the key %(kid)s.", algorithm=algorithm, kid=kid),
        code=C.ERR_SIGNATURE_INVALID,
    )


def _resolve_first(resolve_key, kids):
    """The key of the first kid the resolver knows; the first refusal when it knows none."""
    refusal = None
    for kid in kids:
        try:
            return kid, resolve_key(kid)
        except DCISignatureError as error:
            refusal = refusal or error
    raise refusal


def _body_signature(envelope):
    """The body's ``signature``: None when absent or empty, a string, or a malformed-signature error."""
    signature = envelope.get("signature") if isinstance(envelope, dict) else None
    if signature in (None, ""):
        return None
    if not isinstance(signature, str):
        raise _malformed()
    return signature


def _missing():
    return DCISignatureError(_lt("The message is not signed."), code=C.ERR_SIGNATURE_MISSING)


_REQUIRED = object()
_OPENSPP_HEADER = {
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
_OPENSPP_CALLBACK_HEADER = {
    **_OPENSPP_HEADER,
    "status": _REQUIRED,
    "status_reason_code": None,
    "status_reason_message": None,
    "completed_count": 0,
}


def pydantic_datetime(value):
    """An ISO 8601 timestamp as pydantic 2 writes it back: microseconds only when not zero, UTC as Z."""
    if not isinstance(value, str):
        raise _malformed()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise _malformed() from error
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


def openspp_header(header, is_response=False):
    """The header as OpenSPP's DCI server digests it, in plain Python.

    OpenSPP parses the header into its pydantic model and digests
    ``model_dump(mode="json")``: fields the model lacks are dropped, absent
    optional ones become null, defaults are filled and message_ts is written
    back by pydantic. Requests are its DCIMessageHeader dumped whole; its
    responses and callbacks are signed as the DCICallbackHeader (when there is
    a status) dumped with exclude_none.
    """
    if not isinstance(header, dict):
        raise _malformed()
    model = _OPENSPP_CALLBACK_HEADER if is_response and "status" in header else _OPENSPP_HEADER
    dumped = {}
    for name, default in model.items():
        if name in header:
            dumped[name] = header[name]
        elif default is _REQUIRED:
            raise DCISignatureError(
                _lt("The message header lacks %s, which OpenSPP requires.", name), code=C.ERR_SIGNATURE_INVALID
            )
        else:
            dumped[name] = default
    dumped["message_ts"] = pydantic_datetime(dumped["message_ts"])
    if is_response:
        dumped = {name: value for name, value in dumped.items() if value is not None}
    return dumped


class CavageProfile:
    """The spec's signature string in the body, over the header as sent."""

    name = PROFILE_CAVAGE
    algorithm_labels = {ALGORITHM_ED25519: "ed25519", ALGORITHM_RSA: "rsa-sha256"}
    _param = re.compile(r'\s*([a-zA-Z]+)="([^"]*)"\s*(?:,|$)')

    @staticmethod
    def digest(header, message):
        return base64.b64encode(hashlib.sha256(canonical_json(header, message)).digest()).decode()

    @staticmethod
    def signing_string(created, expires, digest):
        return f"(created): {created}\n(expires): {expires}\ndigest: {digest}"

    def signed_header(self, header, is_response):
        """The header the digest covers when we sign."""
        return header

    def verified_headers(self, header, is_response):
        """The forms of the header a valid signature may cover, tried in turn."""
        yield header

    def key_id(self, sender_id, kid, algorithm):
        """The kidId naming our key: ``<sender_id>|<thumbprint>|<algorithm label>``."""
        return f"{sender_id}|{kid}|{self.algorithm_labels[algorithm]}"

    def sign(self, header, message, signer, sender_id, now=None, is_response=False):
        """The signature string of {header, message}."""
        created = int(now if now is not None else time.time())
        expires = created + SIGNATURE_LIFETIME
        digest = self.digest(self.signed_header(header, is_response), message)
        signature = _sign_bytes(signer.private_key, self.signing_string(created, expires, digest).encode())
        algorithm = self.algorithm_labels[signer.algorithm]
        kid_id = self.key_id(sender_id, signer.kid, signer.algorithm)
        return (
            f'namespace="dci", kidId="{kid_id}", algorithm="{algorithm}", '
            f'created="{created}", expires="{expires}", headers="(created) (expires) digest", '
            f'signature="{base64.b64encode(signature).decode()}"'
        )

    def sign_envelope(self, header, message, signer, sender_id, now=None, is_response=False):
        signature = self.sign(header, message, signer, sender_id, now=now, is_response=is_response)
        return SignedMessage({"header": header, "message": message, "signature": signature})

    def parse(self, signature):
        params, position = {}, 0
        while position < len(signature):
            match = self._param.match(signature, position)
            if not match or match.end() == position:
                raise _malformed()
            params[match.group(1)] = match.group(2)
            position = match.end()
        if params.get("headers") != "(created) (expires) digest" or params.get("namespace") != "dci":
            raise _malformed()
        try:
            sender_id, kid, algorithm = params["kidId"].split("|")
            created, expires = int(params["created"]), int(params["expires"])
            raw = base64.b64decode(params["signature"], validate=True)
        except (KeyError, ValueError) as error:
            raise _malformed() from error
        if algorithm != params.get("algorithm"):
            raise _malformed()
        return sender_id, kid, algorithm, created, expires, raw

    def verify(self, envelope, resolve_key, *, http_signature=None, now=None, is_response=True):
        """Check the body's signature; ``resolve_key(kid)`` returns the public key or raises.

        The key is looked up by the kidId's key part (a thumbprint, or the key
        part of an OpenSPP JWKS kid), then by the whole kidId.
        """
        if http_signature:
            raise DCISignatureError(
                _lt(
                    "The message carries a Signature HTTP header, but this data source expects the "
                    "signature in the body (profile %s).",
                    self.name,
                ),
                code=C.ERR_SIGNATURE_INVALID,
            )
        signature = _body_signature(envelope)
        if signature is None:
            raise _missing()
        sender_id, key_id, algorithm, created, expires, raw = self.parse(signature)
        _check_validity(created, expires, now if now is not None else time.time())
        if algorithm not in self.algorithm_labels.values():
            raise _wrong_algorithm(algorithm, key_id)
        kid, public_key = _resolve_first(resolve_key, (key_id, f"{sender_id}|{key_id}|{algorithm}"))
        if self.algorithm_labels[key_algorithm(public_key)] != algorithm:
            raise _wrong_algorithm(algorithm, kid)
        message, mismatch = envelope.get("message"), None
        for header in self.verified_headers(envelope.get("header"), is_response):
            digest = self.digest(header, message)
            try:
                _verify_bytes(public_key, raw, self.signing_string(created, expires, digest).encode())
            except DCISignatureError as error:
                mismatch = mismatch or error
                continue
            return VerifiedSignature(kid, created, expires)
        raise mismatch


class OpenSPPProfile(CavageProfile):
    """The signature string as OpenSPP's DCI server computes it (its own RSA path is broken: see README)."""

    name = PROFILE_OPENSPP
    algorithm_labels = {ALGORITHM_ED25519: "ed25519", ALGORITHM_RSA: "rs256"}

    def signed_header(self, header, is_response):
        return openspp_header(header, is_response)

    def verified_headers(self, header, is_response):
        """Requests: as OpenSPP dumps them. Its sync responses sign the dumped header too, but its
        async callbacks sign the header as sent, so a response may match either."""
        if is_response:
            yield header
        yield openspp_header(header, is_response)


def _finite_number(text):
    """JSON numbers of a JWS header: 1e999, NaN and Infinity are malformed, not floats."""
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"not a finite number: {text[:20]}")
    return number


class OpenG2PProfile:
    """A detached JWS in the HTTP Signature header over the whole body, as OpenG2P's libraries check it."""

    name = PROFILE_OPENG2P
    jws_algorithms = {ALGORITHM_ED25519: "EdDSA", ALGORITHM_RSA: "RS256"}

    def __init__(self, allowed_algorithms=("RS256", "EdDSA")):
        """``allowed_algorithms``: an OpenG2P server allows RS256 only unless configured otherwise."""
        self.allowed_algorithms = tuple(allowed_algorithms)

    @staticmethod
    def payload(envelope):
        """The body as OpenG2P re-serializes it (orjson, sorted keys): compact, raw UTF-8."""
        return json.dumps(envelope, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    def sign(self, header, message, signer, sender_id, now=None, is_response=False):
        """The detached JWS of the body {header, message}."""
        protected = {"alg": self.jws_algorithms[signer.algorithm], "kid": signer.kid}
        protected_b64 = b64url(json.dumps(protected, sort_keys=True, separators=(",", ":")).encode())
        signing_input = f"{protected_b64}.{b64url(self.payload({'header': header, 'message': message}))}"
        return f"{protected_b64}..{b64url(_sign_bytes(signer.private_key, signing_input.encode()))}"

    def sign_envelope(self, header, message, signer, sender_id, now=None, is_response=False):
        signature = self.sign(header, message, signer, sender_id, now=now, is_response=is_response)
        return SignedMessage({"header": header, "message": message}, {"Signature": signature})

    def verify(self, envelope, resolve_key, *, http_signature=None, now=None, is_response=True):
        """Check the Signature header against the body as parsed (``envelope``)."""
        if _body_signature(envelope) is not None:
            raise DCISignatureError(
                _lt(
                    "The message carries a signature in its body, but this data source expects a JWS in "
                    "the Signature HTTP header (profile %s).",
                    self.name,
                ),
                code=C.ERR_SIGNATURE_INVALID,
            )
        if not http_signature:
            raise _missing()
        try:
            protected_b64, payload, signature_b64 = http_signature.strip().split(".")
            protected = json.loads(
                b64url_decode(protected_b64), parse_float=_finite_number, parse_constant=_finite_number
            )
            raw = b64url_decode(signature_b64)
        except (ValueError, TypeError) as error:
            raise _malformed() from error
        if payload or not isinstance(protected, dict) or "crit" in protected or "b64" in protected:
            raise _malformed()
        alg, kid = protected.get("alg"), protected.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise _malformed()
        if alg not in self.jws_algorithms.values() or alg not in self.allowed_algorithms:
            raise DCISignatureError(
                _lt("The JWS algorithm %s is not accepted.", str(alg)[:20]), code=C.ERR_SIGNATURE_INVALID
            )
        public_key = resolve_key(kid)
        if self.jws_algorithms[key_algorithm(public_key)] != alg:
            raise _wrong_algorithm(alg, kid)
        _verify_bytes(public_key, raw, f"{protected_b64}.{b64url(self.payload(envelope))}".encode())
        return VerifiedSignature(kid or "")


PROFILE_CLASSES = {PROFILE_CAVAGE: CavageProfile, PROFILE_OPENSPP: OpenSPPProfile, PROFILE_OPENG2P: OpenG2PProfile}


def get_profile(name):
    try:
        return PROFILE_CLASSES[name]()
    except KeyError as error:
        raise DCIConfigurationError(_lt("Unknown signature profile %r.", name)) from error
