import logging
import re
from functools import partial
from urllib.parse import urlsplit

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from ..services import constants as C
from ..services import envelope as E
from ..services import secrets
from ..services.client import DEFAULT_RECORD_TYPE, DCIClient
from ..services.config import ClientConfig, OAuth2Settings
from ..services.errors import (
    DCIAuthenticationError,
    DCIConfigurationError,
    DCIConnectionError,
    DCIError,
    DCIProtocolError,
    DCITimeoutError,
    DCIValidationError,
)
from ..services.keys import JWKSKeys, NoKeys, StaticKeys
from ..services.probe import (
    OUTCOME_BEARER,
    OUTCOME_ISSUED,
    OUTCOME_NO_AUTH,
    OUTCOME_NOT_CHECKED,
    OUTCOME_STORED,
    OUTCOME_UNSIGNED,
    OUTCOME_VALID,
    STEP_ANSWER,
    STEP_ENVELOPE,
    STEP_SEARCH,
    STEP_SIGNATURE,
    STEP_TOKEN,
)
from ..services.transport import NO_RETRY, RetryPolicy

_logger = logging.getLogger(__name__)

CODE_PATTERN = re.compile(r"^[a-z0-9_]+$")
ENDPOINT_PATTERN = re.compile(r"^/[A-Za-z0-9_./-]*$")
URL_PATTERN = re.compile(r"^https?://[^\s/?#]+[^\s?#]*$")
AUTH_REQUIRED_FIELDS = {
    C.AUTH_NONE: (),
    C.AUTH_BEARER: ("bearer_token",),
    C.AUTH_OAUTH2: ("oauth2_client_id", "oauth2_client_secret"),
}
SECRET_FIELDS = {"bearer_token": "bearer_token_stored", "oauth2_client_secret": "oauth2_client_secret_stored"}
STORED_SECRET_FIELDS = set(SECRET_FIELDS.values())
CREDENTIAL_FIELDS = {
    "base_url",
    "auth_type",
    "oauth2_token_url",
    "oauth2_client_id",
    "oauth2_client_secret",
    "oauth2_scope",
    "oauth2_token_style",
    "oauth2_credential_location",
    "auth_endpoint",
}
SECRET_DESTINATION_FIELDS = (
    "base_url",
    "oauth2_token_url",
    "auth_endpoint",
    "search_endpoint",
    "subscribe_endpoint",
    "allow_plain_http",
)
SECRET_OF_AUTH = {C.AUTH_BEARER: "bearer_token", C.AUTH_OAUTH2: "oauth2_client_secret"}
ADMIN_GROUP = "spp_dci_client.group_dci_admin"
# Retries of one call end within this many timeouts (at least MIN_RETRY_SECONDS): room for a slow
# attempt and a quick second one, not for an unbounded wait.
RETRY_TIMEOUTS = 2
MIN_RETRY_SECONDS = 10
# Test Connection: the settings behind a refused response signature, by reason code.
PROBE_SIGNATURE_FIELDS = {
    C.ERR_SIGNATURE_MISSING: ["signature_policy", "signature_profile"],
    None: ["signature_profile", "registry_public_key", "registry_jwks_url", "registry_key_id"],
}


class DciDataSource(models.Model):
    _name = "spp.dci.data.source"
    _inherit = ["mail.thread"]
    _description = "DCI Data Source"
    _order = "name, id"

    name = fields.Char(required=True, tracking=True, help="A name people recognise, e.g. National CRVS.")
    code = fields.Char(
        required=True,
        index=True,
        copy=False,
        tracking=True,
        help="Unique lookup key used by services, e.g. crvs_main. Lowercase letters, digits and underscores.",
    )
    registry_type = fields.Selection(
        C.REGISTRY_TYPES,
        required=True,
        default=C.REGISTRY_CIVIL,
        tracking=True,
        help="The kind of registry: it sets the reg_type of every query.",
    )
    base_url = fields.Char(
        string="Base URL",
        required=True,
        tracking=True,
        help="Base URL of the registry, without a trailing slash, e.g. https://crvs.example.gov/api/v1",
    )
    active = fields.Boolean(default=True, tracking=True)
    state = fields.Selection(
        C.DATA_SOURCE_STATES, string="Status", default="draft", required=True, readonly=True, copy=False
    )
    last_test_date = fields.Datetime(string="Last Tested", readonly=True, copy=False)
    last_error = fields.Text(readonly=True, copy=False, help="What the last Test Connection found wrong.")

    auth_type = fields.Selection(
        C.AUTH_TYPES,
        string="Authentication",
        required=True,
        default=C.AUTH_NONE,
        tracking=True,
        help="How we prove who we are to the registry. DCI registries usually issue OAuth 2.0 client credentials.",
    )
    bearer_token = fields.Char(
        compute="_compute_secrets",
        readonly=False,
        groups=ADMIN_GROUP,
        help="The token the registry gave us. Write-only: the stored value is never shown.",
    )
    bearer_token_stored = fields.Char(groups="base.group_system", copy=False)
    oauth2_token_url = fields.Char(
        string="OAuth2 Token URL", help="Full token URL; empty: the base URL followed by the auth endpoint."
    )
    oauth2_client_id = fields.Char(
        string="OAuth2 Client ID", tracking=True, help="The client id the registry's operators registered for us."
    )
    oauth2_client_secret = fields.Char(
        compute="_compute_secrets",
        readonly=False,
        string="OAuth2 Client Secret",
        groups=ADMIN_GROUP,
        help="The client secret that goes with the client id. Write-only: the stored value is never shown.",
    )
    oauth2_client_secret_stored = fields.Char(groups="base.group_system", copy=False)
    oauth2_scope = fields.Char(string="OAuth2 Scope", help="Only if the registry asks for one; usually empty.")
    oauth2_token_style = fields.Selection(
        C.TOKEN_STYLES, string="Token Request Style", required=True, default=C.STYLE_POST, tracking=True
    )
    oauth2_credential_location = fields.Selection(
        C.CREDENTIAL_LOCATIONS,
        string="OAuth2 Credential Location",
        required=True,
        default="body",
        help="Query string: the client id and secret travel in the token URL, as OpenCRVS requires; "
        "URLs are often logged by proxies and servers, so use it only where the registry demands it.",
    )
    auth_endpoint = fields.Char(
        string="Token Endpoint",
        required=True,
        default=C.PATH_TOKEN,
        tracking=True,
        help="Path of the token endpoint under the base URL.",
    )

    our_sender_id = fields.Char(
        string="Our Sender ID",
        tracking=True,
        help="The sender_id the registry knows this OpenSPP instance by, as registered "
        "with the registry's operators, e.g. openspp.example.org. Required to "
        "send any request.",
    )
    our_callback_uri = fields.Char(
        string="Our Callback URI",
        tracking=True,
        help="Where the registry sends async results and notifications, e.g. https://openspp.example.org/dci/callback",
    )
    receiver_id = fields.Char(
        string="Registry Receiver ID",
        tracking=True,
        help="The receiver_id of our requests. Empty: the host name of the base URL "
        "(OpenSPP registries refuse requests without one).",
    )
    search_endpoint = fields.Char(
        required=True,
        default=C.PATH_SYNC_SEARCH,
        tracking=True,
        help="Path of the synchronous search endpoint under the base URL.",
    )
    subscribe_endpoint = fields.Char(
        required=True,
        default=C.PATH_SUBSCRIBE,
        tracking=True,
        help="Path of the subscribe endpoint under the base URL.",
    )

    signing_key_id = fields.Many2one(
        "spp.dci.signing.key",
        string="Our Signing Key",
        ondelete="restrict",
        default=lambda self: self._default_signing_key(),
        tracking=True,
        help="Our key for signing outgoing messages. Data sources created in the form take the newest active key.",
    )
    signature_profile = fields.Selection(
        C.SIGNATURE_PROFILES,
        required=True,
        default=C.PROFILE_CAVAGE,
        tracking=True,
        help="How messages are signed and verified, in both directions: pick the kind of registry you connect to.",
    )
    signature_policy = fields.Selection(
        C.SIGNATURE_POLICIES,
        string="Response Signatures",
        required=True,
        default=C.POLICY_REQUIRE,
        tracking=True,
        help="What to do with unsigned responses. Checking signatures needs the "
        "registry's key: its JWKS URL or its PEM.",
    )
    registry_public_key = fields.Text(
        string="Registry Public Key (PEM)",
        tracking=True,
        help="The registry's public key, -----BEGIN PUBLIC KEY----- ... Leave empty to use the JWKS URL instead.",
    )
    registry_jwks_url = fields.Char(
        string="Registry JWKS URL",
        tracking=True,
        help="Where the registry publishes its public keys, e.g. "
        "https://crvs.example.gov/.well-known/jwks.json. "
        "Fetch Registry Keys shows the keys found there.",
    )
    registry_key_id = fields.Char(
        string="Registry Key ID",
        tracking=True,
        help="The kid the registry signs with, when it is not the RFC 7638 thumbprint of "
        "the public key above: an OpenSPP registry's <sender>|<key>|<alg> or key part.",
    )
    record_format = fields.Selection(
        C.RECORD_FORMATS, required=True, default="spdci", help="Shape of the registry's queries and person records."
    )
    notify_record_type = fields.Char(
        string="Notification Record Type",
        default=DEFAULT_RECORD_TYPE,
        required=True,
        help="The record type our subscriptions ask the registry to notify.",
    )

    verify_ssl = fields.Boolean(string="Verify TLS Certificates", default=True, tracking=True)
    allow_plain_http = fields.Boolean(
        string="Send credentials over plain HTTP",
        tracking=True,
        help="Off: the client secret, bearer token and access tokens go over https only, or plain http to this "
        "server's loopback. On: also over plain http to other hosts, readable by anyone on the way.",
    )
    timeout = fields.Integer(string="Timeout (seconds)", default=30, required=True)
    max_batch_size = fields.Integer(
        string="Batch Size", default=100, required=True, help="Most search requests sent in one envelope."
    )
    max_attempts = fields.Integer(
        string="Attempts",
        default=3,
        required=True,
        help="Attempts for idempotent calls on connection errors, 429 and 502-504.",
    )
    max_response_kb = fields.Integer(string="Largest Response (KiB)", default=20480, required=True)
    secrets_protected = fields.Boolean(string="Secrets Can Be Stored", compute="_compute_secrets_protected")
    bulk_capacity = fields.Integer(
        string="Concurrent Bulk Requests",
        default=4,
        required=True,
        help="How many bulk-run requests may be in flight to this registry at once, across every worker "
        "and server on this database.",
    )
    bulk_channel_id = fields.Many2one(
        "queue.job.channel",
        string="Job Channel",
        readonly=True,
        copy=False,
        ondelete="set null",
        help="The queue_job channel of its bulk runs.",
    )

    _code_unique = models.Constraint("UNIQUE(code)", "The code of a data source must be unique.")
    _timeout_positive = models.Constraint("CHECK(timeout > 0)", "The timeout must be greater than zero.")
    _batch_positive = models.Constraint("CHECK(max_batch_size > 0)", "The batch size must be greater than zero.")
    _attempts_positive = models.Constraint("CHECK(max_attempts > 0)", "At least one attempt is needed.")
    _response_positive = models.Constraint("CHECK(max_response_kb > 0)", "The response limit must be positive.")
    _bulk_capacity_range = models.Constraint(
        "CHECK(bulk_capacity BETWEEN 1 AND 1024)", "Concurrent bulk requests must be between 1 and 1024."
    )

    @api.model
    def _default_signing_key(self):
        """The newest usable key, for sources made in the form (its action says so); code chooses its own."""
        if not self.env.context.get("dci_form_defaults"):
            return self.env["spp.dci.signing.key"]
        keys = self.env["spp.dci.signing.key"].search([("state", "=", "active")], order="activation_date desc, id desc")
        return keys.filtered("is_usable")[:1]

    @api.depends("bearer_token_stored", "oauth2_client_secret_stored")
    def _compute_secrets(self):
        for record in self:
            stored = record.sudo()
            record.bearer_token = secrets.MASK if stored.bearer_token_stored else False
            record.oauth2_client_secret = secrets.MASK if stored.oauth2_client_secret_stored else False

    def _compute_secrets_protected(self):
        self.secrets_protected = secrets.is_protected()

    @api.constrains("code")
    def _check_code(self):
        for record in self:
            if not CODE_PATTERN.match(record.code or ""):
                raise ValidationError(
                    self.env._(
                        "Data source code %(code)r may only contain lowercase letters, digits and underscores.",
                        code=record.code,
                    )
                )

    @api.constrains("base_url", "oauth2_token_url", "registry_jwks_url", "our_callback_uri")
    def _check_urls(self):
        for record in self:
            for name in ("base_url", "oauth2_token_url", "registry_jwks_url", "our_callback_uri"):
                url = record[name]
                if url and (not URL_PATTERN.match(url) or url.endswith("/")):
                    raise ValidationError(
                        self.env._(
                            "%(field)s must be an http(s) URL without a trailing slash, got %(url)r.",
                            field=record._fields[name].string,
                            url=url,
                        )
                    )

    @api.constrains("search_endpoint", "subscribe_endpoint", "auth_endpoint")
    def _check_endpoints(self):
        """Endpoints are paths under the base URL: an absolute URL would carry the token elsewhere."""
        for record in self:
            for name in ("search_endpoint", "subscribe_endpoint", "auth_endpoint"):
                if not (record[name] or "").startswith("/") or "://" in record[name]:
                    raise ValidationError(
                        self.env._(
                            "%(field)s must be a path starting with /, got %(value)r.",
                            field=record._fields[name].string,
                            value=record[name],
                        )
                    )

    @api.constrains("auth_type", "bearer_token_stored", "oauth2_client_id", "oauth2_client_secret_stored")
    def _check_auth_fields(self):
        for record in self:
            stored = record.sudo()
            present = {
                "bearer_token": stored.bearer_token_stored,
                "oauth2_client_id": stored.oauth2_client_id,
                "oauth2_client_secret": stored.oauth2_client_secret_stored,
            }
            missing = [
                record._fields[name].string for name in AUTH_REQUIRED_FIELDS[record.auth_type] if not present[name]
            ]
            if missing:
                raise ValidationError(
                    self.env._(
                        "Data source %(code)s uses %(auth)s authentication and lacks: %(fields)s.",
                        code=record.code,
                        auth=record.auth_type,
                        fields=", ".join(missing),
                    )
                )

    @api.constrains("registry_public_key")
    def _check_registry_public_key(self):
        for record in self.filtered("registry_public_key"):
            try:
                StaticKeys(record.registry_public_key)
            except DCIConfigurationError as error:
                raise ValidationError(str(error)) from error

    def _register_hook(self):
        super()._register_hook()
        if not secrets.is_protected():
            _logger.warning(
                "DCI: no dci_secret_key (or SPP_DCI_SECRET_KEY) is configured: secrets cannot be stored%s.",
                ", except in plain text (development mode)" if secrets.plain_secrets_allowed() else "",
            )

    def _check_stored_secrets_untouched(self, vals):
        """The encrypted columns are written by this model's code only, never by a caller."""
        if STORED_SECRET_FIELDS & vals.keys() and not self.env.su:
            raise AccessError(self.env._("Secrets are set through their write-only fields, not their stored form."))

    def _secret_follows_destination(self, vals):
        """The values to write, once a changed destination of the secrets is checked.

        Whoever changes where secrets go (base URL, token URL, endpoints, plain
        http) enters the secret of the data source's authentication again, so
        a DCI administrator cannot send a secret he may not read to a server
        of his own; other stored secrets are cleared, so that switching the
        authentication type afterwards cannot send them there either.
        """
        if self.env.su:
            return vals
        vals = dict(vals)
        for record in self:
            moved = [
                name
                for name in SECRET_DESTINATION_FIELDS
                if name in vals and (vals[name] or False) != (record[name] or False)
            ]
            if not moved:
                continue
            secret = SECRET_OF_AUTH.get(vals.get("auth_type", record.auth_type))
            if secret and vals.get(secret) in (None, secrets.MASK) and record.sudo()[SECRET_FIELDS[secret]]:
                raise UserError(
                    self.env._(
                        "Changing %(fields)s sends the %(secret)s somewhere else: enter the %(secret)s again.",
                        fields=", ".join(record._fields[name].string for name in moved),
                        secret=record._fields[secret].string,
                    )
                )
            for other in SECRET_FIELDS:
                if other != secret and vals.get(other) in (None, secrets.MASK):
                    vals[other] = False
        return vals

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_stored_secrets_untouched(vals)
        vals_list = [self._normalize_vals(vals) for vals in vals_list]
        if any(STORED_SECRET_FIELDS & vals.keys() for vals in vals_list):
            self.check_access("create")
            records = super(DciDataSource, self.sudo()).create(vals_list).with_env(self.env)
        else:
            records = super().create(vals_list)
        records._sync_bulk_channel()
        return records

    def write(self, vals):
        """Secrets go to group_system columns: the caller's rights are checked, then sudo writes them."""
        self._check_stored_secrets_untouched(vals)
        normalized = self._normalize_vals(self._secret_follows_destination(vals))
        target = self
        if STORED_SECRET_FIELDS & normalized.keys():
            self.check_access("write")
            target = self.sudo()
        result = super(DciDataSource, target).write(normalized)
        self._note_secret_changes(vals)
        if CREDENTIAL_FIELDS & vals.keys():
            self.clear_oauth2_token_cache()
        if "code" in vals:
            self._sync_bulk_channel()
        return result

    def _note_secret_changes(self, vals):
        """Say in the chatter that a secret changed, naming the field only: a secret is never tracked."""
        changed = [self._fields[name].string for name in SECRET_FIELDS if name in vals and vals[name] != secrets.MASK]
        if changed:
            body = self.env._("Changed: %s (the value is not recorded).", ", ".join(changed))
            for record in self:
                record.sudo()._message_log(body=body, author_id=self.env.user.partner_id.id)

    def action_fetch_registry_keys(self):
        """Open the JWKS fetch for this data source, at its JWKS URL or the usual path under its base URL."""
        self.ensure_one()
        self.check_access("write")
        wizard = self.env["spp.dci.jwks.fetch"].create(
            {
                "data_source_id": self.id,
                "url": self.registry_jwks_url or self.base_url + C.PATH_JWKS,
            }
        )
        return wizard._action_reopen()

    def action_use_new_signing_key(self):
        """Generate and activate a new Ed25519 key and sign this data source's messages with it."""
        self.ensure_one()
        self.check_access("write")
        key = self.env["spp.dci.signing.key"].create({"name": self.env._("%s signing key", self.name)})
        key.action_generate()
        key.action_activate()
        self.signing_key_id = key
        return True

    def _sync_bulk_channel(self):
        """Give each data source its queue_job channel root.dci.<code> (created, or renamed with the code)."""
        parent = self.env.ref("spp_dci_client.queue_channel_dci").sudo()
        for record in self.sudo():
            if record.bulk_channel_id:
                record.bulk_channel_id.name = record.code
            else:
                channel = (
                    self.env["queue.job.channel"]
                    .sudo()
                    .search([("name", "=", record.code), ("parent_id", "=", parent.id)], limit=1)
                )
                record.bulk_channel_id = channel or channel.create({"name": record.code, "parent_id": parent.id})

    def _bulk_channel_name(self):
        self.ensure_one()
        if not self.sudo().bulk_channel_id:
            self._sync_bulk_channel()
        return self.sudo().bulk_channel_id.complete_name

    @api.model
    def _normalize_vals(self, vals):
        """Strip codes and URLs; turn written secrets into their encrypted columns.

        The secret fields show a mask; writing the mask back keeps the stored
        value, writing anything else replaces it, writing nothing clears it.
        """
        vals = dict(vals)
        for name in ("code", "base_url", "our_sender_id", "receiver_id", "registry_key_id"):
            if isinstance(vals.get(name), str):
                vals[name] = vals[name].strip()
        for name, stored in SECRET_FIELDS.items():
            if name in vals:
                value = vals.pop(name)
                if value != secrets.MASK:
                    vals[stored] = secrets.encrypt(value)
        return vals

    @api.model
    def get_by_code(self, code):
        """The active data source with this code; DCIConfigurationError naming the code if there is none.

        Any user may look a data source up to use a service; reading or
        changing it stays with DCI administrators (services read the settings
        they need with sudo, in _get_client_config).
        """
        if not isinstance(code, str) or not code:
            raise DCIConfigurationError(
                self.env._("A data source code (a non-empty string) is required, got %r.", code)
            )
        data_source = self.sudo().search([("code", "=", code)], limit=1).with_env(self.env)
        if not data_source:
            raise DCIConfigurationError(
                self.env._(
                    "No active DCI data source has the code %r. Create one under DCI > Data Sources.",
                    code,
                )
            )
        return data_source

    @api.model
    def get_by_registry_type(self, registry_type):
        """The active data sources of a registry type: the spec's value or a short name (CRVS, IBR, DR, ...)."""
        found = C.registry_type(registry_type)
        if not found:
            raise DCIValidationError(
                self.env._(
                    "Unknown registry type %(value)r: use one of %(names)s or a spec registry type.",
                    value=registry_type,
                    names=", ".join(C.REGISTRY_TYPE_ALIASES),
                )
            )
        return self.sudo().search([("registry_type", "=", found)]).with_env(self.env)

    def clear_oauth2_token_cache(self):
        """Forget the stored and cached OAuth2 tokens, so the next request authenticates again."""
        self.check_access("write")
        self.env["spp.dci.oauth.token"].sudo()._forget(self.ids)
        return True

    @api.private
    def get_oauth2_token(self, force_refresh=False):
        """The OAuth2 access token requests carry, renewed first with ``force_refresh``.

        For server code only: Python callers may use it, RPC callers may not
        (a token is a credential).
        """
        self.ensure_one()
        if self.sudo().auth_type != C.AUTH_OAUTH2:
            raise DCIValidationError(self.env._("Data source %s does not use OAuth2 authentication.", self.sudo().code))
        if force_refresh:
            self.env["spp.dci.oauth.token"].sudo()._forget(self.ids)
        return self.get_access_token()

    @api.private
    def get_access_token(self):
        """The credential requests to this registry carry: the OAuth2 token (cached), the bearer token, or None."""
        self.ensure_one()
        with self._dci_client() as client:
            return client._token()

    @api.private
    def make_request(self, endpoint, message, action=None):
        """A signed, authenticated request to ``endpoint``; returns the checked response envelope.

        ``message`` is the DCI message, or a whole envelope whose header gives
        the action (the header itself is rebuilt and signed here).
        """
        self.ensure_one()
        if isinstance(message, dict) and isinstance(message.get("message"), dict):
            action = action or (message.get("header") or {}).get("action")
            message = message["message"]
        if not isinstance(message, dict) or not action:
            raise DCIValidationError(self.env._("make_request needs a DCI message and its action."))
        with self._dci_client() as client:
            return client.post_sync(self._check_endpoint(endpoint), E.check_token(action, "action"), message)[0]

    @api.model
    def _check_endpoint(self, endpoint):
        if not isinstance(endpoint, str) or not ENDPOINT_PATTERN.match(endpoint) or ".." in endpoint:
            raise DCIValidationError(
                self.env._("Invalid endpoint %r: a path such as /registry/sync/search is required.", endpoint)
            )
        return endpoint

    def _get_oauth2_token(self, transport, rejected=None):
        """A valid OAuth2 access token (internal: never expose it over RPC)."""
        self.ensure_one()
        return self._get_token_provider(self._get_client_config()).get(transport, rejected=rejected)

    def _dci_client(self, retry=None):
        """The DCIClient of this data source, as services and jobs get it.

        The hook an addon overrides to hand out a client of its own (a
        subclass, other parts); ``retry`` replaces the data source's policy.
        """
        self.ensure_one()
        return DCIClient.from_parts(**self._dci_client_parts(), retry=retry)

    def _dci_client_parts(self):
        """What a DCIClient is made of: settings, registry keys, token provider and message-log sink."""
        self.ensure_one()
        config = self._get_client_config()
        return {
            "config": config,
            "keys": self._get_registry_key_resolver(config),
            "tokens": self._get_token_provider(config) if config.oauth2 else None,
            "message_log": partial(self.env["spp.dci.transaction"]._log_message, config, self.env.uid),
        }

    def _get_token_provider(self, config):
        return self.env["spp.dci.oauth.token"].sudo()._token_provider(config)

    def _get_client_config(self):
        """The settings a DCIClient needs, as plain values (secrets decrypted here only)."""
        self.ensure_one()
        record = self.sudo()
        missing = [record._fields[name].string for name in ("base_url", "our_sender_id") if not record[name]]
        if missing:
            raise DCIValidationError(
                self.env._(
                    "Data source %(code)s cannot be used: %(fields)s not set.",
                    code=record.code,
                    fields=", ".join(missing),
                )
            )
        token_url = record.oauth2_token_url or record.base_url + record.auth_endpoint
        if record.auth_type != C.AUTH_NONE:
            secrets.check_destination(record.base_url, record.allow_plain_http)
        if record.auth_type == C.AUTH_OAUTH2:
            secrets.check_destination(token_url, record.allow_plain_http)
        signer = record.signing_key_id._get_signer() if record.signing_key_id else None
        return ClientConfig(
            data_source_id=record.id,
            code=record.code,
            registry_type=record.registry_type,
            base_url=record.base_url,
            sender_id=record.our_sender_id,
            receiver_id=record.receiver_id or urlsplit(record.base_url).hostname,
            callback_uri=record.our_callback_uri or None,
            timeout=float(record.timeout),
            verify_ssl=record.verify_ssl,
            auth_type=record.auth_type,
            bearer_token=secrets.decrypt(record.bearer_token_stored) if record.auth_type == C.AUTH_BEARER else None,
            oauth2=OAuth2Settings(
                token_url=token_url,
                client_id=record.oauth2_client_id,
                client_secret=secrets.decrypt(record.oauth2_client_secret_stored),
                scope=record.oauth2_scope or None,
                style=C.STYLE_QUERY if record.oauth2_credential_location == "query" else record.oauth2_token_style,
            )
            if record.auth_type == C.AUTH_OAUTH2
            else None,
            signer=signer,
            signature_profile=record.signature_profile,
            signature_policy=record.signature_policy,
            registry_public_key=record.registry_public_key or None,
            registry_jwks_url=record.registry_jwks_url or None,
            registry_key_id=record.registry_key_id or None,
            search_endpoint=record.search_endpoint,
            subscribe_endpoint=record.subscribe_endpoint,
            max_batch_size=record.max_batch_size,
            max_response_bytes=record.max_response_kb * 1024,
            record_format=record.record_format,
            retry=RetryPolicy(
                max_attempts=record.max_attempts,
                max_total_seconds=max(record.timeout * RETRY_TIMEOUTS, MIN_RETRY_SECONDS),
            ),
        )

    @api.model
    def _get_registry_key_resolver(self, config):
        if config.registry_public_key:
            return StaticKeys(config.registry_public_key, config.registry_key_id)
        if config.registry_jwks_url:
            return JWKSKeys(config.registry_jwks_url, timeout=config.timeout, verify=config.verify_ssl)
        return NoKeys()

    def test_connection(self):
        """Check authentication, a minimal DCI request, the envelope, its signature and the answer.

        Records the outcome in state, last_test_date and last_error, and returns
        a notification listing each step (what happened, where, how long it
        took) and, for a failure, the settings to look at; it never raises to
        the UI.
        """
        self.ensure_one()
        self.check_access("write")
        lines = []
        try:
            with self._dci_client(retry=NO_RETRY) as client:
                steps = client.probe(origin=f"{self._name},{self.id}")
            lines = [(step.ok, self._probe_line(step)) for step in steps]
        except DCIError as error:
            lines.append((False, self.env._("Settings: %s", error)))
        except Exception:
            _logger.exception("DCI data source %s: Test Connection failed unexpectedly", self.code)
            lines.append((False, self.env._("Unexpected error; the server log has the details.")))
        failure = next((text for ok, text in lines if not ok), None)
        self.write(
            {
                "state": "error" if failure else "active",
                "last_test_date": fields.Datetime.now(),
                "last_error": failure or False,
            }
        )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Connection to %s failed", self.name)
                if failure
                else self.env._("Connection to %s works", self.name),
                # Odoo 19 writes the title and the message in one paragraph: the steps start on a line of their own.
                "message": "".join("\n" + ("✔ " if ok else "✘ ") + text for ok, text in lines),
                "type": "danger" if failure else "success",
                "sticky": bool(failure),
                "className": "o_spp_dci_test_connection",
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def _probe_line(self, step):
        """One step of the probe in words: what happened, where, in how long; for a failure, what to check."""
        label = {
            STEP_TOKEN: self.env._("Token request"),
            STEP_SEARCH: self.env._("Search request"),
            STEP_ENVELOPE: self.env._("Response envelope"),
            STEP_SIGNATURE: self.env._("Response signature"),
            STEP_ANSWER: self.env._("Answer"),
        }[step.name]
        text = self._probe_outcome(step) if step.ok else self._probe_failure(step)
        line = self.env._(
            "%(label)s: %(text)s (%(where)s%(ms)d ms).",
            label=label,
            text=text,
            where=f"{step.url}, " if step.url else "",
            ms=step.ms,
        )
        if step.ok:
            return line
        names = [self._fields[name]._description_string(self.env) for name in self._probe_fields_to_check(step)]
        return line + " " + self.env._("Check: %s.", ", ".join(names))

    def _probe_outcome(self, step):
        if step.name == STEP_SEARCH:
            return self.env._("HTTP %s", step.detail)
        if step.name == STEP_ENVELOPE:
            return self.env._("a valid on-search message")
        if step.name == STEP_ANSWER:
            return self.env._("it answers the test search")
        if step.outcome == OUTCOME_VALID:
            return self.env._("valid (key %s)", step.detail.kid or "-")
        return {
            OUTCOME_ISSUED: self.env._("a new token was issued"),
            OUTCOME_STORED: self.env._("a token another worker had just stored was used"),
            OUTCOME_BEARER: self.env._("none requested, the data source's bearer token was sent"),
            OUTCOME_NO_AUTH: self.env._("none, this data source uses no authentication"),
            OUTCOME_UNSIGNED: self.env._("the registry did not sign; accepted, as Response Signatures allows"),
            OUTCOME_NOT_CHECKED: self.env._("not checked (Response Signatures: not verified)"),
        }[step.outcome]

    def _probe_failure(self, step):
        """What went wrong, in words that say who said it: a registry, some other server, or nobody."""
        error = step.error
        if isinstance(error, DCITimeoutError):
            if error.reached_registry:
                return self.env._(
                    "no answer within %(seconds)s s: the server accepted the connection, then sent "
                    "nothing (the timeout)",
                    seconds=self.timeout,
                )
            return self.env._("no connection within %(seconds)s s (the timeout)", seconds=self.timeout)
        if _answered_by_another_server(error):
            return self.env._(
                "HTTP %s, from a server that is not a DCI registry (its answer is no DCI message)",
                error.response_status,
            )
        return str(error)

    def _probe_fields_to_check(self, step):
        """The settings that decide the failed step, most likely first."""
        error, code = step.error, step.error.code or ""
        url_field = "oauth2_token_url" if step.name == STEP_TOKEN and self.oauth2_token_url else "base_url"
        if isinstance(error, DCITimeoutError):
            return ["timeout", url_field]
        if isinstance(error, DCIConnectionError):
            return [url_field, "verify_ssl"] if (step.url or "").startswith("https:") else [url_field]
        if _answered_by_another_server(error):
            return [url_field] if step.name == STEP_TOKEN else ["base_url", "search_endpoint"]
        if step.name == STEP_TOKEN:
            return ["oauth2_client_id", "oauth2_client_secret", "oauth2_scope", "oauth2_token_url"]
        if step.name == STEP_SIGNATURE:
            return PROBE_SIGNATURE_FIELDS.get(code, PROBE_SIGNATURE_FIELDS[None])
        if code.startswith(C.ERR_SIGNATURE_PREFIX):  # the registry refused our request's signature
            return ["signing_key_id", "signature_profile", "our_sender_id"]
        if code in (C.ERR_SENDER_ID_INVALID, C.ERR_RECEIVER_ID_INVALID):
            return ["our_sender_id", "receiver_id"]
        if isinstance(error, DCIAuthenticationError):
            return ["auth_type", "bearer_token", "oauth2_client_id", "oauth2_client_secret"]
        if step.name == STEP_SEARCH or isinstance(error, DCIProtocolError):
            return ["base_url", "search_endpoint"]
        return ["registry_type"]


def _answered_by_another_server(error):
    """An HTTP error whose body is no JSON: a web server's own page (a 404 of Odoo, a proxy's 502), no registry."""
    return bool(error.response_status) and not getattr(error, "from_registry", True)
