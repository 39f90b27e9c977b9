"""Test Connection in the user's language, over the web client's JSON-RPC.

The user's language comes from their preferences, through the session, as
in the browser: the step texts (env._ in the model), a service's error
(LazyTranslate in services/) and the form itself (the tour) all come out in
French, and in Spanish for a user in Peru (es_PE reads es.po).
"""

from odoo.tests import HttpCase, new_test_user, tagged

from .common import CLIENT_SECRET, SimulatorMixin


@tagged("post_install", "-at_install")
class TestTranslatedTestConnection(SimulatorMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for lang in ("fr_FR", "es_PE"):
            cls.env["res.lang"]._activate_lang(lang)
        cls.env["ir.module.module"].search([("name", "=", "spp_dci_client")])._update_translations(
            ["fr_FR", "es_PE"], overwrite=True
        )
        cls.start_simulator()
        cls.signing_key = cls.make_signing_key()
        cls.data_source = cls.make_data_source(name="État civil simulé")
        cls.refused_source = cls.make_data_source(
            name="Mauvais secret", code="test_crvs_refused", oauth2_client_secret=CLIENT_SECRET + "-wrong"
        )
        for login, lang in (("dci_fr", "fr_FR"), ("dci_es", "es_PE")):
            new_test_user(cls.env, login=login, lang=lang, groups="base.group_user,spp_dci_client.group_dci_admin")

    def _click_test_connection(self, login, data_source):
        """Click Test Connection as the web client does: the session's user context, then call_button."""
        self.authenticate(login, login)
        context = self.make_jsonrpc_request("/web/session/get_session_info")["user_context"]
        return context, self.make_jsonrpc_request(
            "/web/dataset/call_button/spp.dci.data.source/test_connection",
            {
                "model": "spp.dci.data.source",
                "method": "test_connection",
                "args": [[data_source.id]],
                "kwargs": {"context": context},
            },
        )["params"]

    def test_result_in_french(self):
        context, params = self._click_test_connection("dci_fr", self.data_source)

        self.assertEqual(context["lang"], "fr_FR")
        self.assertEqual(params["type"], "success")
        self.assertEqual(params["title"], "La connexion à État civil simulé fonctionne")
        lines = params["message"].strip().split("\n")
        url = self.data_source.base_url
        self.assertRegex(lines[0], rf"^✔ Demande de jeton : un nouveau jeton a été émis \({url}/\S+, \d+ ms\)\.$")
        self.assertRegex(lines[1], rf"^✔ Requête de recherche : HTTP 200 \({url}/\S+, \d+ ms\)\.$")
        self.assertRegex(lines[2], r"^✔ Enveloppe de la réponse : un message on-search valide \(\d+ ms\)\.$")
        self.assertRegex(lines[3], r"^✔ Signature de la réponse : valide \(clé .+\)\.$")
        self.assertRegex(lines[4], r"^✔ Réponse : elle répond à la recherche de test \(\d+ ms\)\.$")
        self.assertEqual(len(lines), 5)

    def test_service_error_in_french(self):
        """The refusal is raised in services/transport.py, plain Python, and shown in the user's language."""
        _context, params = self._click_test_connection("dci_fr", self.refused_source)

        self.assertEqual(params["type"], "danger")
        self.assertEqual(params["title"], "La connexion à Mauvais secret a échoué")
        self.assertRegex(
            params["message"].strip(),
            r"^✘ Demande de jeton : Le registre a refusé les identifiants \(HTTP 401, "
            r"err\.request\.unauthorized\)\. \(\S+/token, \d+ ms\)\. "
            r"À vérifier : ID client OAuth2, Secret client OAuth2, Portée OAuth2, URL du jeton OAuth2\.$",
        )
        self.assertEqual("\n✘ " + self.refused_source.last_error, params["message"])
        self.assertEqual(self.refused_source.state, "error")

    def test_result_and_error_in_peruvian_spanish(self):
        context, params = self._click_test_connection("dci_es", self.data_source)
        self.assertEqual(context["lang"], "es_PE")
        self.assertEqual(params["title"], "La conexión con État civil simulé funciona")
        self.assertRegex(params["message"], r"\n✔ Sobre de la respuesta: un mensaje on-search válido \(\d+ ms\)\.\n")

        _context, params = self._click_test_connection("dci_es", self.refused_source)
        self.assertRegex(
            params["message"].strip(),
            r"^✘ Solicitud de token: El registro rechazó las credenciales \(HTTP 401, "
            r"err\.request\.unauthorized\)\. .* Revise: ID de cliente OAuth2, ",
        )

    def test_english_stays_the_source(self):
        new_test_user(self.env, login="dci_en", lang="en_US", groups="base.group_user,spp_dci_client.group_dci_admin")
        _context, params = self._click_test_connection("dci_en", self.refused_source)
        self.assertRegex(
            params["message"].strip(),
            r"^✘ Token request: The registry refused the credentials \(HTTP 401, "
            r"err\.request\.unauthorized\)\. .* Check: OAuth2 Client ID, ",
        )

    def test_french_tour(self):
        """The data source form in headless Chromium: French labels, button and notification."""
        self.start_tour(
            "/odoo/action-spp_dci_client.spp_dci_data_source_action", "spp_dci_data_source_french", login="dci_fr"
        )
