"""The demo's simulated registries served by this Odoo server through the controller, over real HTTP.

Signed with our client's own code, checked with it: what the controller must
carry both ways (body, Signature header, status) is what each peer needs.
Test Connection itself cannot go through this server in the suite: the
client holds a cursor (its token lock) while it calls, and every request
here shares the test's one cursor; `make demo` runs it at start.
"""

import functools
import json

from odoo.tests import HttpCase, tagged

from odoo.addons.spp_dci_client.services import constants as C
from odoo.addons.spp_dci_client.services import envelope as E
from odoo.addons.spp_dci_client.services.constants import POLICY_REQUIRE
from odoo.addons.spp_dci_client.services.errors import DCISignatureError
from odoo.addons.spp_dci_client.services.signing import (
    Signer,
    generate_private_key,
    get_profile,
    public_jwk,
    public_key_from_jwk,
)
from odoo.addons.spp_dci_client.services.verification import check_registry_signature

from .. import simulator_mount

PEERS = [("crvs", "dci_cavage", "ed25519"), ("openspp/crvs", "openspp", "ed25519"), ("openg2p/crvs", "openg2p", "rsa")]


@tagged("post_install", "-at_install")
class TestSimulatorController(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        keys = {algorithm: generate_private_key(algorithm) for algorithm in ("ed25519", "rsa")}
        cls.signers = {algorithm: Signer(key, public_jwk(key.public_key())["kid"]) for algorithm, key in keys.items()}

    def setUp(self):
        super().setUp()
        registry = simulator_mount.registry()
        previous = registry.verifier.client_keys
        registry.verifier.client_keys = {
            signer.kid: signer.private_key.public_key() for signer in self.signers.values()
        }
        self.addCleanup(setattr, registry.verifier, "client_keys", previous)

    def url(self, role, path):
        return f"{simulator_mount.PREFIX}/{role}{path}"

    def bearer(self, role):
        return self.url_open(
            self.url(role, C.PATH_TOKEN),
            data={
                "grant_type": "client_credentials",
                "client_id": simulator_mount.DEMO_CLIENT_ID,
                "client_secret": simulator_mount.DEMO_CLIENT_SECRET,
            },
        ).json()["access_token"]

    def signed_search(self, profile, signer, brn="BR-2024-0042"):
        item = E.search_item(C.QUERY_IDTYPE_VALUE, {"type": "BRN", "value": brn}, reg_type=C.REGISTRY_CIVIL)
        head = E.header(C.ACTION_SEARCH, sender_id="openspp.demo", receiver_id="crvs.simulator")
        return get_profile(profile).sign_envelope(head, E.search_message(E.new_id(), [item]), signer, "openspp.demo")

    def test_each_peer_answers_a_signed_search_signed_its_way(self):
        for role, profile, algorithm in PEERS:
            with self.subTest(role=role):
                signed = self.signed_search(profile, self.signers[algorithm])
                headers = dict(
                    signed.http_headers,
                    **{"Content-Type": "application/json", "Authorization": f"Bearer {self.bearer(role)}"},
                )
                response = self.url_open(
                    self.url(role, C.PATH_SYNC_SEARCH), data=E.json_bytes(signed.envelope), headers=headers
                )
                self.assertEqual(response.status_code, 200, response.text)
                answer = response.json()
                record = answer["message"]["search_response"][0]["data"]["reg_records"][0]
                self.assertEqual(record["name"]["given_name"], "Maria")
                jwks = self.url_open(self.url(role, C.PATH_JWKS)).json()["keys"]
                resolve = functools.partial(lambda key, _kid: key, public_key_from_jwk(jwks[0]))
                verified = check_registry_signature(
                    POLICY_REQUIRE, get_profile(profile), answer, response.headers.get("signature"), resolve
                )
                self.assertTrue(verified.kid)
                tampered = dict(answer, message=dict(answer["message"], correlation_id="changed"))
                with self.assertRaises(DCISignatureError):
                    check_registry_signature(
                        POLICY_REQUIRE, get_profile(profile), tampered, response.headers.get("signature"), resolve
                    )

    def test_refusals_come_back_as_the_simulator_answers_them(self):
        search = self.url("crvs", C.PATH_SYNC_SEARCH)
        bearer = self.bearer("crvs")
        unsigned = self.signed_search("dci_cavage", self.signers["ed25519"]).envelope
        del unsigned["signature"]
        forged = self.signed_search("dci_cavage", self.signers["ed25519"]).envelope
        forged["message"]["search_request"][0]["search_criteria"]["query"]["value"] = "BR-2024-0043"
        cases = [
            ({}, unsigned, 401, C.ERR_UNAUTHORIZED),
            ({"Authorization": f"Bearer {bearer}"}, unsigned, 401, C.ERR_SIGNATURE_MISSING),
            ({"Authorization": f"Bearer {bearer}"}, forged, 401, C.ERR_SIGNATURE_INVALID),
            ({"Authorization": f"Bearer {bearer}", "Signature": "e30..AAAA"}, unsigned, 401, C.ERR_SIGNATURE_INVALID),
        ]
        for headers, envelope, status, code in cases:
            with self.subTest(code=code, headers=sorted(headers)):
                response = self.url_open(
                    search, data=json.dumps(envelope), headers=dict(headers, **{"Content-Type": "application/json"})
                )
                self.assertEqual((response.status_code, response.json()["errors"][0]["code"]), (status, code))
                self.assertNotIn("set-cookie", response.headers, "a registry answer opens no Odoo session")
        self.assertEqual(self.url_open(search).status_code, 405)
        self.assertEqual(self.url_open(self.url("nowhere", C.PATH_SYNC_SEARCH), data="{}").status_code, 404)
