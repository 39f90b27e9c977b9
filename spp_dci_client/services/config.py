"""The settings of one data source, read once, as plain values (secrets left out of reprs)."""

from dataclasses import dataclass, field

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
    retry: RetryPolicy

    @property
    def async_search_endpoint(self):
        """The async search path beside the sync one (/registry/sync/search -> /registry/search)."""
        return self.search_endpoint.replace("/sync/", "/", 1)

    @property
    def sync_txn_status_endpoint(self):
        return self.search_endpoint.rsplit("/search", 1)[0] + "/txn/status"

    @property
    def unsubscribe_endpoint(self):
        return self.subscribe_endpoint.replace("/subscribe", "/unsubscribe")
