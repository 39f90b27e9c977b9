"""Independent oracle: OpenG2P's detached JWS in the HTTP ``Signature`` header.

Written from OpenG2P/openg2p-fastapi-common (openg2p-fastapi-partner-auth
jwt_signature_validator.py and jwt_validation_helper.py; openg2p-fastapi-common
crypto/pyjwt.py PyJWTCryptoHelper, crypto/constants.py, crypto/partner_key_store.py)
and, for the older variant, the g2pconnect common lib's
jwt_signature_validator.py; shares no code with spp_dci_client. See README.md
beside this file.

Current libraries: the body is parsed with orjson and re-serialized with
``orjson.dumps(obj, option=OPT_SORT_KEYS)``: keys sorted, compact, raw UTF-8.
This module reproduces that with the standard library. Checked against orjson
3.13.0 on 40,000 floats and the vectors: byte-identical for objects, arrays,
strings (control characters, quotes, U+2028 alike), booleans, null, integers
within 64 bits and floats, except floats Python writes with a one-digit
negative exponent (Python ``1.5e-07``, orjson ``1.5e-7``; Python ``1e-05``,
orjson ``0.00001``). ``canonical`` refuses those with ``NotCanonical``, as it
refuses NaN/Infinity, integers beyond 64 bits (orjson.dumps raises) and lone
surrogates. ``parse_body`` follows orjson.loads: integers beyond 64 bits become
floats, NaN and lone surrogates are refused.

The older g2pconnect common lib re-serialized with ``json.dumps(obj,
separators=(",", ":"))``: key order as sent and non-ASCII escaped as ``\\uXXXX``.
For a body with non-ASCII text no signature can satisfy both variants.
"""

import base64
import json
import math

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from cryptography.x509 import load_pem_x509_certificate

DEFAULT_ALLOWED_ALGORITHMS = ("RS256",)
DEFAULT_KEY_ALGORITHM = "RS256"
_INT64_MIN = -(2**63)
_UINT64_MAX = 2**64 - 1


class PeerRejected(Exception):
    """The peer would refuse this message; ``reason`` says which rule failed."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class NotCanonical(ValueError):
    """The stdlib cannot reproduce orjson's bytes for this value."""


def is_forbidden_algorithm(alg):
    """none and the HMAC family are never allowed, whatever the configuration."""
    if not alg or str(alg).lower() == "none":
        return True
    return str(alg).upper().startswith("HS")


def b64url(data):
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _check_orjson_compatible(value):
    if isinstance(value, dict):
        for key, item in value.items():
            _check_orjson_compatible(key)
            _check_orjson_compatible(item)
    elif isinstance(value, list):
        for item in value:
            _check_orjson_compatible(item)
    elif isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as error:
            raise NotCanonical("lone surrogate in a string") from error
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if not _INT64_MIN <= value <= _UINT64_MAX:
            raise NotCanonical(f"integer {value} is beyond orjson's 64-bit range")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise NotCanonical("NaN or Infinity")
        if "e-0" in repr(value):
            raise NotCanonical(f"float {value!r}: orjson writes small negative exponents differently")
    else:
        raise NotCanonical(f"{type(value).__name__} is not a JSON value")


def parse_body(body):
    """orjson.loads: strict UTF-8, no NaN/Infinity, integers beyond 64 bits become floats."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        value = json.loads(text, parse_constant=_refuse_constant, parse_int=_parse_int)
    except (ValueError, UnicodeDecodeError) as error:
        raise PeerRejected(f"body is not JSON orjson accepts: {error}") from error
    try:
        _check_orjson_compatible(value)
    except NotCanonical as error:
        raise PeerRejected(f"body is not JSON orjson accepts: {error}") from error
    return value


def _parse_int(text):
    value = int(text)
    return value if _INT64_MIN <= value <= _UINT64_MAX else float(text)


def _refuse_constant(name):
    raise ValueError(f"{name} is not JSON")


def canonical(value):
    """orjson.dumps(value, option=OPT_SORT_KEYS)."""
    _check_orjson_compatible(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def canonical_legacy(value):
    """The older g2pconnect lib: json.dumps(value, separators=(",", ":"))."""
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


def load_public_key(key):
    if isinstance(key, (ed25519.Ed25519PublicKey, rsa.RSAPublicKey)):
        return key
    data = key.encode() if isinstance(key, str) else key
    if b"BEGIN CERTIFICATE" in data:
        return load_pem_x509_certificate(data).public_key()
    return serialization.load_pem_public_key(data)


def load_private_key(key):
    if isinstance(key, (ed25519.Ed25519PrivateKey, rsa.RSAPrivateKey)):
        return key
    data = key.encode() if isinstance(key, str) else key
    return serialization.load_pem_private_key(data, password=None)


def key_algorithm(public_key):
    return "EdDSA" if isinstance(public_key, ed25519.Ed25519PublicKey) else DEFAULT_KEY_ALGORITHM


def protected_header(algorithm, kid=None):
    """PyJWS.encode's header: typ JWT, alg, kid when set; keys sorted, compact."""
    header = {"typ": "JWT", "alg": algorithm}
    if kid:
        header["kid"] = kid
    return b64url(json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8"))


def _sign_bytes(private_key, algorithm, data):
    if algorithm == "RS256" and isinstance(private_key, rsa.RSAPrivateKey):
        return private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    if algorithm == "EdDSA" and isinstance(private_key, ed25519.Ed25519PrivateKey):
        return private_key.sign(data)
    raise ValueError(f"cannot sign {algorithm} with {type(private_key).__name__}")


def _verify_bytes(public_key, algorithm, signature, data):
    if algorithm == "RS256" and isinstance(public_key, rsa.RSAPublicKey):
        public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    elif algorithm == "EdDSA" and isinstance(public_key, ed25519.Ed25519PublicKey):
        public_key.verify(signature, data)
    else:
        raise InvalidSignature(f"{algorithm} does not fit a {type(public_key).__name__}")


def signing_input(protected, payload_bytes):
    return f"{protected}.{b64url(payload_bytes)}".encode("ascii")


def partner_reference(body_obj):
    """The key store is looked up by PARTNER_<SENDER_ID> from header.sender_id."""
    try:
        return "PARTNER_" + body_obj.get("header", {}).get("sender_id").replace("-", "_").upper()
    except AttributeError as error:
        raise PeerRejected("body has no header.sender_id to find the partner's key") from error


def verify_jws(
    signature_header,
    payload_bytes,
    public_key,
    allowed_algorithms=DEFAULT_ALLOWED_ALGORITHMS,
    registered_kid=None,
    registered_algorithm=DEFAULT_KEY_ALGORITHM,
):
    """PyJWTCryptoHelper.verify_jwt against one registered partner key; returns
    the protected header."""
    if not signature_header:
        raise PeerRejected("Signature header is absent or empty")
    parts = signature_header.split(".")
    if len(parts) != 3:
        raise PeerRejected("malformed detached JWS; expected 'header..signature'")
    protected, _payload, signature = parts
    try:
        header = json.loads(b64url_decode(protected))
    except (ValueError, UnicodeDecodeError) as error:
        raise PeerRejected("protected header is not base64url JSON") from error
    if not isinstance(header, dict):
        raise PeerRejected("protected header is not a JSON object")
    alg = header.get("alg")
    if is_forbidden_algorithm(alg) or alg not in allowed_algorithms:
        raise PeerRejected(f"algorithm {alg!r} is not allowed (allowed: {tuple(allowed_algorithms)})")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise PeerRejected("kid must be a string")
    if kid and registered_kid and kid != registered_kid:
        raise PeerRejected(f"kid {kid!r} is not the registered {registered_kid!r}")
    if (registered_algorithm or DEFAULT_KEY_ALGORITHM) != alg:
        raise PeerRejected(f"algorithm {alg!r} is not the registered key's {registered_algorithm!r}")
    if "crit" in header:
        raise PeerRejected("crit header parameters are not supported")
    try:
        raw = b64url_decode(signature)
        _verify_bytes(load_public_key(public_key), alg, raw, signing_input(protected, payload_bytes))
    except (InvalidSignature, ValueError) as error:
        raise PeerRejected("signature does not verify") from error
    return header


def verify_request(
    body,
    signature_header,
    public_key,
    allowed_algorithms=DEFAULT_ALLOWED_ALGORITHMS,
    registered_kid=None,
    registered_algorithm=None,
):
    """JWTSignatureValidator: parse the body, re-serialize it canonically, verify
    the detached JWS from the ``Signature`` header. ``registered_algorithm`` is
    the partner key row's algorithm (the key store defaults an empty one to
    RS256); None means the row names its key's algorithm: EdDSA for an Ed25519
    key, RS256 for RSA. Returns the protected header; raises PeerRejected."""
    if registered_algorithm is None:
        registered_algorithm = key_algorithm(load_public_key(public_key))
    body_obj = parse_body(body)
    partner_reference(body_obj)
    return verify_jws(
        signature_header, canonical(body_obj), public_key, allowed_algorithms, registered_kid, registered_algorithm
    )


def verify_request_legacy(body, signature_header, public_key, algorithm="RS256"):
    """The older g2pconnect lib: payload re-serialized with key order kept and
    non-ASCII escaped; the keymanager checked the signature (RS256)."""
    try:
        body_obj = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise PeerRejected(f"body is not JSON: {error}") from error
    partner_reference(body_obj)
    return verify_jws(signature_header, canonical_legacy(body_obj), public_key, (algorithm,), None, algorithm)


def sign_payload(payload_obj, private_key, algorithm="RS256", kid=None):
    """create_jwt_token(payload) with include_payload False: 'protected..signature'."""
    if is_forbidden_algorithm(algorithm):
        raise ValueError(f"{algorithm} is never allowed")
    protected = protected_header(algorithm, kid)
    raw = _sign_bytes(load_private_key(private_key), algorithm, signing_input(protected, canonical(payload_obj)))
    return f"{protected}..{b64url(raw)}"


def sign_response(body_obj, private_key, algorithm="RS256", kid=None):
    """A response as an OpenG2P service sends it: the body as Starlette's
    JSONResponse renders it (key order kept, compact, raw UTF-8) and the
    detached JWS over its canonical form for the ``Signature`` header."""
    body_bytes = json.dumps(body_obj, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
    return body_bytes, sign_payload(body_obj, private_key, algorithm, kid)


def sign_request_legacy(body_obj, private_key, kid=None):
    """Sign for the older g2pconnect lib's verifier (RS256 over the legacy form)."""
    protected = protected_header("RS256", kid)
    raw = _sign_bytes(load_private_key(private_key), "RS256", signing_input(protected, canonical_legacy(body_obj)))
    return f"{protected}..{b64url(raw)}"
