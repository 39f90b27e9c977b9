from odoo import api, fields, models
from odoo.exceptions import UserError

from ..services import secrets
from ..services.errors import DCIConfigurationError
from ..services.signing import (
    ALGORITHM_ED25519,
    ALGORITHMS,
    PROFILE_OPENSPP,
    OpenSPPProfile,
    Signer,
    generate_private_key,
    load_public_key,
    private_key_to_pem,
    public_jwk,
    public_key_to_pem,
)


class DciSigningKey(models.Model):
    """Our keys for signing outgoing DCI messages.

    Keys are generated here; the private key is stored encrypted and never
    shown. Several keys may be active at once, so a new key can take over
    while registries still accept the old one: every active, unexpired key is
    published in our JWKS, and each data source signs with the key it names.
    """

    _name = "spp.dci.signing.key"
    _description = "DCI Signing Key"
    _order = "state, id desc"

    name = fields.Char(required=True)
    algorithm = fields.Selection(ALGORITHMS, required=True, default=ALGORITHM_ED25519,
                                 help="RSA keys sign with PKCS#1 v1.5 and SHA-256 (RS256, rsa-sha256).")
    rsa_bits = fields.Selection([("2048", "2048 bits"), ("3072", "3072 bits"), ("4096", "4096 bits")],
                                string="RSA Key Size", default="3072")
    state = fields.Selection([("draft", "Not generated"), ("ready", "Generated"), ("active", "Active"),
                              ("revoked", "Revoked")],
                             default="draft", required=True, readonly=True, copy=False)
    kid = fields.Char(string="Key ID", readonly=True, copy=False, index=True,
                      help="RFC 7638 thumbprint of the public key.")
    public_key_pem = fields.Text(string="Public Key", readonly=True, copy=False)
    private_key_stored = fields.Text(groups="base.group_system", copy=False)
    activation_date = fields.Datetime(readonly=True, copy=False)
    expiry_date = fields.Datetime(help="After this moment the key is neither used nor published.")
    revocation_date = fields.Datetime(readonly=True, copy=False)
    is_usable = fields.Boolean(compute="_compute_is_usable")
    data_source_ids = fields.One2many("spp.dci.data.source", "signing_key_id", string="Used by")

    _kid_unique = models.Constraint("UNIQUE(kid)", "Two keys cannot have the same key ID.")

    @api.depends("state", "expiry_date")
    def _compute_is_usable(self):
        now = fields.Datetime.now()
        for key in self:
            key.is_usable = key.state == "active" and (not key.expiry_date or key.expiry_date > now)

    def action_generate(self):
        for key in self:
            if key.state != "draft":
                raise UserError(self.env._("Key %s already has key material; create a new key to rotate.",
                                           key.name))
            private_key = generate_private_key(key.algorithm, int(key.rsa_bits or 3072))
            key.sudo().write({
                "private_key_stored": secrets.encrypt(private_key_to_pem(private_key)),
                "public_key_pem": public_key_to_pem(private_key.public_key()),
                "kid": public_jwk(private_key.public_key())["kid"],
                "state": "ready",
            })
        return True

    def action_activate(self):
        for key in self:
            if key.state != "ready":
                raise UserError(self.env._("Only a generated key that is not active yet can be activated (%s).",
                                           key.name))
            key.write({"state": "active", "activation_date": fields.Datetime.now()})
        return True

    def action_revoke(self):
        """Revoke for good: the key is no longer used to sign nor published."""
        self.write({"state": "revoked", "revocation_date": fields.Datetime.now()})
        return True

    def _get_signer(self):
        self.ensure_one()
        if not self.is_usable:
            reason = self.env._("revoked") if self.state == "revoked" else (
                self.env._("expired") if self.state == "active" else self.env._("not active"))
            raise DCIConfigurationError(self.env._("Signing key %(name)s is %(reason)s and cannot sign messages.",
                                                   name=self.name, reason=reason))
        return Signer.from_pem(secrets.decrypt(self.sudo().private_key_stored))

    @api.model
    def _get_public_jwks(self):
        """JWKS of every usable key: what registries need to check our signatures.

        Each key is listed under its thumbprint and, for each OpenSPP data
        source signing with it, again under ``<our_sender_id>|<thumbprint>|<alg>``:
        OpenSPP's sender registry takes the first key whose kid starts with the
        sender's id and reads the algorithm from the kid.
        """
        keys = self.sudo().search([("state", "=", "active")]).filtered("is_usable")
        openspp = OpenSPPProfile()
        entries = []
        for key in keys:
            jwk = public_jwk(load_public_key(key.public_key_pem))
            entries.append(jwk)
            sources = key.data_source_ids.filtered(lambda source: source.signature_profile == PROFILE_OPENSPP)
            for sender_id in sorted(set(sources.mapped("our_sender_id")) - {False}):
                entries.append(dict(jwk, kid=openspp.key_id(sender_id, jwk["kid"], key.algorithm)))
        return {"keys": entries}
