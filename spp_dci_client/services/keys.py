"""The registry's public keys, for checking the signatures of its messages.

A data source names either one PEM key or a JWKS URL. JWKS documents are
cached per process and fetched again when a message names an unknown kid (at
most once every REFRESH_INTERVAL seconds, so a flood of bad kids cannot turn
into a flood of fetches).
"""

import threading
import time

from .errors import DCIConfigurationError, DCIError, DCISignatureError, _lt
from .signing import load_public_key, public_jwk, public_key_from_jwk
from .transport import NO_RETRY, Transport

JWKS_TTL = 3600
REFRESH_INTERVAL = 30

_jwks_cache = {}
_jwks_lock = threading.Lock()


def _unknown_kid(kid):
    return DCISignatureError(_lt("The message was signed with an unknown key (kid %s).", kid),
                             code="err.signature.invalid")


class StaticKeys:
    """One configured public key; its kid is its RFC 7638 thumbprint."""

    def __init__(self, pem):
        self.key = load_public_key(pem)
        self.kid = public_jwk(self.key)["kid"]

    def resolve(self, kid):
        if kid != self.kid:
            raise _unknown_kid(kid)
        return self.key


class JWKSKeys:
    """Keys published at a JWKS URL; an HTTP client is opened only to fetch them."""

    def __init__(self, url, timeout, verify=True):
        self.url = url
        self.timeout = timeout
        self.verify = verify

    def resolve(self, kid):
        with _jwks_lock:
            keys, fetched_at = _jwks_cache.get(self.url, ({}, 0.0))
        age = time.monotonic() - fetched_at
        if (kid not in keys or age > JWKS_TTL) and (age > REFRESH_INTERVAL or not fetched_at):
            keys = self._refresh()
        if kid not in keys:
            raise _unknown_kid(kid)
        return keys[kid]

    def _refresh(self):
        try:
            with Transport(self.url, timeout=self.timeout, verify=self.verify, max_response_bytes=256 * 1024,
                           retry=NO_RETRY) as transport:
                document = transport.get_json(self.url)
        except DCIError as error:
            raise DCISignatureError(_lt("The registry's JWKS could not be fetched to check a signature."),
                                    code="err.signature.invalid") from error
        keys = {}
        for jwk in document.get("keys", []) if isinstance(document, dict) else []:
            if not isinstance(jwk, dict):
                continue
            try:
                key = public_key_from_jwk(jwk)
            except DCIConfigurationError:
                continue
            keys[jwk.get("kid") or public_jwk(key)["kid"]] = key
        with _jwks_lock:
            _jwks_cache[self.url] = (keys, time.monotonic())
        return keys


class NoKeys:
    def resolve(self, kid):
        raise DCISignatureError(
            _lt("No registry key is configured to check the signature (kid %s).", kid),
            code="err.signature.invalid",
        )
