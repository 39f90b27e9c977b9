"""Message signatures: keys, JWKs and the two signature profiles.

The DCI spec names a signature string but not the canonical form, digest or
signed string, so the profile is chosen per data source:

- ``dci_cavage``: the spec's draft-cavage style string, computed exactly as
  OpenSPP's DCI server does: digest = base64(SHA-256(json.dumps({"header": h,
  "message": m}, sort_keys=True, separators=(",", ":")))) and signed string
  ``"(created): c\\n(expires): e\\ndigest: d"``, Ed25519 or RSA PKCS#1 v1.5 with
  SHA-256, valid for 300 s.
- ``jws_detached``: a detached JWS (RFC 7515 appendix F) over the same
  canonical {header, message}, EdDSA or RS256, as OpenG2P registries use.

Key ids are RFC 7638 JWK thumbprints.
"""

import base64
import hashlib
import json
import re
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from .errors import DCIConfigurationError, DCISignatureError, _lt

ALGORITHM_ED25519 = "ed25519"
ALGORITHM_RSA = "rsa"
ALGORITHMS = [
    (ALGORITHM_ED25519, "Ed25519"),
    (ALGORITHM_RSA, "RSA, PKCS#1 v1.5 with SHA-256"),
]
PROFILE_CAVAGE = "dci_cavage"
PROFILE_JWS = "jws_detached"
PROFILES = [
    (PROFILE_CAVAGE, "DCI signature string (OpenSPP)"),
    (PROFILE_JWS, "Detached JWS (OpenG2P)"),
]

SIGNATURE_LIFETIME = 300
CLOCK_SKEW = 60
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
            _lt("The message signature does not match its content."), code="err.signature.invalid"
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

    @property
    def algorithm(self):
        return key_algorithm(self.private_key.public_key())


@dataclass(frozen=True)
class VerifiedSignature:
    kid: str
    created: int
    expires: int


def _check_validity(created, expires, now):
    if expires <= created:
        raise DCISignatureError(_lt("The signature's validity period is empty."), code="err.signature.invalid")
    if created > now + CLOCK_SKEW:
        raise DCISignatureError(_lt("The signature was created in the future."), code="err.signature.invalid")
    if expires < now - CLOCK_SKEW:
        raise DCISignatureError(_lt("The signature has expired."), code="err.signature.invalid")


def _malformed():
    return DCISignatureError(_lt("The message signature is malformed."), code="err.signature.invalid")


class CavageProfile:
    """The spec's signature string, as OpenSPP's DCI server computes it."""

    name = PROFILE_CAVAGE
    _algorithm_names = {ALGORITHM_ED25519: "ed25519", ALGORITHM_RSA: "rsa-sha256"}
    _param = re.compile(r'\s*([a-zA-Z]+)="([^"]*)"\s*(?:,|$)')

    @staticmethod
    def digest(header, message):
        return base64.b64encode(hashlib.sha256(canonical_json(header, message)).digest()).decode()

    @staticmethod
    def signing_string(created, expires, digest):
        return f"(created): {created}\n(expires): {expires}\ndigest: {digest}"

    def sign(self, header, message, signer, sender_id, now=None):
        created = int(now if now is not None else time.time())
        expires = created + SIGNATURE_LIFETIME
        digest = self.digest(header, message)
        signature = _sign_bytes(signer.private_key, self.signing_string(created, expires, digest).encode())
        algorithm = self._algorithm_names[signer.algorithm]
        return (
            f'namespace="dci", kidId="{sender_id}|{signer.kid}|{algorithm}", algorithm="{algorithm}", '
            f'created="{created}", expires="{expires}", headers="(created) (expires) digest", '
            f'signature="{base64.b64encode(signature).decode()}"'
        )

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

    def verify(self, envelope, resolve_key, now=None):
        """Check ``envelope["signature"]``; ``resolve_key(kid)`` returns the public key."""
        _, kid, algorithm, created, expires, raw = self.parse(_signature_of(envelope))
        _check_validity(created, expires, now if now is not None else time.time())
        public_key = resolve_key(kid)
        if self._algorithm_names[key_algorithm(public_key)] != algorithm:
            raise DCISignatureError(
                _lt("The signature algorithm does not match the key %s.", kid), code="err.signature.invalid"
            )
        digest = self.digest(envelope.get("header"), envelope.get("message"))
        _verify_bytes(public_key, raw, self.signing_string(created, expires, digest).encode())
        return VerifiedSignature(kid, created, expires)


class JWSProfile:
    """Detached JWS over the canonical {header, message}."""

    name = PROFILE_JWS
    _jws_algorithms = {ALGORITHM_ED25519: "EdDSA", ALGORITHM_RSA: "RS256"}

    def sign(self, header, message, signer, sender_id, now=None):
        created = int(now if now is not None else time.time())
        protected = {
            "alg": self._jws_algorithms[signer.algorithm],
            "kid": signer.kid,
            "iat": created,
            "exp": created + SIGNATURE_LIFETIME,
        }
        protected_b64 = b64url(json.dumps(protected, sort_keys=True, separators=(",", ":")).encode())
        signing_input = f"{protected_b64}.{b64url(canonical_json(header, message))}".encode()
        return f"{protected_b64}..{b64url(_sign_bytes(signer.private_key, signing_input))}"

    def verify(self, envelope, resolve_key, now=None):
        signature = _signature_of(envelope)
        try:
            protected_b64, payload, signature_b64 = signature.split(".")
            protected = json.loads(b64url_decode(protected_b64))
            raw = b64url_decode(signature_b64)
            kid, alg = protected["kid"], protected["alg"]
            created, expires = int(protected["iat"]), int(protected["exp"])
        except (ValueError, KeyError, TypeError) as error:
            raise _malformed() from error
        if payload or not isinstance(kid, str):
            raise _malformed()
        _check_validity(created, expires, now if now is not None else time.time())
        public_key = resolve_key(kid)
        if self._jws_algorithms[key_algorithm(public_key)] != alg:
            raise DCISignatureError(
                _lt("The signature algorithm does not match the key %s.", kid), code="err.signature.invalid"
            )
        content = b64url(canonical_json(envelope.get("header"), envelope.get("message")))
        _verify_bytes(public_key, raw, f"{protected_b64}.{content}".encode())
        return VerifiedSignature(kid, created, expires)


PROFILE_CLASSES = {PROFILE_CAVAGE: CavageProfile, PROFILE_JWS: JWSProfile}


def get_profile(name):
    try:
        return PROFILE_CLASSES[name]()
    except KeyError as error:
        raise DCIConfigurationError(_lt("Unknown signature profile %r.", name)) from error


def detect_profile(signature):
    """The profile a signature string was made with (cavage strings hold '=')."""
    return PROFILE_CAVAGE if '="' in signature else PROFILE_JWS


def _signature_of(envelope):
    signature = envelope.get("signature") if isinstance(envelope, dict) else None
    if not signature:
        raise DCISignatureError(_lt("The message is not signed."), code="err.signature.missing")
    if not isinstance(signature, str):
        raise _malformed()
    return signature
