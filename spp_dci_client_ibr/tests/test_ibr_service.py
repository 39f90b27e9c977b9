from odoo.exceptions import UserError
from odoo.tests import tagged

from odoo.addons.spp_dci_client.services.errors import DCIConnectionError, DCIRejectedError
from odoo.addons.spp_dci_client.tests.common import DCICase, registrant

from ..services.ibr_service import BeneficiaryInfo, DuplicationResult, IBRService


@tagged("post_install", "-at_install")
class TestIBRService(DCICase):
    registry_role = "ibr"

    def service(self, data_source=None):
        service = IBRService(data_source or self.data_source, self.env)
        self.addCleanup(service.close)
        return service

    def partner(self, *identifiers, name="Registrant"):
        if not identifiers:
            return self.env["res.partner"].create({"name": name})
        return registrant(self.env, *identifiers, name=name)

    def checks(self, partner):
        return self.env["spp.dci.ibr.check"].search([("partner_id", "=", partner.id)])

    def test_duplicate_in_two_programmes(self):
        partner = self.partner(("BRN", "BR-2024-0044"), ("UIN", "UIN-200000044"))
        result = self.service().check_duplication(partner)
        self.assertTrue(result["is_duplicate"])
        self.assertEqual(result["matched_programs"], ["Child Benefit", "School Feeding"])
        self.assertEqual(len(result["raw_response"]), 2)
        self.assertEqual(len(self.sim.received), 1, "all identifiers in one request")
        self.assertEqual(self.sim.received[0][2]["header"]["total_count"], 2)
        check = self.checks(partner)
        self.assertEqual((check.is_duplicate, check.matched_programs), (True, "Child Benefit, School Feeding"))
        self.assertEqual(check.user_id, self.env.user)

    def test_own_programmes_can_be_excluded(self):
        partner = self.partner(("BRN", "BR-2024-0044"))
        result = self.service().check_duplication(partner, exclude_programs=["PRG-CBN"])
        self.assertEqual(result["matched_programs"], ["School Feeding"])

    def test_no_match(self):
        partner = self.partner(("BRN", "BR-2024-0042"))
        result = self.service().check_duplication(partner)
        self.assertEqual((result["is_duplicate"], result["matched_programs"]), (False, []))
        self.assertFalse(self.checks(partner).is_duplicate)

    def test_registry_error_raises_and_stores_nothing(self):
        partner = self.partner(("BRN", "BR-2024-0044"), ("UIN", "UIN-200000044"))
        self.sim.faults.add("item_rjct", code="rjct.search_criteria.invalid")
        with self.assertRaises(DCIRejectedError):
            self.service().check_duplication(partner)
        self.assertFalse(self.checks(partner))
        down = self.make_data_source(code="ibr_down", base_url="http://127.0.0.1:9", max_attempts=1)
        with self.assertRaises(DCIConnectionError):
            self.service(down).check_duplication(partner)
        self.assertFalse(self.checks(partner))

    def test_partner_without_identifiers(self):
        with self.assertRaisesRegex(UserError, "no registry identifier"):
            self.service().check_duplication(self.partner(name="Nobody"))
        self.assertEqual(self.sim.received, [])

    def test_wrong_constructor_shape(self):
        with self.assertRaisesRegex(TypeError, r"IBRService\(data_source, env\)"):
            IBRService(self.env, "test_ibr")
        with self.assertRaisesRegex(TypeError, r"IBRService\(data_source, env\)"):
            IBRService("test_ibr", self.env)
        crvs = self.make_data_source(code="crvs_for_ibr", role="crvs")
        with self.assertRaisesRegex(UserError, "crvs_for_ibr"):
            IBRService(crvs, self.env)

    def test_batch_of_many_partners(self):
        enrolled = [person for person in self.sim.population.persons if person.enrolments][:40]
        others = [person for person in self.sim.population.persons if not person.enrolments][:40]
        partners = self.env["res.partner"]
        for person in enrolled + others:
            partners |= self.partner(("UIN", person.uin), name=person.given_name)
        results = self.service().check_duplications(partners)
        self.assertEqual(len(self.sim.received), 1)
        for partner, person in zip(partners, enrolled + others, strict=True):
            expected = sorted({enrolment["programme_name"] for enrolment in person.enrolments})
            self.assertEqual(results[partner.id]["matched_programs"], expected)
            self.assertEqual(results[partner.id]["is_duplicate"], bool(expected))
        self.assertEqual(len(self.env["spp.dci.ibr.check"].search([("partner_id", "in", partners.ids)])), 80)

    def test_search_beneficiary_and_is_enrolled(self):
        found = self.service().search_beneficiary("BRN", "BR-2024-0044")
        self.assertEqual(len(found), 1)
        self.assertEqual(found[0]["name"], "Amina Mensah")
        self.assertEqual(sorted(found[0]["programs"]), ["Child Benefit", "School Feeding"])
        self.assertEqual(found[0]["metadata"]["enrolments"][0]["enrolment_status"], "Active")
        self.assertEqual(self.service().search_beneficiary("BRN", "BR-2024-0042"), [])
        self.assertTrue(self.service().is_enrolled("BRN", "BR-2024-0044"))
        self.assertFalse(self.service().is_enrolled("BRN", "BR-2024-0042"))

    def test_helper_classes(self):
        self.assertEqual(
            DuplicationResult(True, ["A"], {"x": 1}).to_dict(),
            {"is_duplicate": True, "matched_programs": ["A"], "raw_response": {"x": 1}},
        )
        info = BeneficiaryInfo("UIN", "1", "Ana", ["A"], {"k": "v"})
        self.assertEqual(
            info.to_dict(),
            {
                "identifier_type": "UIN",
                "identifier_value": "1",
                "name": "Ana",
                "programs": ["A"],
                "metadata": {"k": "v"},
            },
        )

    def test_partner_button(self):
        self.env["ir.config_parameter"].set_param("spp_dci_client_ibr.data_source_code", "test_ibr")
        partner = self.partner(("BRN", "BR-2024-0044"))
        action = partner.action_dci_check_duplication()
        self.assertEqual(action["params"]["type"], "warning")
        self.assertIn("Child Benefit", action["params"]["message"])
