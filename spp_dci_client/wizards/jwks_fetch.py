from odoo import api, fields, models
from odoo.exceptions import UserError

from ..models.data_source import URL_PATTERN
from ..services.jwks_fetch import fetch_registry_keys


class DciJwksFetch(models.TransientModel):
    """Fetch Registry Keys: read the registry's JWKS, show its keys, keep the one(s) chosen."""

    _name = "spp.dci.jwks.fetch"
    _description = "Fetch Registry Keys"

    data_source_id = fields.Many2one("spp.dci.data.source", required=True, readonly=True, ondelete="cascade")
    url = fields.Char(
        string="JWKS URL",
        required=True,
        help="Where the registry publishes its public keys, usually <server>/.well-known/jwks.json.",
    )
    fetched = fields.Boolean(readonly=True)
    key_ids = fields.One2many("spp.dci.jwks.fetch.key", "wizard_id", string="Keys Found")

    def action_fetch(self):
        """GET the JWKS through the data source's timeout and TLS settings; list its keys, or say why not."""
        self.ensure_one()
        source = self.data_source_id
        source.check_access("write")
        if not URL_PATTERN.match(self.url or ""):
            raise UserError(self.env._("The JWKS URL must be an http(s) URL, got %r.", self.url))
        keys = fetch_registry_keys(self.url, timeout=float(source.timeout), verify=source.verify_ssl)
        self.write(
            {
                "fetched": True,
                "key_ids": [(5, 0, 0)]
                + [
                    (
                        0,
                        0,
                        {
                            "kid": key.kid,
                            "key_type": key.key_type,
                            "thumbprint": key.thumbprint,
                            "public_key_pem": key.public_key_pem,
                            "selected": len(keys) == 1,
                        },
                    )
                    for key in keys
                ],
            }
        )
        return self._action_reopen()

    def action_pin_key(self):
        """Trust the one chosen key only: its PEM and kid go on the data source."""
        self.ensure_one()
        chosen = self.key_ids.filtered("selected")
        if len(chosen) != 1:
            raise UserError(
                self.env._("Choose exactly one key to pin (%s chosen), or trust every key at this URL.", len(chosen))
            )
        self.data_source_id.write(
            {
                "registry_public_key": chosen.public_key_pem,
                "registry_key_id": chosen.kid,
                "registry_jwks_url": self.url,
            }
        )
        return {"type": "ir.actions.act_window_close"}

    def action_trust_url(self):
        """Trust every key published at the URL, now and after the registry rotates them."""
        self.ensure_one()
        if not self.fetched:
            raise UserError(self.env._("Fetch the keys first, to see what the URL publishes."))
        self.data_source_id.write(
            {
                "registry_jwks_url": self.url,
                "registry_public_key": False,
                "registry_key_id": False,
            }
        )
        return {"type": "ir.actions.act_window_close"}

    @api.private
    def _action_reopen(self):
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Fetch Registry Keys"),
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
        }


class DciJwksFetchKey(models.TransientModel):
    _name = "spp.dci.jwks.fetch.key"
    _description = "Key Found in a Registry's JWKS"

    wizard_id = fields.Many2one("spp.dci.jwks.fetch", required=True, ondelete="cascade")
    selected = fields.Boolean(string="Use")
    kid = fields.Char(string="Key ID", readonly=True)
    key_type = fields.Char(readonly=True)
    thumbprint = fields.Char(string="Thumbprint (RFC 7638)", readonly=True)
    public_key_pem = fields.Text(readonly=True)
