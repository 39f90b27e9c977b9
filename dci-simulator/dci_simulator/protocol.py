"""The DCI names and envelope pieces a registry needs (SPDCI v1.0.0), in plain Python."""

import json
import uuid
from datetime import UTC, datetime

DCI_VERSION = "1.0.0"

REGISTRY_CIVIL = "ns:org:RegistryType:Civil"
REGISTRY_IBR = "ns:org:RegistryType:IBR"
REGISTRY_DR = "ns:org:RegistryType:DR"
RECORD_TYPE_PERSON = "ns:org:RegistryRecordType:Person"

QUERY_IDTYPE_VALUE = "idtype-value"
QUERY_EXPRESSION = "expression"
QUERY_PREDICATE = "predicate"

ACTION_SEARCH = "search"
ACTION_ON_SEARCH = "on-search"
ACTION_SUBSCRIBE = "subscribe"
ACTION_ON_SUBSCRIBE = "on-subscribe"
ACTION_ON_UNSUBSCRIBE = "on-unsubscribe"
ACTION_NOTIFY = "notify"
ACTION_TXN_STATUS = "txn-status"
ACTION_TXN_ON_STATUS = "txn-on-status"
ACTION_ON_ENROLLED = "on-enrolled"
ACTION_ON_DISABLED = "on-disabled"

PATH_SYNC_SEARCH = "/registry/sync/search"
PATH_SEARCH = "/registry/search"
PATH_SUBSCRIBE = "/registry/subscribe"
PATH_UNSUBSCRIBE = "/registry/unsubscribe"
PATH_TXN_STATUS = "/registry/txn/status"
PATH_SYNC_TXN_STATUS = "/registry/sync/txn/status"
PATH_SYNC_ENROLLED = "/registry/sync/enrolled"
PATH_SYNC_DISABLED = "/registry/sync/disabled"
PATH_SYNC_DISABILITY_DETAILS = "/registry/sync/get-disability-details"
PATH_TOKEN = "/oauth2/client/token"  # noqa: S105
PATH_JWKS = "/.well-known/jwks.json"

STATUS_SUCCESS = "succ"
STATUS_REJECTED = "rjct"
ACK = "ACK"
ERR = "ERR"

ERR_REQUEST_BAD = "err.request.bad"
ERR_UNAUTHORIZED = "err.request.unauthorized"
ERR_FORBIDDEN = "err.request.forbidden"
ERR_NOT_FOUND = "err.request.not_found"
ERR_TIMEOUT = "err.request.timeout"
ERR_TOO_MANY_REQUESTS = "err.request.too_many_requests"
ERR_SERVICE_UNAVAILABLE = "err.service.unavailable"
ERR_SIGNATURE_MISSING = "err.signature.missing"
ERR_SIGNATURE_INVALID = "err.signature.invalid"
ERR_SENDER_URI_INVALID = "err.sender_uri.invalid"
RJCT_REFERENCE_ID_INVALID = "rjct.reference_id.invalid"
RJCT_SEARCH_CRITERIA_INVALID = "rjct.search_criteria.invalid"

# The reason code an HTTP error status carries when nothing more precise is known.
STATUS_CODES = {
    400: ERR_REQUEST_BAD,
    401: ERR_UNAUTHORIZED,
    403: ERR_FORBIDDEN,
    404: ERR_NOT_FOUND,
    408: ERR_TIMEOUT,
    429: ERR_TOO_MANY_REQUESTS,
}


def json_bytes(data):
    return json.dumps(data, separators=(",", ":")).encode()


def new_id():
    return str(uuid.uuid4())


def timestamp():
    """ISO 8601 in UTC with milliseconds, as the spec's DateTime requires."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ack(correlation_id=None):
    return {"message": {"ack_status": ACK, "timestamp": timestamp(), "correlation_id": correlation_id or new_id()}}


def err(code, message):
    return {
        "message": {
            "ack_status": ERR,
            "timestamp": timestamp(),
            "error": {"code": code, "message": message},
            "correlation_id": new_id(),
        }
    }
