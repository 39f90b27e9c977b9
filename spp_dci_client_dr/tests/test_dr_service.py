from odoo.tests import tagged

from odoo.addons.spp_dci_client.services.errors import DCIRejectedError
from odoo.addons.spp_dci_client.tests.common import DCICase, registrant

from ..services.dr_service import DRService


@tagged("post_install", "-at_install")
class TestDRService(DCICase):
    registry_role = "dr"

    def service(self):
        service = DRService(self.env, "test_dr")
        self.addCleanup(service.close)
        return service

    def partner(self, kind, value):
        return registrant(self.env, (kind, value), name=value)

    def cache(self, partner):
        return self.env["spp.dci.disability.status"].search([("partner_id", "=", partner.id)])

    def test_person_with_scores_and_wg_decision(self):
        partner = self.partner("BRN", "BR-2024-0045")
        status = self.service().get_disability_status(partner)
        self.assertTrue(status["has_disability"])
        self.assertEqual(
            status["functional_scores"],
            {"Vision": 1, "Hearing": 1, "Mobility": 4, "Cognition": 2, "Self-Care": 3, "Communication": 1},
        )
        self.assertEqual(status["disability_types"], ["physical"])
        self.assertEqual((status["disability_level"], status["assessment_date"]), (2, "2024-09-01"))
        self.assertEqual(status["source_registry"], "test_dr")
        self.assertTrue(self.service().is_pwd(partner))
        cache = self.cache(partner)
        self.assertEqual((cache.state, cache.score_mobility, cache.is_pwd), ("found", "4", True))
        scores = self.service().get_functional_assessment("BRN", "BR-2024-0045")
        self.assertEqual(scores["Mobility"], 4)
        self.assertEqual(len(scores), 6)

    def test_person_without_disability(self):
        person = next(
            person
            for person in self.sim.population.persons
            if person.disability
            and max(person.disability["scores"].values()) < 3
            and person.disability["status"] != "Approved"
        )
        partner = self.partner("UIN", person.uin)
        status = self.service().get_disability_status(partner)
        self.assertFalse(status["has_disability"])
        self.assertEqual(len(status["functional_scores"]), 6)
        self.assertFalse(self.service().is_pwd(partner))

    def test_not_in_registry(self):
        partner = self.partner("BRN", "BR-2024-0042")
        self.assertIsNone(self.service().get_disability_status(partner))
        self.assertEqual(self.service().get_functional_assessment("BRN", "BR-2024-0042"), {})
        self.assertEqual(self.cache(partner).state, "not_found")
        self.assertFalse(self.service().is_pwd(partner))

    def test_fresh_cache_is_used_and_expired_cache_refreshed(self):
        partner = self.partner("BRN", "BR-2024-0045")
        service = self.service()
        self.assertTrue(service.is_pwd(partner))
        self.assertEqual(len(self.sim.received), 1)
        self.assertTrue(service.is_pwd(partner))
        self.assertEqual(len(self.sim.received), 1, "a fresh cache entry answers without a request")
        self.cache(partner).sudo().last_sync = "2020-01-01 00:00:00"
        self.assertTrue(self.cache(partner).is_stale)
        self.assertTrue(service.is_pwd(partner))
        self.assertEqual(len(self.sim.received), 2)
        self.assertFalse(self.cache(partner).is_stale)

    def test_registry_error_raises_and_leaves_cache(self):
        partner = self.partner("BRN", "BR-2024-0045")
        self.service().get_disability_status(partner)
        before = self.cache(partner).read(["last_sync", "is_pwd", "score_mobility"])
        self.cache(partner).sudo().last_sync = "2020-01-01 00:00:00"
        self.sim.faults.add("header_rjct", code="rjct.action.not_supported")
        with self.assertRaises(DCIRejectedError):
            self.service().is_pwd(partner)
        after = self.cache(partner)
        self.assertEqual((after.is_pwd, after.score_mobility), (before[0]["is_pwd"], before[0]["score_mobility"]))
        self.assertEqual(str(after.last_sync), "2020-01-01 00:00:00")

    def test_batch_sync_of_500(self):
        persons = self.sim.population.persons[:500]
        partners = self.env["res.partner"]
        for person in persons:
            partners |= registrant(self.env, ("UIN", person.uin), name=person.uin)
        results = self.service().sync_disability_data(partners)
        self.assertEqual(len(self.sim.received), 5)
        self.assertEqual(len(results), 500)
        caches = self.env["spp.dci.disability.status"].search([("partner_id", "in", partners.ids)])
        self.assertEqual(len(caches), 500)
        for partner, person in zip(partners, persons, strict=True):
            self.assertEqual(results[partner.id] is not None, person.disability is not None)
            if person.disability:
                expected = max(person.disability["scores"].values()) >= 3 or person.disability["status"] == "Approved"
                self.assertEqual(results[partner.id]["has_disability"], expected)

    def test_constructor_shapes(self):
        with self.assertRaisesRegex(TypeError, r"DRService\(env, data_source_code="):
            DRService(self.data_source, self.env)
        with self.assertRaisesRegex(TypeError, "data_source_code must be"):
            DRService(self.env, self.data_source)
