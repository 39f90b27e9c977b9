"""IBRService called as OpenSPP's documentation and OpenSPP2's callers call it, over real HTTP."""

from odoo.exceptions import UserError
from odoo.tests import tagged

from odoo.addons.spp_dci_client.services.errors import DCIError
from odoo.addons.spp_dci_client.tests.common import DCICase, registrant

from ..services.ibr_service import IBRService


@tagged("post_install", "-at_install")
class TestOpenSPPIBRCalls(DCICase):
    registry_role = "ibr"

    def service(self, data_source=None):
        service = IBRService(data_source or self.data_source, self.env)
        self.addCleanup(service.close)
        return service

    def current_programmes(self, uin):
        """Active (1) or suspended (4) enrolments, read from the simulator's population."""
        return sorted(
            enrolment["programme_name"]
            for enrolment in self.sim.population.find("UIN", uin).enrolments
            if enrolment["enrolment_status"] in (1, 4)
        )

    def test_get_enrollment_status(self):
        status = self.service().get_enrollment_status("UIN", "UIN-200000044")
        self.assertEqual(set(status), {"enrolled", "programs", "beneficiary_info"})
        self.assertTrue(status["enrolled"])
        self.assertEqual(status["programs"], self.current_programmes("UIN-200000044"))
        info = status["beneficiary_info"]
        self.assertEqual(set(info), {"identifier_type", "identifier_value", "name", "programs", "metadata"})
        self.assertEqual(
            (info["identifier_type"], info["identifier_value"], info["name"]), ("UIN", "UIN-200000044", "Amina Mensah")
        )

        none = self.service().get_enrollment_status(identifier_type="UIN", identifier_value="UIN-200000042")
        self.assertEqual(none, {"enrolled": False, "programs": [], "beneficiary_info": None})

    def test_graduated_enrolments_do_not_count(self):
        person = self.sim.population.find("UIN", "UIN-200000044")
        saved = [dict(enrolment) for enrolment in person.enrolments]
        self.addCleanup(setattr, person, "enrolments", saved)
        person.enrolments = [dict(enrolment, enrolment_status=3) for enrolment in saved]
        status = self.service().get_enrollment_status("UIN", "UIN-200000044")
        self.assertFalse(status["enrolled"])
        self.assertEqual(status["programs"], [])
        self.assertEqual(status["beneficiary_info"]["name"], "Amina Mensah", "the history is still there")

    def test_enrollment_status_fails_closed(self):
        self.sim.faults.add("status", status=503, times=None)
        with self.assertRaises(DCIError):
            self.service().get_enrollment_status("UIN", "UIN-200000044")

    def test_documented_calls_and_shapes(self):
        partner = registrant(self.env, ("UIN", "UIN-200000044"), name="Amina Mensah")
        result = self.service().check_duplication(partner)
        self.assertEqual(set(result), {"is_duplicate", "matched_programs", "raw_response"})
        self.assertTrue(result["is_duplicate"])
        found = self.service().search_beneficiary("UIN", "UIN-200000044")
        self.assertEqual(found[0]["name"], "Amina Mensah")
        with self.assertRaises(TypeError):
            IBRService(self.env, "ibr_main")
        with self.assertRaises(UserError):
            self.service().check_duplication(self.env["res.partner"].create({"name": "No identifiers"}))
