from unittest.mock import patch

from dci_simulator import SimulatedRegistry, SimulatorServer

from odoo.exceptions import UserError
from odoo.tests import tagged

from odoo.addons.queue_job.tests.common import trap_jobs
from odoo.addons.spp_dci_client.services import bulk
from odoo.addons.spp_dci_client.services.errors import DCIConnectionError, DCIRejectedError
from odoo.addons.spp_dci_client.tests.common import DCICase, population

from ..services.crvs_service import CRVSService
from ..services.person import parse_person


@tagged("post_install", "-at_install")
class TestCRVSService(DCICase):
    def service(self, code="test_crvs"):
        service = CRVSService(self.env, data_source_code=code)
        self.addCleanup(service.close)
        return service

    def test_verify_birth_found(self):
        birth = self.service().verify_birth("BRN", "BR-2024-0042")
        self.assertEqual(birth["person_name"], "Maria Santos")
        self.assertEqual((birth["given_name"], birth["family_name"]), ("Maria", "Santos"))
        self.assertEqual(birth["birth_date"], "2024-03-15")
        self.assertEqual(birth["sex"], "female")
        self.assertEqual(birth["place_of_birth"], "Central District Hospital")
        self.assertEqual(birth["parent1_identifier"], {"identifier_type": "UIN", "identifier_value": "UIN-100000001"})
        self.assertEqual((birth["identifier_type"], birth["identifier_value"]), ("BRN", "BR-2024-0042"))
        self.assertFalse(birth["is_deceased"])
        self.assertIn("identifier", birth["raw_record"])

    def test_verify_birth_not_found_is_none(self):
        self.assertIsNone(self.service().verify_birth("BRN", "BR-2024-9999"))

    def test_check_death(self):
        service = self.service()
        self.assertTrue(service.check_death("BRN", "BR-2024-0043"))
        self.assertFalse(service.check_death("BRN", "BR-2024-0042"))
        self.assertFalse(service.check_death("BRN", "BR-2024-9999"))

    def test_rejected_request_raises(self):
        self.sim.faults.add("item_rjct", code="rjct.search_criteria.invalid")
        with self.assertRaises(DCIRejectedError):
            self.service().verify_birth("BRN", "BR-2024-0042")

    def test_registry_down_raises_never_none(self):
        self.make_data_source(code="crvs_down", base_url="http://127.0.0.1:9", max_attempts=1)
        with self.assertRaises(DCIConnectionError):
            self.service("crvs_down").verify_birth("BRN", "BR-2024-0042")

    def test_a_given_client_is_used_and_left_open(self):
        client = self.data_source._dci_client()
        self.addCleanup(client.close)
        with CRVSService(self.env, "test_crvs", client=client) as service:
            self.assertIs(service.client, client)
            self.assertEqual(service.verify_birth("BRN", "BR-2024-0042")["birth_date"], "2024-03-15")
        self.assertEqual(self.records(client.search_by_id("BRN", "BR-2024-0042"))[0]["birth_date"], "2024-03-15")
        with CRVSService(self.env, "test_crvs") as service:
            service.verify_birth("BRN", "BR-2024-0042")
            pool = service.client.transport._pool
            self.assertEqual(
                sum(map(len, pool._idle.values())), 1, "the kept-alive connection is open while the service lives"
            )
        self.assertEqual(sum(map(len, pool._idle.values())), 0, "a service closes the client it made")

    def records(self, response):
        return response["message"]["search_response"][0]["data"]["reg_records"]

    def test_constructor_shapes(self):
        with self.assertRaisesRegex(TypeError, r"CRVSService\(env, data_source_code="):
            CRVSService(self.data_source, self.env)
        with self.assertRaisesRegex(TypeError, "data_source_code must be"):
            CRVSService(self.env, self.data_source)
        with self.assertRaisesRegex(UserError, "crvs_nowhere"):
            CRVSService(self.env, "crvs_nowhere")
        inactive = self.make_data_source(code="crvs_off")
        inactive.active = False
        with self.assertRaisesRegex(UserError, "crvs_off"):
            CRVSService(self.env, "crvs_off")
        self.make_data_source(code="not_civil", role="ibr")
        with self.assertRaisesRegex(UserError, "not_civil"):
            CRVSService(self.env, "not_civil")

    def test_older_birthdate_spelling(self):
        registry = SimulatedRegistry(population(), record_spelling="birthdate", client_keys=self.client_keys)
        with SimulatorServer(registry) as server:
            self.make_data_source(code="crvs_old", base_url=server.url("crvs"), auth_type="none")
            birth = self.service("crvs_old").verify_birth("BRN", "BR-2024-0042")
        self.assertEqual(birth["birth_date"], "2024-03-15")

    def test_opencrvs_format(self):
        self.make_data_source(code="crvs_ocrvs", record_format="opencrvs")
        birth = self.service("crvs_ocrvs").verify_birth("BRN", "BR-2024-0042")
        self.assertEqual(birth["birth_date"], "2024-03-15")
        sent = self.sim.received[-1][2]["message"]["search_request"][0]["search_criteria"]
        self.assertEqual(
            (sent["query_type"], sent["query"], sent["reg_event_type"]),
            ("idtype-value", {"type": "BRN", "value": "BR-2024-0042"}, "birth"),
        )
        self.assertEqual(sent["sort"], [{"attribute_name": "createdAt", "sort_order": "asc"}])
        self.assertIn("purpose", sent["consent"])
        fhir = {
            "name": [{"given": ["Maria", "Luisa"], "family": "Santos"}],
            "birthDate": "2024-03-15",
            "gender": "female",
            "identifier": [{"type": "BRN", "value": "BR-2024-0042"}],
        }
        person = parse_person(fhir)
        self.assertEqual(
            (person["person_name"], person["birth_date"], person["sex"]), ("Maria Luisa Santos", "2024-03-15", "female")
        )

    def test_bulk_of_1000(self):
        known = [("BRN", person.brn) for person in self.sim.population.persons if person.brn]
        pairs = (known + [("BRN", f"BR-1900-{number}") for number in range(1000)])[:1000]
        results = self.service().verify_births(pairs)
        self.assertEqual(len(results), 1000)
        self.assertEqual(
            [len(envelope["message"]["search_request"]) for _role, _path, envelope in self.sim.received],
            [100] * 10 + [2],
            "ten envelopes of 100, then one for the parents' names",
        )
        for (kind, value), result in zip(pairs, results, strict=True):
            if value.startswith("BR-1900"):
                self.assertIsNone(result)
            else:
                self.assertEqual((result["identifier_type"], result["identifier_value"]), (kind, value))
                self.assertIn({"identifier_type": kind, "identifier_value": value}, result["raw_record"]["identifier"])

    def test_bulk_beyond_the_sync_limit_returns_a_run(self):
        pairs = [("BRN", "BR-2024-0042"), ("BRN", "BR-1900-0001"), ("BRN", "BR-2024-0044")]
        with patch.object(bulk, "SYNC_LIMIT", 2), trap_jobs() as trap:
            run = self.service().verify_births(pairs)
            self.assertEqual((run._name, run.kind, run.item_count), ("spp.dci.bulk.run", "crvs_birth", 3))
            self.assertEqual(self.sim.received, [])
            trap.perform_enqueued_jobs()
        self.env.invalidate_all()
        items = self.env["spp.dci.bulk.item"].search([("run_id", "=", run.id)])
        self.assertEqual(items.mapped("payload"), [list(pair) for pair in pairs])
        self.assertEqual(items.mapped("state"), ["done"] * 3)
        self.assertEqual(items[0].result["birth_date"], "2024-03-15")
        self.assertNotIn("raw_record", items[0].result)
        self.assertFalse(items[1].result, "no such birth: done, without a result")
        self.assertEqual(run.state, "done")
