"""The settings of one data source, read once, as plain values (secrets left out of reprs)."""

from dataclasses import dataclass, field

from . import constants as C
from .signing import Signer
from .transport import RetryPolicy


@dataclass(frozen=True)
class OAuth2Settings:
    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    scope: str | None
    style: str


@dataclass(frozen=True)
class ClientConfig:
    data_source_id: int
    code: str
    registry_type: str
    base_url: str
    sender_id: str
    receiver_id: str | None
    callback_uri: str | None
    timeout: float
    verify_ssl: bool
    auth_type: str
    bearer_token: str | None = field(repr=False)
    oauth2: OAuth2Settings | None
    signer: Signer | None
    signature_profile: str
    signature_policy: str
    registry_public_key: str | None
    registry_jwks_url: str | None
    registry_key_id: str | None
    search_endpoint: str
    subscribe_endpoint: str
    max_batch_size: int
    max_response_bytes: int
    record_format: str  # the shape of the registry's queries and person records (constants.RECORD_FORMATS)
    retry: RetryPolicy
    # The spec's paths of the other requests, under the base URL: the data
    # source names only the search and subscribe paths.
    async_search_endpoint: str = C.PATH_SEARCH
    sync_txn_status_endpoint: str = C.PATH_SYNC_TXN_STATUS
    unsubscribe_endpoint: str = C.PATH_UNSUBSCRIBE
