"""DRService called as OpenSPP's documentation calls it, on records in the DR spec's shape, over real HTTP."""

from odoo.tests import tagged

from odoo.addons.spp_dci_client.services.client import DCIClient
from odoo.addons.spp_dci_client.tests.common import DCICase, registrant
from odoo.addons.spp_dci_client.tests.spec import response_errors

from ..services.dr_service import DRService, disability_status, functional_scores

WG_CODES = {
    "VIS_SS": "Vision",
    "HEAR_SS": "Hearing",
    "MOB_SS": "Mobility",
    "COG_SS": "Cognition",
    "SC_SS": "Self-Care",
    "COM_SS": "Communication",
}


@tagged("post_install", "-at_install")
class TestOpenSPPDRCalls(DCICase):
    registry_role = "dr"

    def service(self):
        service = DRService(self.env, data_source_code="test_dr")
        self.addCleanup(service.close)
        return service

    def expected_scores(self, brn):
        scores = self.sim.population.find("BRN", brn).disability["scores"]
        return {WG_CODES[code]: score for code, score in scores.items()}

    def test_scores_come_from_the_spec_disability_details(self):
        client = DCIClient(self.data_source, self.env)
        self.addCleanup(client.close)
        response = client.search_by_id("BRN", "BR-2024-0045")
        self.assertEqual(response_errors("dr", "/registry/sync/search", response), [])
        record = response["message"]["search_response"][0]["data"]["reg_records"]
        self.assertNotIn("functional_limitations", record, "the simulator answers in the spec's shape only")
        self.assertEqual(functional_scores(record), self.expected_scores("BR-2024-0045"))

        partner = registrant(self.env, ("BRN", "BR-2024-0045"), name="Samuel Okafor")
        status = self.service().get_disability_status(partner)
        self.assertLessEqual({"has_disability", "disability_types", "functional_scores"}, status.keys())
        self.assertEqual(status["functional_scores"], self.expected_scores("BR-2024-0045"))
        self.assertEqual(status["disability_types"], ["physical"], "WG answers are no impairment types")
        self.assertEqual(
            self.service().get_functional_assessment("BRN", "BR-2024-0045"), self.expected_scores("BR-2024-0045")
        )
        self.assertTrue(self.service().is_pwd(partner))
        self.assertEqual(set(self.service().sync_disability_data(partner)), {partner.id})

    def test_status_values_as_openspp_reads_them(self):
        details = [
            {
                "impairment_type": "Physical and movement related functions",
                "impairment_level": "Severe impairment or difficulty",
            }
        ]
        walking = [{"impairment_type": "Walking", "impairment_level": "Cannot do at all"}]
        cases = [
            ({"disability_status": "Approved", "disability_details": details}, True),
            ({"disability_status": "Registered", "disability_details": details}, True),
            ({"disability_status": "registered"}, True),
            ({"disability_status": "Rejected", "disability_details": details + walking}, False),
            ({"disability_status": "Denied", "disability_details": walking}, False),
            ({"disability_status": "Pending", "disability_details": walking}, True),
            ({"disability_status": "Pending", "disability_details": details}, False),
            ({"disability_status": "Expired"}, False),
            ({}, False),
        ]
        for record, expected in cases:
            with self.subTest(record=record):
                self.assertEqual(disability_status(record, "dr")["has_disability"], expected)

    def test_wg_answers_in_every_spelling(self):
        record = {
            "disability_details": [
                {"impairment_type": "Seeing", "impairment_level": "Some difficulty"},
                {"impairment_type": "HEAR_SS", "impairment_level": 3},
                {"impairment_type": "Walking or climbing steps", "impairment_level": "No difficulty"},
                {"impairment_type": "Remembering or concentrating", "impairment_level": "4"},
                {"impairment_type": "Self-care", "impairment_level": "A lot of difficulty"},
                {"impairment_type": "Communicating", "impairment_level": "Cannot do at all"},
                {"impairment_type": "Seeing", "impairment_level": "Moderate impairment or difficulty"},
                {"impairment_type": "Hearing", "impairment_level": 7},
            ]
        }
        self.assertEqual(
            functional_scores(record),
            {"Vision": 2, "Hearing": 3, "Mobility": 1, "Cognition": 4, "Self-Care": 3, "Communication": 4},
        )
