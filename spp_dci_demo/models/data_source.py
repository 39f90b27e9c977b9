import logging

from odoo import api, fields, models

from .. import simulator_mount
from ..simulator_mount import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, PREFIX

_logger = logging.getLogger(__name__)

DEMO_SOURCES = [
    ("crvs_main", "Simulated CRVS", "ns:org:RegistryType:Civil", "crvs"),
    ("ibr_main", "Simulated IBR", "ns:org:RegistryType:IBR", "ibr"),
    ("dr_main", "Simulated Disability Registry", "ns:org:RegistryType:DR", "dr"),
]
# The simulator playing an OpenSPP and an OpenG2P registry (role "<peer>/<role>"), set up as those need.
PEER_SOURCES = [
    ("crvs_openspp", "Simulated CRVS (as an OpenSPP registry)", "openspp", "ed25519"),
    ("crvs_openg2p", "Simulated CRVS (as an OpenG2P registry)", "openg2p", "rsa"),
]


class DciDataSource(models.Model):
    _inherit = "spp.dci.data.source"

    dci_demo_role = fields.Char(
        string="Simulated Registry Role",
        readonly=True,
        help="Set for the demo's data sources: they follow web.base.url.",
    )

    @api.model
    def _spp_dci_demo_setup(self):
        """Create the demo's signing keys and the data sources pointing at the built-in simulator.

        Three use the spec's signature; two more talk to the simulator playing
        an OpenSPP registry (Ed25519) and an OpenG2P one (RS256, OpenG2P's default).
        """
        key = self._spp_dci_demo_key("Demo signing key", "ed25519")
        rsa_key = self._spp_dci_demo_key("Demo RSA signing key (OpenG2P)", "rsa")
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url")
        for code, name, registry_type, role in DEMO_SOURCES:
            if self.with_context(active_test=False).search([("code", "=", code)]):
                continue
            self.create(
                {
                    "name": name,
                    "code": code,
                    "registry_type": registry_type,
                    "dci_demo_role": role,
                    "base_url": f"{base_url}{PREFIX}/{role}",
                    "auth_type": "oauth2",
                    "oauth2_client_id": DEMO_CLIENT_ID,
                    "oauth2_client_secret": DEMO_CLIENT_SECRET,
                    "our_sender_id": "openspp.demo",
                    "receiver_id": f"{role}.simulator",
                    "our_callback_uri": f"{base_url}/dci/callback",
                    "signing_key_id": key.id,
                    "registry_jwks_url": simulator_mount.jwks_url(base_url, role),
                    "signature_policy": "require",
                    "timeout": 10,
                }
            )
        for code, name, peer, algorithm in PEER_SOURCES:
            if self.with_context(active_test=False).search([("code", "=", code)]):
                continue
            role = f"{peer}/crvs"
            self.create(
                {
                    "name": name,
                    "code": code,
                    "registry_type": "ns:org:RegistryType:Civil",
                    "dci_demo_role": role,
                    "base_url": f"{base_url}{PREFIX}/{role}",
                    "auth_type": "oauth2",
                    "oauth2_client_id": DEMO_CLIENT_ID,
                    "oauth2_client_secret": DEMO_CLIENT_SECRET,
                    "our_sender_id": "openspp.demo",
                    "receiver_id": "crvs.simulator",
                    "our_callback_uri": f"{base_url}/dci/callback",
                    "signing_key_id": (rsa_key if algorithm == "rsa" else key).id,
                    "signature_profile": peer,
                    "registry_jwks_url": simulator_mount.jwks_url(base_url, role),
                    "signature_policy": "require",
                    "timeout": 10,
                }
            )

    @api.model
    def _spp_dci_demo_key(self, name, algorithm):
        key = self.env["spp.dci.signing.key"].create({"name": name, "algorithm": algorithm, "rsa_bits": "2048"})
        key.action_generate()
        key.action_activate()
        return key

    @api.model
    def _spp_dci_demo_repoint(self, base_url):
        """Follow a change of web.base.url, so the demo keeps talking to its own simulator.

        Data sources from before the simulator's key was made per process
        pinned its old key: they move to its JWKS too.
        """
        for source in self.sudo().with_context(active_test=False).search([("dci_demo_role", "!=", False)]):
            url = f"{base_url}{PREFIX}/{source.dci_demo_role}"
            if source.base_url != url or source.registry_public_key:
                source.write(
                    {
                        "base_url": url,
                        "our_callback_uri": f"{base_url}/dci/callback",
                        "state": "draft",
                        "registry_jwks_url": simulator_mount.jwks_url(base_url, source.dci_demo_role),
                        "registry_public_key": False,
                    }
                )

    @api.model
    def _cron_test_demo_sources(self):
        """Run Test Connection on the demo's data sources until they pass (first run at server start)."""
        self._spp_dci_demo_repoint(self.env["ir.config_parameter"].sudo().get_param("web.base.url"))
        for source in self.search([("dci_demo_role", "!=", False), ("state", "!=", "active")]):
            source.test_connection()
            _logger.info("demo data source %s: %s", source.code, source.state)
