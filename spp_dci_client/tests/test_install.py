from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestInstall(TransactionCase):
    def test_models_and_groups_exist(self):
        for model in (
            "spp.dci.data.source",
            "spp.dci.signing.key",
            "spp.dci.transaction",
            "spp.dci.oauth.token",
            "spp.dci.partner.identifier",
        ):
            self.assertIn(model, self.env)
        admin = self.env.ref("spp_dci_client.group_dci_admin")
        self.assertIn(self.env.ref("spp_dci_client.group_dci_user"), admin.implied_ids)
