"""DCI protocol constants shared by every addon of the suite."""

DCI_VERSION = "1.0.0"

REGISTRY_CIVIL = "ns:org:RegistryType:Civil"
REGISTRY_IBR = "ns:org:RegistryType:IBR"
REGISTRY_DR = "ns:org:RegistryType:DR"
REGISTRY_SOCIAL = "ns:org:RegistryType:Social"
REGISTRY_FR = "ns:org:RegistryType:FR"

REGISTRY_TYPES = [
    (REGISTRY_CIVIL, "Civil registration (CRVS)"),
    (REGISTRY_IBR, "Integrated beneficiary registry (IBR)"),
    (REGISTRY_DR, "Disability registry (DR)"),
    (REGISTRY_SOCIAL, "Social registry"),
    (REGISTRY_FR, "Farmer registry"),
]

# The data source's and the signing key's choices (selection lists), with their values.
DATA_SOURCE_STATES = [("draft", "Not tested"), ("active", "Connected"), ("error", "Error")]
AUTH_NONE = "none"
AUTH_BEARER = "bearer"
AUTH_OAUTH2 = "oauth2"
AUTH_TYPES = [(AUTH_NONE, "None"), (AUTH_BEARER, "Bearer token"), (AUTH_OAUTH2, "OAuth 2.0")]
STYLE_POST = "client_secret_post"
STYLE_BASIC = "client_secret_basic"
STYLE_QUERY = "query"  # credentials in the URL's query string, as OpenCRVS requires
TOKEN_STYLES = [
    (STYLE_POST, "Credentials in the form body (client_secret_post)"),
    (STYLE_BASIC, "HTTP Basic authentication (client_secret_basic)"),
]
CREDENTIAL_LOCATIONS = [("body", "Request body (RFC 6749)"), ("query", "Query string (OpenCRVS)")]
ALGORITHM_ED25519 = "ed25519"
ALGORITHM_RSA = "rsa"
ALGORITHMS = [
    (ALGORITHM_ED25519, "Ed25519"),
    (ALGORITHM_RSA, "RSA, PKCS#1 v1.5 with SHA-256"),
]
PROFILE_CAVAGE = "dci_cavage"
PROFILE_OPENSPP = "openspp"
PROFILE_OPENG2P = "openg2p"
SIGNATURE_PROFILES = [
    (PROFILE_CAVAGE, "DCI specification: signature string in the body"),
    (PROFILE_OPENSPP, "OpenSPP registry: signature string over OpenSPP's header"),
    (PROFILE_OPENG2P, "OpenG2P registry: detached JWS in the Signature HTTP header"),
]
POLICY_REQUIRE = "require"
POLICY_IF_PRESENT = "if_present"
POLICY_OFF = "off"
SIGNATURE_POLICIES = [
    (POLICY_REQUIRE, "Required: unsigned responses are refused"),
    (POLICY_IF_PRESENT, "Verified when present"),
    (POLICY_OFF, "Not verified"),
]
RECORD_FORMATS = [("spdci", "SPDCI specification"), ("opencrvs", "OpenCRVS")]

# Identifier types of the CRVS spec; local types are mapped onto these.
IDENTIFIER_TYPES = [
    ("UIN", "Unique identification number (UIN)"),
    ("BRN", "Birth registration number (BRN)"),
    ("MRN", "Marriage registration number (MRN)"),
    ("DRN", "Death registration number (DRN)"),
]

QUERY_IDTYPE_VALUE = "idtype-value"
QUERY_EXPRESSION = "expression"
QUERY_PREDICATE = "predicate"
QUERY_TYPES = (QUERY_IDTYPE_VALUE, QUERY_EXPRESSION, QUERY_PREDICATE)

PREDICATE_OPERATORS = ("gt", "lt", "eq", "ge", "le", "in")
PREDICATE_CONDITIONS = ("and", "or", "not")

ACTION_SEARCH = "search"
ACTION_ON_SEARCH = "on-search"
ACTION_SUBSCRIBE = "subscribe"
ACTION_ON_SUBSCRIBE = "on-subscribe"
ACTION_UNSUBSCRIBE = "unsubscribe"
ACTION_ON_UNSUBSCRIBE = "on-unsubscribe"
ACTION_NOTIFY = "notify"
ACTION_TXN_STATUS = "txn-status"
ACTION_TXN_ON_STATUS = "txn-on-status"

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

STATUS_RECEIVED = "rcvd"
STATUS_PENDING = "pdng"
STATUS_SUCCESS = "succ"
STATUS_REJECTED = "rjct"

ACK = "ACK"
NACK = "NACK"
ERR = "ERR"

# Reason codes of the spec that the client itself reports.
ERR_REQUEST_BAD = "err.request.bad"
ERR_UNAUTHORIZED = "err.request.unauthorized"
ERR_FORBIDDEN = "err.request.forbidden"
ERR_NOT_FOUND = "err.request.not_found"
ERR_TIMEOUT = "err.request.timeout"
ERR_TOO_MANY_REQUESTS = "err.request.too_many_requests"
ERR_SENDER_ID_INVALID = "err.sender_id.invalid"
ERR_RECEIVER_ID_INVALID = "err.receiver_id.invalid"
ERR_SIGNATURE_PREFIX = "err.signature."
ERR_SIGNATURE_MISSING = ERR_SIGNATURE_PREFIX + "missing"
ERR_SIGNATURE_INVALID = ERR_SIGNATURE_PREFIX + "invalid"
ERR_SERVICE_UNAVAILABLE = "err.service.unavailable"
ERR_VERSION_NOT_SUPPORTED = "err.version.not_supported"
RJCT_REFERENCE_ID_INVALID = "rjct.reference_id.invalid"
RJCT_MESSAGE_ID_DUPLICATE = "rjct.message_id.duplicate"
RJCT_SEARCH_CRITERIA_INVALID = "rjct.search_criteria.invalid"
RJCT_ACTION_NOT_SUPPORTED = "rjct.action.not_supported"

# Locale is ISO 639-3 (spec pattern ^[a-z]{3}$).
DEFAULT_LOCALE = "eng"

# The short names OpenSPP's published API uses, mapped to the spec's values.
REGISTRY_TYPE_ALIASES = {
    "CRVS": REGISTRY_CIVIL,
    "CIVIL": REGISTRY_CIVIL,
    "IBR": REGISTRY_IBR,
    "DR": REGISTRY_DR,
    "DISABILITY_REGISTRY": REGISTRY_DR,
    "SOCIAL_REGISTRY": REGISTRY_SOCIAL,
    "SR": REGISTRY_SOCIAL,
    "FR": REGISTRY_FR,
    "FUNCTIONAL_REGISTRY": REGISTRY_FR,
}
RECORD_TYPE_PREFIX = "ns:org:RegistryRecordType:"
RECORD_TYPE_ALIASES = {
    "PERSON": RECORD_TYPE_PREFIX + "Person",
    "GROUP": RECORD_TYPE_PREFIX + "Group",
    "MEMBER": RECORD_TYPE_PREFIX + "Member",
    "BENEFICIARY": RECORD_TYPE_PREFIX + "Beneficiary",
    "FARMER": RECORD_TYPE_PREFIX + "Farmer",
    "PWD_PERSON": RECORD_TYPE_PREFIX + "DisabledPerson",
}
# CRVS vital events (the spec's names); OpenSPP code spells them BIRTH, DEATH, ...
VITAL_EVENTS = ("live_birth", "death", "fetal_death", "marriage", "divorce", "adoption")
EVENT_TYPE_ALIASES = {
    "BIRTH": "live_birth",
    "LIVE_BIRTH": "live_birth",
    "DEATH": "death",
    "FETAL_DEATH": "fetal_death",
    "MARRIAGE": "marriage",
    "DIVORCE": "divorce",
    "ADOPTION": "adoption",
}


def registry_type(value):
    """The spec's registry type for a spec value or a short name (CRVS, IBR, DR, ...); None if unknown."""
    if value in dict(REGISTRY_TYPES):
        return value
    return REGISTRY_TYPE_ALIASES.get(str(value).upper()) if isinstance(value, str) else None
