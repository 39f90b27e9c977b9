"""Drop-in for OpenSPP's published DCI client: every call as OpenSPP2's callers and tests make it.

Each call goes over real HTTP to the simulated registry; the records expected
are computed from the simulator's population with plain Python, and every
envelope sent is validated against the SPDCI YAML.
"""

import json
import re

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged

from ..services.client import DCIClient
from ..services.errors import DCIError, DCIQueryError, DCIRejectedError
from .common import CallbackCase
from .spec import request_errors

PERSON = "ns:org:RegistryRecordType:Person"
OFFSET_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def opencrvs_refusals(envelope):
    """What OpenCRVS's DCI API would refuse in a sync search, by its request schema.

    Written from opencrvs/dci-crvs-api packages/http-api/src/validations.ts
    (zod; unknown keys are ignored there, so they are here).
    """
    refusals = []
    head, message = envelope["header"], envelope["message"]
    if head.get("action") != "search" or not isinstance(head.get("total_count"), int):
        refusals.append("header action/total_count")
    if not OFFSET_TIME.match(head.get("message_ts", "")) or not isinstance(head.get("sender_id"), str):
        refusals.append("header message_ts/sender_id")
    if not isinstance(message.get("transaction_id"), str) or len(message["transaction_id"]) > 99:
        refusals.append("transaction_id")
    for item in message.get("search_request", []):
        criteria = item.get("search_criteria", {})
        if not OFFSET_TIME.match(item.get("timestamp", "")) or not re.match(r"^[a-z]{3}$", item.get("locale", "")):
            refusals.append("item timestamp/locale")
        if criteria.get("reg_type") not in (
            "ocrvs:registry_type:birth",
            "ocrvs:registry_type:death",
            "ocrvs:registry_type:marriage",
        ):
            refusals.append("reg_type")
        query = criteria.get("query")
        if (
            criteria.get("query_type") != "idtype-value"
            or not isinstance(query, dict)
            or query.get("type") not in ("BRN", "DRN", "MRN", "OPENCRVS_RECORD_ID", "NID")
            or not isinstance(query.get("value"), str)
        ):
            refusals.append("query")
        pagination = criteria.get("pagination", {})
        if not isinstance(pagination.get("page_size"), int) or pagination["page_size"] < 1:
            refusals.append("pagination")
        consent = criteria.get("consent", {})
        if "ts" in consent and not OFFSET_TIME.match(consent["ts"]):
            refusals.append("consent ts")
        if any(sort.get("sort_order") not in ("asc", "desc") for sort in criteria.get("sort", [])):
            refusals.append("sort")
    return refusals


@tagged("post_install", "-at_install")
class TestOpenSPPClientCalls(CallbackCase):
    def setUp(self):
        super().setUp()
        self.sim.faults.clear()
        self.sim.received.clear()
        self.client = DCIClient(self.data_source, self.env)
        self.addCleanup(self.client.close)

    def records(self, response):
        """The seed's own extraction chain."""
        return response.get("message", {}).get("search_response", [{}])[0].get("data", {}).get("reg_records", [])

    def sent(self, index=-1):
        """(path, search_criteria) of a request the registry received, checked against the spec."""
        role, path, envelope = self.sim.received[index]
        self.assertEqual(request_errors(role, path, envelope), [], path)
        return path, envelope["message"]["search_request"][0]["search_criteria"]

    def persons(self, predicate):
        return sorted(person.uin for person in self.sim.population.persons if predicate(person))

    def uins(self, records):
        return sorted(
            next(pair["identifier_value"] for pair in record["identifier"] if pair["identifier_type"] == "UIN")
            for record in records
        )

    def wait_for_callbacks(self, *acks):
        results = self.env["spp.dci.transaction"]._wait_for_callbacks([ack["transaction_id"] for ack in acks], 10)
        self.assertTrue(all(state != "pending" for state, *_rest in results.values()), results)

    def test_search_positional_keyword_and_structured(self):
        response = self.client.search("idtype-value", "BRN:BR-2024-0042")
        self.assertEqual(self.uins(self.records(response)), ["UIN-200000042"])
        _path, criteria = self.sent()
        self.assertEqual(criteria["query"], {"type": "BRN", "value": "BR-2024-0042"})
        self.assertEqual((criteria["reg_record_type"], criteria["reg_type"]), (PERSON, "ns:org:RegistryType:Civil"))

        response = self.client.search("idtype-value", "UIN : UIN-200000042", "PERSON", 1, 5, "CRVS", "BIRTH")
        self.assertEqual(self.uins(self.records(response)), ["UIN-200000042"])
        _path, criteria = self.sent()
        self.assertEqual(criteria["query"], {"type": "UIN", "value": "UIN-200000042"})
        self.assertEqual(criteria["reg_event_type"], "live_birth")
        self.assertEqual(criteria["pagination"], {"page_size": 5, "page_number": 1})

        response = self.client.search(
            query_type="idtype-value",
            query_value={"type": "BRN", "value": "BR-2024-0042"},
            record_type="GROUP",
            page=1,
            page_size=10,
            registry_type=None,
            registry_event_type=None,
        )
        self.assertEqual(len(self.records(response)), 1)
        self.assertEqual(self.sent()[1]["reg_record_type"], "ns:org:RegistryRecordType:Group")

    def test_invalid_arguments_are_validation_errors_and_send_nothing(self):
        calls = [
            lambda: self.client.search("idtype-value", "no-colon-here"),
            lambda: self.client.search("idtype-value", "BRN:BR-1", record_type="HOUSEHOLD"),
            lambda: self.client.search("idtype-value", "BRN:BR-1", registry_type="NOT_A_REGISTRY"),
            lambda: self.client.search("idtype-value", "BRN:BR-1", page=0),
            lambda: self.client.search("idtype-value", "BRN:BR-1", page_size=1001),
            lambda: self.client.search_by_predicate("size(name) > 2"),
            lambda: self.client.search_by_date_range("2024-12-31", "2024-01-01"),
            lambda: self.client.search_by_date_range("2024-01-01", "2024-01-31T10:00:00"),
            lambda: self.client.search_by_id("", "X-1"),
            lambda: self.client.txn_status("t-1", attribute_type="nonsense"),
            lambda: self.client.unsubscribe([]),
        ]
        for number, call in enumerate(calls):
            with self.subTest(call=number), self.assertRaises(ValidationError) as error:
                call()
            self.assertIsInstance(error.exception, DCIError)
        self.assertEqual(self.sim.received, [])

    def test_search_by_id_as_the_services_call_it(self):
        response = self.client.search_by_id(identifier_type="UIN", identifier_value="UIN-200000042")
        self.assertEqual(self.uins(self.records(response)), ["UIN-200000042"])
        response = self.client.search_by_id("BRN", "BR-2024-0042", record_type="PERSON", page=1, page_size=10)
        self.assertEqual(len(self.records(response)), 1)
        response = self.client.search_by_id("UIN", "UIN-200000043", registry_event_type="DEATH")
        self.assertEqual(self.records(response)[0]["death_date"], "2024-08-30")
        self.assertEqual(self.sent()[1]["reg_event_type"], "death")
        self.assertEqual(
            self.records(self.client.search_by_id("UIN", "UIN-200000042", registry_event_type="DEATH")),
            [],
            "a registry keeping deaths apart has no death record of a living person",
        )

    def test_search_by_predicate_cel_and_list(self):
        cel = 'birth_date >= "2024-01-01" && birth_date <= "2024-12-31" && sex == "female"'
        found = self.records(self.client.search_by_predicate(cel, record_type="PERSON", page=1, page_size=100))
        expected = self.persons(
            lambda person: "2024-01-01" <= person.birth_date.isoformat() <= "2024-12-31" and person.sex == "female"
        )
        self.assertTrue(expected)
        self.assertEqual(self.uins(found), expected)
        _path, criteria = self.sent()
        self.assertEqual(criteria["query_type"], "predicate")
        self.assertEqual(len(criteria["query"]), 2)

        either = self.records(
            self.client.search_by_predicate(
                'sex in ["female", "other"] && !(birth_date < date("2024-06-01"))', page_size=100
            )
        )
        self.assertEqual(
            self.uins(either),
            self.persons(
                lambda person: person.sex in ("female", "other") and person.birth_date.isoformat() >= "2024-06-01"
            ),
        )

        listed = [
            {
                "seq_num": 1,
                "expression1": {"attribute_name": "sex", "operator": "eq", "attribute_value": "male"},
                "condition": "and",
                "expression2": {"attribute_name": "birth_date", "operator": "ge", "attribute_value": "2024-01-01"},
            }
        ]
        males = self.records(self.client.search_by_predicate(listed, page_size=100))
        self.assertEqual(
            self.uins(males),
            self.persons(lambda person: person.sex == "male" and person.birth_date.isoformat() >= "2024-01-01"),
        )

        with self.assertRaises(DCIQueryError) as error:
            self.client.search_by_predicate("a == 1 || b == 2 || c == 3")
        self.assertIn("a == 1 || b == 2 || c == 3", str(error.exception))

    def test_search_by_expression_three_shapes(self):
        expression = {"$and": [{"identifier.type": {"$eq": "UIN"}}, {"identifier.value": {"$eq": "UIN-200000043"}}]}
        deceased = self.records(self.client.search_by_expression(expression))
        self.assertEqual(deceased[0]["death_date"], "2024-08-30")
        self.assertEqual(self.sent()[1]["query"]["value"]["expression"], expression)

        docstring_example = [
            {
                "seq_num": 1,
                "expression1": {"attribute_name": "birth_date", "operator": "ge", "attribute_value": "2024-03-01"},
                "condition": "and",
                "expression2": {"attribute_name": "birth_date", "operator": "le", "attribute_value": "2024-03-31"},
            }
        ]
        march = self.records(
            self.client.search_by_expression(
                docstring_example,
                record_type="PERSON",
                page=1,
                page_size=100,
                registry_type=None,
                registry_event_type="BIRTH",
                async_mode=False,
            )
        )
        self.assertEqual(
            self.uins(march), self.persons(lambda person: "2024-03-01" <= person.birth_date.isoformat() <= "2024-03-31")
        )
        self.assertEqual(self.sent()[1]["query_type"], "predicate", "a list is a predicate in the spec")

        ranged = {"birth_date": {"type": "range", "gte": "2024-03-01", "lte": "2024-03-31"}}
        opencrvs = self.records(
            self.client.search_by_expression(
                ranged, page_size=100, registry_event_type="BIRTH", use_opencrvs_format=True
            )
        )
        self.assertEqual(self.uins(opencrvs), self.uins(march))
        _path, criteria = self.sent()
        self.assertEqual(
            criteria["query"], {"type": "ns:org:QueryType:expression", "value": {"expression": {"query": ranged}}}
        )
        self.assertEqual(criteria["reg_event_type"], "birth")

    def test_search_by_date_range_both_formats(self):
        spec = self.records(
            self.client.search_by_date_range("2024-01-01", "2024-12-31", event_type="BIRTH", page_size=200)
        )
        expected = self.persons(lambda person: "2024-01-01" <= person.birth_date.isoformat() <= "2024-12-31")
        self.assertEqual(self.uins(spec), expected)
        _path, criteria = self.sent()
        self.assertEqual(criteria["query"][0]["expression1"]["attribute_name"], "birth_date")
        self.assertEqual(criteria["reg_event_type"], "live_birth")

        opencrvs = self.records(
            self.client.search_by_date_range(
                "2024-01-01", "2024-12-31", event_type="birth", page_size=200, use_opencrvs_format=True
            )
        )
        self.assertEqual(self.uins(opencrvs), expected)
        _path, criteria = self.sent()
        self.assertEqual(
            criteria["query"]["value"]["expression"]["query"],
            {"birth_date": {"type": "range", "gte": "2024-01-01", "lte": "2024-12-31"}},
        )

        timed = self.records(
            self.client.search_by_date_range(
                "2024-01-01T00:00:00Z", "2024-12-31T23:59:59Z", attribute_name="birth_date", page_size=200
            )
        )
        self.assertEqual(
            len(timed),
            len(
                self.persons(
                    lambda person: "2024-01-01T00:00:00Z" <= person.birth_date.isoformat() <= "2024-12-31T23:59:59Z"
                )
            ),
        )

    def test_search_by_id_opencrvs_as_opencrvs_takes_it(self):
        found = self.records(self.client.search_by_id_opencrvs("BRN", "BR-2024-0042", event_type="birth"))
        self.assertEqual(self.uins(found), ["UIN-200000042"])
        _path, criteria = self.sent()
        self.assertEqual(
            (criteria["query_type"], criteria["query"], criteria["reg_event_type"]),
            ("idtype-value", {"type": "BRN", "value": "BR-2024-0042"}, "birth"),
        )
        self.assertEqual(criteria["reg_type"], "ocrvs:registry_type:birth", "where OpenCRVS reads the event")
        self.assertEqual(opencrvs_refusals(self.sim.received[-1][2]), [])
        self.assertEqual(criteria["sort"], [{"attribute_name": "createdAt", "sort_order": "asc"}])
        self.assertTrue(self.sim.received[-1][2]["signature"], "we sign for OpenCRVS too")
        self.client.search_by_id_opencrvs("DRN", "DR-2024-0007", "death", 1, 1)
        self.assertEqual(self.sent()[1]["reg_type"], "ocrvs:registry_type:death")
        self.assertEqual(opencrvs_refusals(self.sim.received[-1][2]), [])
        self.client.search_by_id("BRN", "BR-2024-0042")
        self.assertEqual(opencrvs_refusals(self.sim.received[-1][2]), ["reg_type"], "the oracle can refuse")

    def test_async_modes_ack_and_call_back(self):
        with self.allow_requests(all_requests=True):
            acks = [
                self.client.search_by_id("UIN", "UIN-200000042", async_mode=True),
                self.client.search_by_id_opencrvs("BRN", "BR-2024-0042", async_mode=True),
                self.client.search_by_date_range("2024-01-01", "2024-12-31", async_mode=True),
                self.client.search_by_predicate('sex == "female"', async_mode=True),
                self.client.search_async(
                    "idtype-value", "BRN:BR-2024-0042", "PERSON", 1, 10, None, None, self.base_url() + "/dci/callback"
                ),
                self.client.search_async(
                    query_type="idtype-value",
                    query_value="BRN:BR-2024-0042",
                    callback_url=self.base_url() + "/dci/callback",
                ),
            ]
            self.wait_for_callbacks(*acks)
        for ack in acks:
            self.assertEqual(ack["message"]["ack_status"], "ACK")
            self.assertTrue(ack["message"]["correlation_id"])
        self.assertEqual({path for _role, path, _envelope in self.sim.received}, {"/registry/search"})
        for index in range(len(acks)):
            self.sent(index)

    def test_subscribe_unsubscribe_and_txn_status(self):
        with self.allow_requests(all_requests=True):
            ack = self.client.subscribe(event_type="BIRTH", notify_record_type="Person")
            self.wait_for_callbacks(ack)
            criteria = self.sim.received[-1][2]["message"]["subscribe_request"][0]["subscribe_criteria"]
            self.assertEqual((criteria["reg_event_type"], criteria["notify_record_type"]), ("live_birth", PERSON))
            other = self.client.subscribe("DEATH", None, "PERSON")
            self.wait_for_callbacks(other)
        codes = list(self.sim.subscriptions)
        self.assertEqual(len(codes), 2)
        self.assertEqual(self.client.unsubscribe(subscription_codes=codes)["message"]["ack_status"], "ACK")
        self.assertEqual(self.sim.subscriptions, {})

        searched = self.client.search_by_id("BRN", "BR-2024-0042")["message"]["transaction_id"]
        status = self.client.txn_status(searched)
        txn_status = status["message"]["txnstatus_response"]["txn_status"]
        self.assertEqual((txn_status["transaction_id"], txn_status["search_response"][0]["status"]), (searched, "succ"))
        status = self.client.txn_status(attribute_value=searched, attribute_type="transaction_id")
        txn_status = status["message"]["txnstatus_response"]["txn_status"]
        self.assertEqual((txn_status["transaction_id"], txn_status["search_response"][0]["status"]), (searched, "succ"))
        self.client.txn_status("ref-1", "reference_id")
        request = self.sim.received[-1][2]["message"]["txnstatus_request"]
        self.assertEqual((request["attribute_type"], request["attribute_value"]), ("reference_id_list", ["ref-1"]))

    def test_registry_rejection_is_a_user_error_with_the_code(self):
        self.sim.faults.add("item_rjct", code="rjct.search_criteria.invalid")
        with self.assertRaises(DCIRejectedError) as error:
            self.client.search_by_id("BRN", "BR-2024-0042")
        self.assertEqual(error.exception.code, "rjct.search_criteria.invalid")

    def test_constructor_refuses_a_source_without_sender_id(self):
        source = self.make_data_source(code="no_sender", auth_type="none", our_sender_id=False)
        with self.assertRaises(ValidationError) as error:
            DCIClient(source, self.env)
        self.assertIn("Our Sender ID", str(error.exception))


@tagged("post_install", "-at_install")
class TestOpenSPPDataSourceCalls(CallbackCase):
    def test_lookups_accept_short_registry_names(self):
        sources = self.env["spp.dci.data.source"]
        self.assertEqual(sources.get_by_code("test_crvs"), self.data_source)
        for name in ("CRVS", "crvs", "CIVIL", "ns:org:RegistryType:Civil"):
            self.assertIn(self.data_source, sources.get_by_registry_type(name), name)
        ibr = self.make_data_source(role="ibr", code="ibr_short")
        self.assertEqual(sources.get_by_registry_type("IBR"), sources.get_by_registry_type("ns:org:RegistryType:IBR"))
        self.assertIn(ibr, sources.get_by_registry_type("IBR"))
        self.assertNotIn(ibr, sources.get_by_registry_type("DR"))
        with self.assertRaises(ValidationError):
            sources.get_by_registry_type("CRSV")

    def test_oauth2_token_methods(self):
        source = self.data_source
        source.clear_oauth2_token_cache()
        before = self.sim.stats["token_requests"]
        token = source.get_oauth2_token()
        self.assertIsInstance(token, str)
        self.assertEqual(source.get_oauth2_token(force_refresh=False), token)
        self.assertEqual(source.get_access_token(), token)
        self.assertEqual(self.sim.stats["token_requests"] - before, 1, "cached")
        fresh = source.get_oauth2_token(force_refresh=True)
        self.assertNotEqual(fresh, token)
        self.assertEqual(self.sim.stats["token_requests"] - before, 2)
        self.assertTrue(source.clear_oauth2_token_cache())
        self.assertNotEqual(source.get_oauth2_token(), fresh)
        bearer = self.make_data_source(code="bearer_src", auth_type="bearer", bearer_token="static-token")
        self.assertEqual(bearer.get_access_token(), "static-token")
        with self.assertRaises(ValidationError):
            bearer.get_oauth2_token()

    def test_credentials_in_the_query_string_for_opencrvs(self):
        source = self.make_data_source(code="ocrvs_query", oauth2_credential_location="query")
        before = dict(self.sim.stats)
        self.assertTrue(source.get_oauth2_token())
        self.assertEqual(self.sim.stats["token_requests_in_query"] - before["token_requests_in_query"], 1)
        self.assertEqual(self.sim.stats["token_requests"] - before["token_requests"], 1)
        self.data_source.get_oauth2_token(force_refresh=True)
        self.assertEqual(
            self.sim.stats["token_requests_in_query"] - before["token_requests_in_query"],
            1,
            "the default stays in the body",
        )
        wrong = self.make_data_source(
            code="ocrvs_wrong", oauth2_credential_location="query", oauth2_client_secret="not-the-secret"
        )
        with self.assertRaises(DCIError):
            wrong.get_oauth2_token()

    def test_make_request_and_test_connection(self):
        message = {
            "transaction_id": "t-make-request",
            "search_request": [
                {
                    "reference_id": "r-1",
                    "timestamp": "2024-01-01T00:00:00Z",
                    "locale": "eng",
                    "search_criteria": {
                        "version": "1.0.0",
                        "reg_type": "ns:org:RegistryType:Civil",
                        "query_type": "idtype-value",
                        "query": {"type": "BRN", "value": "BR-2024-0042"},
                        "pagination": {"page_size": 1, "page_number": 1},
                    },
                }
            ],
        }
        response = self.data_source.make_request("/registry/sync/search", message, action="search")
        self.assertEqual(
            response["message"]["search_response"][0]["data"]["reg_records"][0]["name"]["given_name"], "Maria"
        )
        envelope = {"header": {"action": "search"}, "message": message}
        self.assertEqual(self.data_source.make_request("/registry/sync/search", envelope)["header"]["status"], "succ")
        for endpoint in ("registry/sync/search", "/../admin", "https://evil.example/x"):
            with self.subTest(endpoint=endpoint), self.assertRaises(ValidationError):
                self.data_source.make_request(endpoint, message, action="search")
        result = self.data_source.test_connection()
        self.assertEqual(result["params"]["type"], "success", result["params"]["message"])

    def rpc(self, method, *args):
        response = self.url_open(
            "/web/dataset/call_kw",
            data=json.dumps(
                {
                    "jsonrpc": "2.0",
                    "method": "call",
                    "id": 1,
                    "params": {
                        "model": "spp.dci.data.source",
                        "method": method,
                        "args": [[self.data_source.id], *args],
                        "kwargs": {},
                    },
                }
            ),
            headers={"Content-Type": "application/json"},
        )
        return response.json()

    def test_token_methods_are_refused_over_rpc(self):
        self.authenticate("admin", "admin")
        before = self.sim.stats["token_requests"]
        for method, args in (
            ("get_oauth2_token", ()),
            ("get_oauth2_token", (True,)),
            ("get_access_token", ()),
            ("make_request", ("/registry/sync/search", {"transaction_id": "t"}, "search")),
        ):
            with self.subTest(method=method):
                body = self.rpc(method, *args)
                self.assertIn("error", body)
                self.assertEqual(body["error"]["data"]["name"], f"{AccessError.__module__}.AccessError")
                self.assertNotIn("result", body)
        self.assertEqual(self.sim.stats["token_requests"], before, "no token was fetched for an RPC caller")
        response = self.url_open(
            "/web/dataset/call_kw",
            data=json.dumps(
                {
                    "jsonrpc": "2.0",
                    "method": "call",
                    "id": 2,
                    "params": {
                        "model": "spp.dci.data.source",
                        "method": "get_by_registry_type",
                        "args": ["CRSV"],
                        "kwargs": {},
                    },
                }
            ),
            headers={"Content-Type": "application/json"},
        )
        error = response.json()["error"]["data"]
        self.assertEqual(error["name"], "odoo.addons.spp_dci_client.services.errors.DCIValidationError")
        self.assertIn("CRSV", error["message"])
        body = self.rpc("test_connection")
        self.assertEqual(body["result"]["params"]["type"], "success", body)
