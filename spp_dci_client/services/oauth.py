"""OAuth 2.0 client credentials (RFC 6749 section 4.4): the token request.

Caching and sharing the token between workers is the data source's job; this
module only asks the authorization server.
"""

import base64
import math
import time
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from .constants import STYLE_BASIC, STYLE_POST, STYLE_QUERY
from .errors import DCIAuthenticationError, DCIProtocolError, DCIRejectedError, _lt
from .transport import NO_RETRY

DEFAULT_LIFETIME = 300
MAX_LIFETIME = 3600


@dataclass(frozen=True)
class Token:
    access_token: str = field(repr=False)
    expires_at: float


def request_token(transport, token_url, client_id, client_secret, scope=None, style=STYLE_POST):
    """Ask ``token_url`` for a token; raises DCIAuthenticationError when refused."""
    form = {"grant_type": "client_credentials"}
    headers = {"Accept": "application/json"}
    if style == STYLE_BASIC:
        pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    else:
        form.update(client_id=client_id, client_secret=client_secret)
    if scope:
        form["scope"] = scope
    if style == STYLE_QUERY:
        token_url += ("&" if "?" in token_url else "?") + urlencode(form)
        form = None
    requested_at = time.time()
    try:
        response = transport.post(token_url, lambda: (None, headers, form), idempotent=False, retry=NO_RETRY)
    except DCIRejectedError as error:
        raise DCIAuthenticationError(
            _lt(
                "The token endpoint refused the request (HTTP %(status)s, %(code)s).",
                status=error.response_status,
                code=error.code,
            ),
            code=error.code,
            response_status=error.response_status,
        ) from error
    try:
        data = response.json()
    except DCIProtocolError as error:
        raise DCIAuthenticationError(_lt("The token endpoint did not answer with a JSON token.")) from error
    access_token = data.get("access_token")
    token_type = str(data.get("token_type", "bearer")).lower()
    if not isinstance(access_token, str) or not access_token or token_type != "bearer":  # noqa: S105
        raise DCIAuthenticationError(_lt("The token endpoint did not return a bearer access token."))
    return Token(access_token, requested_at + token_lifetime(data.get("expires_in")))


def token_lifetime(expires_in):
    """Seconds to trust a token: its expires_in, capped at MAX_LIFETIME (DEFAULT_LIFETIME when unusable).

    The cap bounds how long a token the server meant to revoke, or a bogus
    expires_in (10**18), keeps being used.
    """
    if isinstance(expires_in, str) and expires_in.strip().isdigit():
        expires_in = int(expires_in)
    if isinstance(expires_in, bool) or not isinstance(expires_in, (int, float)) or not math.isfinite(expires_in):
        return DEFAULT_LIFETIME
    return min(max(int(expires_in), 0), MAX_LIFETIME)
