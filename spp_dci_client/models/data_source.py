import logging
import re
import time

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..services import constants as C
from ..services import envelope as E
from ..services import secrets
from ..services.client import DEFAULT_RECORD_TYPE, POLICY_OFF, POLICY_REQUIRE, SIGNATURE_POLICIES, DCIClient
from ..services.config import ClientConfig, OAuth2Settings
from ..services.errors import DCIConfigurationError, DCIError
from ..services.keys import JWKSKeys, NoKeys, StaticKeys
from ..services.oauth import STYLE_POST, STYLES
from ..services.signing import PROFILE_CAVAGE, PROFILES
from ..services.transport import NO_RETRY, RetryPolicy

_logger = logging.getLogger(__name__)

CODE_PATTERN = re.compile(r"^[a-z0-9_]+$")
URL_PATTERN = re.compile(r"^https?://[^\s/?#]+[^\s?#]*$")
AUTH_REQUIRED_FIELDS = {
    "none": (),
    "bearer": ("bearer_token",),
    "oauth2": ("oauth2_client_id", "oauth2_client_secret"),
}
SECRET_FIELDS = {"bearer_token": "bearer_token_stored", "oauth2_client_secret": "oauth2_client_secret_stored"}
STORED_SECRET_FIELDS = set(SECRET_FIELDS.values())
CREDENTIAL_FIELDS = {"base_url", "auth_type", "oauth2_token_url", "oauth2_client_id", "oauth2_client_secret",
                     "oauth2_scope", "oauth2_token_style", "auth_endpoint"}
ADMIN_GROUP = "spp_dci_client.group_dci_admin"


class DciDataSource(models.Model):
    _name = "spp.dci.data.source"
    _description = "DCI Data Source"
    _order = "name, id"

    name = fields.Char(required=True)
    code = fields.Char(required=True, index=True, copy=False,
                       help="Unique lookup key used by services, e.g. crvs_main. "
                            "Lowercase letters, digits and underscores.")
    registry_type = fields.Selection(C.REGISTRY_TYPES, required=True, default=C.REGISTRY_CIVIL)
    base_url = fields.Char(string="Base URL", required=True,
                           help="Base URL of the registry, without a trailing slash, "
                                "e.g. https://crvs.example.gov/api/v1")
    active = fields.Boolean(default=True)
    state = fields.Selection([("draft", "Not tested"), ("active", "Connected"), ("error", "Error")],
                             default="draft", required=True, readonly=True, copy=False)
    last_test_date = fields.Datetime(readonly=True, copy=False)
    last_error = fields.Text(readonly=True, copy=False)

    auth_type = fields.Selection([("none", "None"), ("bearer", "Bearer token"), ("oauth2", "OAuth 2.0")],
                                 required=True, default="none")
    bearer_token = fields.Char(compute="_compute_secrets", readonly=False, groups=ADMIN_GROUP,
                               help="Write-only: the stored value is never shown.")
    bearer_token_stored = fields.Char(groups="base.group_system", copy=False)
    oauth2_token_url = fields.Char(string="OAuth2 Token URL",
                                   help="Full token URL; empty: the base URL followed by the auth endpoint.")
    oauth2_client_id = fields.Char(string="OAuth2 Client ID")
    oauth2_client_secret = fields.Char(compute="_compute_secrets", readonly=False, string="OAuth2 Client Secret",
                                       groups=ADMIN_GROUP, help="Write-only: the stored value is never shown.")
    oauth2_client_secret_stored = fields.Char(groups="base.group_system", copy=False)
    oauth2_scope = fields.Char(string="OAuth2 Scope")
    oauth2_token_style = fields.Selection(STYLES, string="Token Request Style", required=True, default=STYLE_POST)
    auth_endpoint = fields.Char(required=True, default=C.PATH_TOKEN)

    our_sender_id = fields.Char(string="Our Sender ID",
                                help="The sender_id the registry knows this OpenSPP instance by.")
    our_callback_uri = fields.Char(string="Our Callback URI",
                                   help="Where the registry sends async results and notifications, "
                                        "e.g. https://openspp.example.org/dci/callback")
    receiver_id = fields.Char(string="Registry Receiver ID")
    search_endpoint = fields.Char(required=True, default=C.PATH_SYNC_SEARCH)
    subscribe_endpoint = fields.Char(required=True, default=C.PATH_SUBSCRIBE)

    signing_key_id = fields.Many2one("spp.dci.signing.key", ondelete="restrict",
                                     help="Our key for signing outgoing messages.")
    signature_profile = fields.Selection(PROFILES, required=True, default=PROFILE_CAVAGE,
                                         help="How messages are signed and verified, in both directions.")
    signature_policy = fields.Selection(SIGNATURE_POLICIES, string="Response Signatures", required=True,
                                        default=POLICY_REQUIRE)
    registry_public_key = fields.Text(string="Registry Public Key (PEM)")
    registry_jwks_url = fields.Char(string="Registry JWKS URL")
    record_format = fields.Selection([("spdci", "SPDCI specification"), ("opencrvs", "OpenCRVS")],
                                     required=True, default="spdci",
                                     help="Shape of the registry's queries and person records.")
    notify_record_type = fields.Char(default=DEFAULT_RECORD_TYPE, required=True)

    verify_ssl = fields.Boolean(string="Verify TLS Certificates", default=True)
    timeout = fields.Integer(string="Timeout (seconds)", default=30, required=True)
    max_batch_size = fields.Integer(default=100, required=True,
                                    help="Most search requests sent in one envelope.")
    max_attempts = fields.Integer(default=3, required=True,
                                  help="Attempts for idempotent calls on connection errors, 429 and 502-504.")
    max_response_kb = fields.Integer(string="Largest Response (KiB)", default=20480, required=True)
    secrets_protected = fields.Boolean(compute="_compute_secrets_protected")
    bulk_capacity = fields.Integer(
        string="Concurrent Bulk Requests", default=4, required=True,
        help="How many bulk-run requests may be in flight to this registry at once, across every worker "
             "and server on this database.")
    bulk_channel_id = fields.Many2one("queue.job.channel", string="Job Channel", readonly=True, copy=False,
                                      ondelete="set null", help="The queue_job channel of its bulk runs.")

    _code_unique = models.Constraint("UNIQUE(code)", "The code of a data source must be unique.")
    _timeout_positive = models.Constraint("CHECK(timeout > 0)", "The timeout must be greater than zero.")
    _batch_positive = models.Constraint("CHECK(max_batch_size > 0)", "The batch size must be greater than zero.")
    _attempts_positive = models.Constraint("CHECK(max_attempts > 0)", "At least one attempt is needed.")
    _response_positive = models.Constraint("CHECK(max_response_kb > 0)", "The response limit must be positive.")
    _bulk_capacity_range = models.Constraint("CHECK(bulk_capacity BETWEEN 1 AND 1024)",
                                             "Concurrent bulk requests must be between 1 and 1024.")

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
                raise ValidationError(self.env._(
                    "Data source code %(code)r may only contain lowercase letters, digits and underscores.",
                    code=record.code,
                ))

    @api.constrains("base_url", "oauth2_token_url", "registry_jwks_url", "our_callback_uri")
    def _check_urls(self):
        for record in self:
            for name in ("base_url", "oauth2_token_url", "registry_jwks_url", "our_callback_uri"):
                url = record[name]
                if url and (not URL_PATTERN.match(url) or url.endswith("/")):
                    raise ValidationError(self.env._(
                        "%(field)s must be an http(s) URL without a trailing slash, got %(url)r.",
                        field=record._fields[name].string, url=url,
                    ))

    @api.constrains("auth_type", "bearer_token_stored", "oauth2_client_id", "oauth2_client_secret_stored")
    def _check_auth_fields(self):
        for record in self:
            stored = record.sudo()
            present = {
                "bearer_token": stored.bearer_token_stored,
                "oauth2_client_id": stored.oauth2_client_id,
                "oauth2_client_secret": stored.oauth2_client_secret_stored,
            }
            missing = [record._fields[name].string for name in AUTH_REQUIRED_FIELDS[record.auth_type]
                       if not present[name]]
            if missing:
                raise ValidationError(self.env._(
                    "Data source %(code)s uses %(auth)s authentication and lacks: %(fields)s.",
                    code=record.code, auth=record.auth_type, fields=", ".join(missing),
                ))

    @api.constrains("registry_public_key")
    def _check_registry_public_key(self):
        for record in self.filtered("registry_public_key"):
            try:
                StaticKeys(record.registry_public_key)
            except DCIConfigurationError as error:
                raise ValidationError(str(error)) from error

    @api.model_create_multi
    def create(self, vals_list):
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
        normalized = self._normalize_vals(vals)
        target = self
        if STORED_SECRET_FIELDS & normalized.keys():
            self.check_access("write")
            target = self.sudo()
        result = super(DciDataSource, target).write(normalized)
        if CREDENTIAL_FIELDS & vals.keys():
            self.clear_oauth2_token_cache()
        if "code" in vals:
            self._sync_bulk_channel()
        return result

    def _sync_bulk_channel(self):
        """Give each data source its queue_job channel root.dci.<code> (created, or renamed with the code)."""
        parent = self.env.ref("spp_dci_client.queue_channel_dci").sudo()
        for record in self.sudo():
            if record.bulk_channel_id:
                record.bulk_channel_id.name = record.code
            else:
                channel = self.env["queue.job.channel"].sudo().search(
                    [("name", "=", record.code), ("parent_id", "=", parent.id)], limit=1)
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
        for name in ("code", "base_url", "our_sender_id", "receiver_id"):
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
        """The active data source with this code; UserError naming the code if there is none.

        Any user may look a data source up to use a service; reading or
        changing it stays with DCI administrators (services read the settings
        they need with sudo, in _get_client_config).
        """
        if not isinstance(code, str) or not code:
            raise UserError(self.env._("A data source code (a non-empty string) is required, got %r.", code))
        data_source = self.sudo().search([("code", "=", code)], limit=1).with_env(self.env)
        if not data_source:
            raise UserError(self.env._(
                "No active DCI data source has the code %r. Create one under Settings > DCI > Data Sources.", code,
            ))
        return data_source

    @api.model
    def get_by_registry_type(self, registry_type):
        return self.sudo().search([("registry_type", "=", registry_type)]).with_env(self.env)

    def clear_oauth2_token_cache(self):
        """Forget the stored and cached OAuth2 tokens, so the next request authenticates again."""
        self.check_access("write")
        self.env["spp.dci.oauth.token"].sudo()._forget(self.ids)
        return True

    def _get_oauth2_token(self, transport, rejected=None):
        """A valid OAuth2 access token (internal: never expose it over RPC)."""
        self.ensure_one()
        return self._get_token_provider(self._get_client_config()).get(transport, rejected=rejected)

    def _get_token_provider(self, config):
        return self.env["spp.dci.oauth.token"].sudo()._token_provider(config)

    def _get_client_config(self):
        """The settings a DCIClient needs, as plain values (secrets decrypted here only)."""
        self.ensure_one()
        record = self.sudo()
        missing = [record._fields[name].string for name in ("base_url", "our_sender_id") if not record[name]]
        if missing:
            raise DCIConfigurationError(self.env._(
                "Data source %(code)s cannot be used: %(fields)s not set.", code=record.code,
                fields=", ".join(missing),
            ))
        signer = record.signing_key_id._get_signer() if record.signing_key_id else None
        return ClientConfig(
            data_source_id=record.id,
            code=record.code,
            registry_type=record.registry_type,
            base_url=record.base_url,
            sender_id=record.our_sender_id,
            receiver_id=record.receiver_id or None,
            callback_uri=record.our_callback_uri or None,
            timeout=float(record.timeout),
            verify_ssl=record.verify_ssl,
            auth_type=record.auth_type,
            bearer_token=secrets.decrypt(record.bearer_token_stored) if record.auth_type == "bearer" else None,
            oauth2=OAuth2Settings(
                token_url=record.oauth2_token_url or record.base_url + record.auth_endpoint,
                client_id=record.oauth2_client_id,
                client_secret=secrets.decrypt(record.oauth2_client_secret_stored),
                scope=record.oauth2_scope or None,
                style=record.oauth2_token_style,
            ) if record.auth_type == "oauth2" else None,
            signer=signer,
            signature_profile=record.signature_profile,
            signature_policy=record.signature_policy,
            registry_public_key=record.registry_public_key or None,
            registry_jwks_url=record.registry_jwks_url or None,
            search_endpoint=record.search_endpoint,
            subscribe_endpoint=record.subscribe_endpoint,
            max_batch_size=record.max_batch_size,
            max_response_bytes=record.max_response_kb * 1024,
            retry=RetryPolicy(max_attempts=record.max_attempts, max_total_seconds=max(record.timeout * 2, 10)),
        )

    @api.model
    def _get_registry_key_resolver(self, config):
        if config.registry_public_key:
            return StaticKeys(config.registry_public_key)
        if config.registry_jwks_url:
            return JWKSKeys(config.registry_jwks_url, timeout=config.timeout, verify=config.verify_ssl)
        return NoKeys()

    def test_connection(self):
        """Check authentication, a minimal DCI request, the envelope and its signature.

        Records the outcome in state, last_test_date and last_error, and returns
        a notification listing each step; it never raises to the UI.
        """
        self.ensure_one()
        self.check_access("write")
        steps = []
        failure = None
        try:
            failure = self._run_connection_steps(steps)
        except DCIError as error:
            failure = str(error)
        except Exception:
            _logger.exception("DCI data source %s: Test Connection failed unexpectedly", self.code)
            failure = self.env._("Unexpected error; the server log has the details.")
        if failure:
            steps.append((False, failure))
        self.write({
            "state": "error" if failure else "active",
            "last_test_date": fields.Datetime.now(),
            "last_error": failure or False,
        })
        lines = "\n".join(("✔ " if ok else "✘ ") + text for ok, text in steps)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Connection to %s failed", self.name) if failure
                else self.env._("Connection to %s works", self.name),
                "message": lines,
                "type": "danger" if failure else "success",
                "sticky": bool(failure),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def _run_connection_steps(self, steps):
        """Append (ok, text) per step; return the failure text or None.

        The steps go through a DCIClient without retries, so they exercise
        exactly what services use: auth, signing, transport and checks.
        """
        with DCIClient(self, self.env, retry=NO_RETRY) as client:
            config = client.config
            if config.auth_type == "oauth2":
                started = time.monotonic()
                self.clear_oauth2_token_cache()
                token = client._token()
                steps.append((True, self.env._("Token request: a token was issued (%d ms).",
                                               (time.monotonic() - started) * 1000)))
            else:
                token = client._token()
            started = time.monotonic()
            item = E.search_item(C.QUERY_IDTYPE_VALUE, {"type": "UIN", "value": "connection-test"},
                                 reg_type=config.registry_type, page_size=1)
            response = client._post_once(config.search_endpoint, C.ACTION_SEARCH,
                                         E.search_message(E.new_id(), [item]), 1, None, token)
            steps.append((True, self.env._("Search request: HTTP %(status)s in %(ms)d ms.",
                                           status=response.status, ms=(time.monotonic() - started) * 1000)))
            envelope = E.check_envelope(response.json())
            E.check_response_items(envelope, "search_response", [item["reference_id"]])
            steps.append((True, self.env._("Response envelope: a valid on-search message.")))
            if config.signature_policy == POLICY_OFF:
                steps.append((True, self.env._("Response signature: not checked (policy: not verified).")))
            elif envelope.get("signature") or config.signature_policy == POLICY_REQUIRE:
                verified = client.profile.verify(envelope, client.keys.resolve)
                steps.append((True, self.env._("Response signature: valid (key %s).", verified.kid)))
            else:
                steps.append((True, self.env._("Response signature: the registry did not sign.")))
