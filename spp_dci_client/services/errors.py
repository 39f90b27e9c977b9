"""Typed errors of the DCI client.

Every error is a UserError, so a failed call shows a readable message in the
UI. Messages carry ids, codes and HTTP statuses, never payloads, personal data
or secrets, and are translated when they are displayed.
"""

from odoo.exceptions import UserError, ValidationError
from odoo.tools.translate import LazyTranslate

_lt = LazyTranslate(__name__, default_lang="en_US")


class DCIError(UserError):
    """Base class of every error the DCI client raises.

    :param message: a (lazily translated) message for the user
    :param code: the DCI reason or error code, when the registry gave one
    :param http_status: the HTTP status of the response, when there was one
    """

    def __init__(self, message, code=None, http_status=None):
        super().__init__(str(message))
        self.code = code
        self.http_status = http_status


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

    def __init__(self, message, code=None, http_status=None, reference_id=None, registry_message=None):
        super().__init__(message, code=code, http_status=http_status)
        self.reference_id = reference_id
        self.registry_message = registry_message


class DCISignatureError(DCIError):
    """A signature is missing, invalid, expired, replayed or from an unknown key."""


class DCIProtocolError(DCIError):
    """The response is not a well-formed DCI message (JSON, shape, ids)."""


def rejected(code, registry_message=None, http_status=None, reference_id=None):
    """A DCIRejectedError whose message names the reason code and the item."""
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
        http_status=http_status,
        reference_id=reference_id,
        registry_message=registry_message,
    )


class DCICallbackRefused(DCIError):
    """We refuse an incoming callback; code and http_status go back to the registry."""

    def __init__(self, message, code, http_status=200):
        super().__init__(message, code=code, http_status=http_status)


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
