"""How long a registry's message stays acceptable, so how long its message_id must be remembered.

A signed message is accepted until its signature expires (plus clock skew);
its lifetime is capped, so that a message signed to expire in ten years is
refused rather than remembered for ten years. A callback authenticated by our
token instead carries no signature: its message_ts must then be recent, and
the same window applies.
"""

import time
from datetime import datetime

from . import constants as C
from .errors import DCISignatureError, _lt
from .signing import CLOCK_SKEW, MAX_SIGNATURE_LIFETIME

MAX_MESSAGE_ID_LENGTH = 128


def verify_signature(profile, envelope, resolve_key, *, http_signature=None, now=None):
    """Verify ``envelope``'s signature (lifetime capped by the profile); return the VerifiedSignature.

    Any malformed value (a JWS iat of 1e999, an object where a string belongs)
    is a DCISignatureError, never an OverflowError or TypeError.
    """
    try:
        return profile.verify(envelope, resolve_key, http_signature=http_signature, now=now)
    except (OverflowError, RecursionError, TypeError, ValueError, AttributeError) as error:
        raise DCISignatureError(_lt("The message signature is malformed."), code=C.ERR_SIGNATURE_INVALID) from error


def signed_message_until(verified, header, now=None):
    """The epoch second until which a message with this verified signature is acceptable.

    A signature that carries no validity period (OpenG2P's JWS) is bounded
    by the header's message_ts, as an unsigned message is.
    """
    if verified.expires is None:
        return unsigned_message_until(header, now)
    return verified.expires + CLOCK_SKEW


def unsigned_message_until(header, now=None):
    """The epoch second until which an unsigned message with this header is acceptable.

    DCISignatureError unless header.message_ts is an ISO time with a zone
    within the accepted window.
    """
    now = time.time() if now is None else now
    try:
        sent = datetime.fromisoformat(header.get("message_ts").replace("Z", "+00:00"))
        sent_at = sent.timestamp() if sent.tzinfo else None
    except (AttributeError, TypeError, ValueError, OverflowError):
        sent_at = None
    if sent_at is None:
        raise DCISignatureError(_lt("The message has no valid message_ts."), code=C.ERR_REQUEST_BAD)
    if not now - MAX_SIGNATURE_LIFETIME - CLOCK_SKEW <= sent_at <= now + CLOCK_SKEW:
        raise DCISignatureError(_lt("The message_ts is outside the accepted window."), code=C.ERR_REQUEST_BAD)
    return sent_at + MAX_SIGNATURE_LIFETIME + CLOCK_SKEW


def message_id_of(header):
    """The header's message_id; DCISignatureError when it cannot be remembered."""
    message_id = header.get("message_id")
    if (
        not isinstance(message_id, str)
        or not message_id
        or len(message_id) > MAX_MESSAGE_ID_LENGTH
        or not message_id.isprintable()
    ):
        raise DCISignatureError(_lt("The message has no usable message_id."), code=C.ERR_REQUEST_BAD)
    return message_id
