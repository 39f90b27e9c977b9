import hashlib
import hmac
import secrets as token_secrets

from odoo import api, fields, models

from ..services import constants as C
from ..services import freshness
from ..services.errors import DCICallbackRefused, DCISignatureError
from ..services.signing import get_profile

ADMIN_GROUP = "spp_dci_client.group_dci_admin"


def _digest(token):
    return hashlib.sha256(token.encode()).hexdigest()


class DciDataSource(models.Model):
    """How callbacks of a data source's registry are authenticated.

    A callback is accepted when it is signed by the registry's key (checked
    against the key or JWKS URL configured here, whatever the response
    signature policy says), or, when it is not signed, when it carries in
    ``Authorization: Bearer`` the callback token we issued for this source.
    A signature that is present must be valid, token or not. Only the token's
    SHA-256 is stored: it is shown once, when generated.
    """

    _inherit = "spp.dci.data.source"

    callback_token_hash = fields.Char(groups="base.group_system", copy=False, readonly=True)
    callback_token_issued = fields.Boolean(compute="_compute_callback_token_issued")

    @api.depends("callback_token_hash")
    def _compute_callback_token_issued(self):
        for record in self:
            record.callback_token_issued = bool(record.sudo().callback_token_hash)

    def action_generate_callback_token(self):
        """Issue a new callback token (the previous one stops working) and show it once."""
        self.ensure_one()
        self.check_access("write")
        token = token_secrets.token_urlsafe(32)
        self.sudo().callback_token_hash = _digest(token)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Callback token for %s", self.name),
                "message": self.env._(
                    "Give the registry this token, to send as 'Authorization: Bearer <token>' with its "
                    "callbacks. It is shown only now: %s",
                    token,
                ),
                "type": "warning",
                "sticky": True,
            },
        }

    def action_revoke_callback_token(self):
        self.check_access("write")
        self.sudo().callback_token_hash = False
        return True

    def _authenticate_callback(self, envelope, token, http_signature=None):
        """Accept the callback's signature or our token, then claim its message_id; DCICallbackRefused if not.

        ``http_signature`` is the HTTP Signature header (OpenG2P signs there).
        """
        self.ensure_one()
        head = envelope["header"]
        try:
            message_id = freshness.message_id_of(head)
            if envelope.get("signature") is not None or http_signature:
                config = self._get_client_config()
                verified = freshness.verify_signature(
                    get_profile(config.signature_profile),
                    envelope,
                    self._get_registry_key_resolver(config).resolve,
                    http_signature=http_signature,
                )
                accepted_until = freshness.signed_message_until(verified, head)
            elif self._callback_token_matches(token):
                accepted_until = freshness.unsigned_message_until(head)
            else:
                raise DCICallbackRefused(
                    "The callback is neither signed nor carries our callback token.", C.ERR_SIGNATURE_MISSING, 401
                )
        except DCISignatureError as error:
            raise DCICallbackRefused(
                "The signature was not accepted.", error.code or C.ERR_SIGNATURE_INVALID, 401
            ) from error
        try:
            self.env["spp.dci.seen.message"]._claim(self.id, message_id, accepted_until)
        except DCISignatureError as error:
            raise DCICallbackRefused("This message was already received.", error.code) from error

    def _callback_token_matches(self, token):
        expected = self.sudo().callback_token_hash
        return bool(expected and isinstance(token, str) and token and hmac.compare_digest(_digest(token), expected))
