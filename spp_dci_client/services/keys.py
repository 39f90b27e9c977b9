"""The registry's public keys, for checking the signatures of its messages.

A data source names either one PEM key or a JWKS URL. Keys are known by their
RFC 7638 thumbprint, by the kid the registry gives them (in its JWKS, or the
data source's registry_key_id) and, for OpenSPP's ``<sender>|<key>|<alg>``
kids, by their key part too. A JWS without a kid resolves only where there
is exactly one key. JWKS documents are
cached per process and fetched again when a message names an unknown kid (at
most once every REFRESH_INTERVAL seconds, so a flood of bad kids cannot turn
into a flood of fetches).
"""

import threading
import time

from . import constants as C
from .errors import DCIConfigurationError, DCIError, DCISignatureError, _lt
from .signing import load_public_key, public_jwk, public_key_from_jwk
from .transport import NO_RETRY, Transport

JWKS_TTL = 3600
REFRESH_INTERVAL = 30

_jwks_cache = {}
_jwks_lock = threading.Lock()


def _unknown_kid(kid):
    return DCISignatureError(
        _lt("The message was signed with an unknown key (kid %s).", kid), code=C.ERR_SIGNATURE_INVALID
    )


def kid_aliases(kid):
    """The names a kid is known by: itself, and the key part of an OpenSPP kid."""
    parts = kid.split("|")
    return {kid, parts[1]} if len(parts) == 3 and parts[1] else {kid}


class StaticKeys:
    """One configured public key, known by its thumbprint and, when set, the registry's own key id."""

    def __init__(self, pem, key_id=None):
        self.key = load_public_key(pem)
        self.kid = public_jwk(self.key)["kid"]
        self.kids = {self.kid} | (kid_aliases(key_id) if key_id else set())

    def resolve(self, kid):
        if kid is not None and kid not in self.kids:
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
        if (self._lookup(keys, kid) is None or age > JWKS_TTL) and (age > REFRESH_INTERVAL or not fetched_at):
            keys = self._refresh()
        key = self._lookup(keys, kid)
        if key is None:
            raise _unknown_kid(kid)
        return key

    @staticmethod
    def _lookup(keys, kid):
        if kid is None:
            distinct = set(keys.values())
            return distinct.pop() if len(distinct) == 1 else None
        return keys.get(kid)

    def _refresh(self):
        try:
            with Transport(
                self.url, timeout=self.timeout, verify=self.verify, max_response_bytes=256 * 1024, retry=NO_RETRY
            ) as transport:
                document = transport.get_json(self.url)
        except DCIError as error:
            raise DCISignatureError(
                _lt("The registry's JWKS could not be fetched to check a signature."), code=C.ERR_SIGNATURE_INVALID
            ) from error
        keys = {}
        for jwk in document.get("keys", []) if isinstance(document, dict) else []:
            if not isinstance(jwk, dict):
                continue
            try:
                key = public_key_from_jwk(jwk)
            except DCIConfigurationError:
                continue
            names = {public_jwk(key)["kid"]}
            if isinstance(jwk.get("kid"), str) and jwk["kid"]:
                names |= kid_aliases(jwk["kid"])
            for name in names:
                keys.setdefault(name, key)
        with _jwks_lock:
            _jwks_cache[self.url] = (keys, time.monotonic())
        return keys


class NoKeys:
    def resolve(self, kid):
        raise DCISignatureError(
            _lt("No registry key is configured to check the signature (kid %s).", kid),
            code=C.ERR_SIGNATURE_INVALID,
        )
