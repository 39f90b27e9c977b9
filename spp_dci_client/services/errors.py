"""Typed errors of the DCI client.

Every error is a UserError, so a failed call shows a readable message in the
UI. Messages carry ids, codes and HTTP statuses, never payloads, personal data
or secrets, and are translated when they are displayed.
"""

import re

from odoo.exceptions import UserError, ValidationError
from odoo.tools.translate import LazyTranslate

_lt = LazyTranslate(__name__, default_lang="en_US")
_UNPRINTABLE = re.compile(r"[^\x20-\x7e\u00a0-\ud7ff\ue000-\ufffd]")


class DCIError(UserError):
    """Base class of every error the DCI client raises.

    :param message: a (lazily translated) message for the user
    :param code: the DCI reason or error code, when the registry gave one
    :param response_status: the HTTP status of the registry's response, when
        there was one (not ``http_status``: Odoo answers a UserError with that
        attribute as the status of our own HTTP response)
    """

    def __init__(self, message, code=None, response_status=None):
        super().__init__(_UNPRINTABLE.sub("?", str(message)))
        self.code = code
        self.response_status = response_status


class DCIConfigurationError(DCIError):
    """The data source, key or call arguments cannot make a valid request."""


class DCIConnectionError(DCIError):
    """The registry could not be reached (DNS, refused, TLS, dropped)."""


class DCITimeoutError(DCIConnectionError):
    """The registry did not answer within the data source's timeout."""


class DCIAuthenticationError(DCIError):
    """Credentials were rejected, or no token could be obtained."""


class DCIRejectedError(DCIError):
    """The registry answered with a rejection (rjct, NACK, ERR or HTTP 4xx/5xx).

    ``code`` carries the DCI reason code and ``reference_id`` the rejected
    request item, when the rejection is per item. The registry's own free text
    is kept in ``registry_message`` and not shown, as it may echo personal data.
    """

    def __init__(self, message, code=None, response_status=None, reference_id=None, registry_message=None):
        super().__init__(message, code=code, response_status=response_status)
        self.reference_id = reference_id
        self.registry_message = registry_message


class DCISignatureError(DCIError):
    """A signature is missing, invalid, expired, replayed or from an unknown key."""


class DCIProtocolError(DCIError):
    """The response is not a well-formed DCI message (JSON, shape, ids)."""


def rejected(code, registry_message=None, response_status=None, reference_id=None):
    """A DCIRejectedError whose message names the reason code and the item."""
    code, registry_message = registry_text(code), registry_text(registry_message, MAX_MESSAGE_LENGTH)
    reference_id = registry_text(reference_id)
    if reference_id:
        text = _lt(
            "The registry rejected request item %(ref)s with reason code %(code)s.",
            ref=reference_id,
            code=code or "unknown",
        )
    else:
        text = _lt("The registry rejected the request with reason code %(code)s.", code=code or "unknown")
    return DCIRejectedError(
        text,
        code=code,
        response_status=response_status,
        reference_id=reference_id,
        registry_message=registry_message,
    )


class DCICallbackRefused(DCIError):
    """We refuse an incoming callback; code and response_status go back to the registry."""

    def __init__(self, message, code, response_status=200):
        super().__init__(message, code=code, response_status=response_status)


MAX_CODE_LENGTH = 100
MAX_MESSAGE_LENGTH = 500


def registry_text(value, limit=MAX_CODE_LENGTH):
    """Text from a registry made safe for a log line or the UI; None unless it is a string.

    Control characters (a newline would start a forged log line), surrogates
    and the like become "?", and the text is cut at ``limit`` characters.
    """
    if not isinstance(value, str):
        return None
    text = _UNPRINTABLE.sub("?", value[: limit + 1])
    return text[:limit] + "…" if len(text) > limit else text


class DCIValidationError(DCIConfigurationError, ValidationError):
    """Invalid call arguments or data source settings.

    Also a ValidationError: OpenSPP's published client raised ValidationError
    for these, and code written against it catches that.
    """


class DCIQueryError(DCIValidationError):
    """A query that cannot be expressed as a DCI query; ``part`` is the piece that cannot."""

    def __init__(self, message, part=None):
        super().__init__(message)
        self.part = part
