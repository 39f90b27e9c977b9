"""Who may call the registry: OAuth2 client credentials, bearer tokens, and request signatures."""

import base64
import secrets
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, unquote

import httpx

from .faults import FaultKind, kind_of, status_reply
from .protocol import ERR_SERVICE_UNAVAILABLE, ERR_SIGNATURE_MISSING, ERR_UNAUTHORIZED
from .replies import Reply, http_error
from .signing import SignatureRejected, kid_names, load_public_key, public_jwk, public_key_from_jwk


class TokenIssuer:
    """The token endpoint (client_secret_post or client_secret_basic) and the bearer check.

    With no clients, no token is required.
    """

    def __init__(self, clients, lifetime):
        self.clients = dict(clients or {})
        self.lifetime = lifetime
        self.tokens = {}
        self._lock = threading.Lock()

    def issue(self, headers, form, fault):
        """Answer a token request (``form``: the url-encoded body or query)."""
        kind = kind_of(fault)
        if kind == FaultKind.STATUS:
            return status_reply(fault, ERR_SERVICE_UNAVAILABLE)
        if kind == FaultKind.DROP:
            return Reply(200, drop=True)
        fields = {key: values[0] for key, values in parse_qs(form.decode(errors="replace")).items()}
        try:
            client_id, client_secret = self._credentials(headers, fields)
        except ValueError:
            return Reply.json({"error": "invalid_client"}, 401)
        if fields.get("grant_type") != "client_credentials":
            return Reply.json({"error": "unsupported_grant_type"}, 400)
        expected = self.clients.get(client_id)
        if (
            expected is None
            or not secrets.compare_digest(expected, client_secret or "")
            or kind == FaultKind.TOKEN_REJECT
        ):
            return Reply.json({"error": "invalid_client"}, 401)
        lifetime = fault.params.get("lifetime", self.lifetime) if kind == FaultKind.LIFETIME else self.lifetime
        token = secrets.token_urlsafe(24)
        with self._lock:
            self.tokens[token] = time.time() + lifetime
        return Reply.json({"access_token": token, "token_type": "Bearer", "expires_in": str(lifetime)})

    @staticmethod
    def _credentials(headers, fields):
        authorization = headers.get("authorization", "")
        if not authorization.startswith("Basic "):
            return fields.get("client_id"), fields.get("client_secret")
        pair = base64.b64decode(authorization[6:]).decode()
        client_id, client_secret = (unquote(part) for part in pair.split(":", 1))
        return client_id, client_secret

    def refusal(self, headers):
        """The 401 for a request without a valid bearer token; None when it may pass."""
        if not self.clients:
            return None
        authorization = headers.get("authorization", "")
        token = authorization[7:] if authorization.startswith("Bearer ") else None
        expires = self.tokens.get(token)
        if not expires or expires < time.time():
            return http_error(401, ERR_UNAUTHORIZED, "missing, invalid or expired token")
        return None

    def expire_all(self):
        with self._lock:
            self.tokens.clear()


class RequestVerifier:
    """Checks request signatures with the clients' public keys.

    :param client_keys: callable kid -> public key (or None), or a dict
    :param client_jwks_url: a client JWKS, read when the keys do not know a kid
    :param require_signature: refuse unsigned requests; a signed request is
        always verified, and refused when no key is known to check it
    """

    def __init__(self, client_keys=None, client_jwks_url=None, require_signature=False):
        self.client_keys = client_keys
        self.client_jwks_url = client_jwks_url
        self.require_signature = require_signature
        self._jwks_cache = {}

    def refusal(self, envelope, http_signature, profile):
        """The 401 for a request the profile does not accept; None when it may pass."""
        if not envelope.get("signature") and not http_signature:
            if self.require_signature:
                return http_error(401, ERR_SIGNATURE_MISSING, "the request must be signed")
            return None
        try:
            profile.verify_request(envelope, http_signature, self.client_key)
        except SignatureRejected as error:
            return http_error(401, error.code, "signature not accepted")
        return None

    def client_key(self, kid):
        if kid is None:
            raise SignatureRejected("the signature names no key")
        key = None
        if callable(self.client_keys):
            key = self.client_keys(kid)
        elif isinstance(self.client_keys, dict):
            key = self.client_keys.get(kid)
        if key is None and self.client_jwks_url:
            key = self._jwks_key(kid)
        if key is None:
            raise SignatureRejected(f"unknown kid {kid}")
        return key

    def _jwks_key(self, kid):
        if kid not in self._jwks_cache:
            try:
                keys = httpx.get(self.client_jwks_url, timeout=5).json().get("keys", [])
            except (httpx.HTTPError, ValueError, AttributeError):
                return None
            for jwk in keys:
                try:
                    key = public_key_from_jwk(jwk)
                except ValueError:
                    continue
                for name in kid_names(jwk.get("kid") or public_jwk(key)["kid"]):
                    self._jwks_cache[name] = key
        return self._jwks_cache.get(kid)


class KeyFiles:
    """Client public keys from PEM files, by thumbprint; the files are read again for an unknown kid."""

    def __init__(self, paths):
        self.paths = [Path(path) for path in paths]
        self.keys = {}

    def __call__(self, kid):
        if kid not in self.keys:
            for path in self.paths:
                try:
                    key = load_public_key(path.read_bytes())
                except (OSError, ValueError):
                    continue
                self.keys[public_jwk(key)["kid"]] = key
        return self.keys.get(kid)
