"""Reading a registry's JWKS for an administrator to choose its signing key from.

Stricter than the resolver in keys.py, which skips what it cannot use while
checking a message: here the administrator is about to trust what is found,
so any doubt about the document refuses all of it, with the reason.
"""

from dataclasses import dataclass

from .errors import DCIConfigurationError, DCIError, _lt, registry_text
from .signing import public_jwk, public_key_from_jwk, public_key_to_pem
from .transport import NO_RETRY, Transport

MAX_JWKS_BYTES = 256 * 1024
MAX_KEYS = 50
MAX_KID_LENGTH = 200
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
KEY_TYPES = {"RSA": "RSA", "OKP": "Ed25519"}


@dataclass(frozen=True)
class RegistryKey:
    kid: str
    key_type: str
    thumbprint: str
    public_key_pem: str


class JWKSDocumentError(DCIConfigurationError):
    """The JWKS cannot be trusted as it is: nothing from it is used."""


def fetch_registry_keys(url, *, timeout, verify=True):
    """GET ``url`` and return its keys as RegistryKey, or raise a DCIError saying why not."""
    try:
        with Transport(
            url, timeout=timeout, verify=verify, max_response_bytes=MAX_JWKS_BYTES, retry=NO_RETRY
        ) as transport:
            document = transport.get_json(url)
    except JWKSDocumentError:
        raise
    except DCIError as error:
        raise type(error)(
            _lt("The JWKS at %(url)s could not be read: %(reason)s", url=registry_text(url, 200), reason=str(error)),
            code=error.code,
            response_status=error.response_status,
        ) from error
    return parse_registry_keys(document)


def parse_registry_keys(document):
    """The keys of a JWKS document (a dict); JWKSDocumentError for anything doubtful."""
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise JWKSDocumentError(_lt('The answer is not a JWKS: it has no "keys" list.'))
    if not entries:
        raise JWKSDocumentError(_lt("The JWKS lists no keys."))
    if len(entries) > MAX_KEYS:
        raise JWKSDocumentError(
            _lt("The JWKS lists %(count)s keys; at most %(most)s are accepted.", count=len(entries), most=MAX_KEYS)
        )
    keys = [_registry_key(position, jwk) for position, jwk in enumerate(entries, start=1)]
    kids = [key.kid for key in keys]
    duplicates = sorted({kid for kid in kids if kids.count(kid) > 1})
    if duplicates:
        raise JWKSDocumentError(
            _lt(
                "The JWKS names two keys with the same kid (%s): a signature could not say which key made it.",
                ", ".join(duplicates),
            )
        )
    return keys


def _registry_key(position, jwk):
    if not isinstance(jwk, dict):
        raise JWKSDocumentError(_lt("Key %s of the JWKS is not a JSON object.", position))
    kid = jwk.get("kid")
    if kid is not None and (not isinstance(kid, str) or not kid or len(kid) > MAX_KID_LENGTH or not kid.isprintable()):
        raise JWKSDocumentError(_lt("Key %s of the JWKS has a kid that is not a short printable text.", position))
    name = kid or _lt("key %s", position)
    private = [member for member in PRIVATE_MEMBERS if member in jwk]
    if private:
        raise JWKSDocumentError(
            _lt(
                "The JWKS publishes private key material (%(members)s) for %(name)s: the registry's private key is "
                "exposed, so none of its keys can be trusted. Tell the registry's operators.",
                members=", ".join(private),
                name=name,
            )
        )
    kty = jwk.get("kty")
    if kty not in KEY_TYPES or (kty == "OKP" and jwk.get("crv") != "Ed25519"):
        raise JWKSDocumentError(
            _lt(
                "%(name)s has key type %(kty)s: only Ed25519 (OKP) and RSA keys can check DCI signatures.",
                name=name,
                kty=registry_text(str(kty) if kty is not None else "none", 40),
            )
        )
    try:
        key = public_key_from_jwk(jwk)
    except DCIConfigurationError as error:
        raise JWKSDocumentError(_lt("%(name)s cannot be used: %(reason)s", name=name, reason=str(error))) from error
    pem = public_key_to_pem(key)
    thumbprint = public_jwk(key)["kid"]
    return RegistryKey(kid=kid or thumbprint, key_type=KEY_TYPES[kty], thumbprint=thumbprint, public_key_pem=pem)
