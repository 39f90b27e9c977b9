import json
import threading
import time
from unittest.mock import patch

import httpx

from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tests.common import release_test_lock

from ..models.data_source import DciDataSource
from ..services import envelope as E
from ..services.client import DCIClient
from ..services.errors import (
    DCIAuthenticationError,
    DCIConfigurationError,
    DCIConnectionError,
    DCIProtocolError,
    DCIRejectedError,
    DCISignatureError,
    DCITimeoutError,
)
from ..services.transport import RetryPolicy
from .common import CLIENT_ID, CLIENT_SECRET, DCICase
from .spec import request_errors, response_errors


@tagged("post_install", "-at_install")
class TestDCIClient(DCICase):
    def client(self, data_source=None):
        client = DCIClient(data_source or self.data_source, self.env)
        self.addCleanup(client.close)
        return client

    def assertSentEnvelopesValid(self, expected_paths):
        """Every envelope the registry received is valid against the spec for its path."""
        paths = [path for _role, path, _envelope in self.sim.received]
        self.assertEqual(paths, expected_paths)
        for role, path, envelope in self.sim.received:
            self.assertEqual(request_errors(role, path, envelope), [], path)
            self.assertIsInstance(envelope["header"]["total_count"], int)
            self.assertRegex(envelope["header"]["message_ts"], r"(Z|[+-]\d\d:\d\d)$")
            self.assertEqual(envelope["header"]["receiver_id"], "crvs.simulator")

    def records(self, response):
        return response["message"]["search_response"][0]["data"]["reg_records"]

    def test_search_by_id_found_signed_both_ways(self):
        response = self.client().search_by_id("BRN", "BR-2024-0042")
        records = self.records(response)
        self.assertEqual(len(records), 1)
        self.assertIn({"identifier_type": "BRN", "identifier_value": "BR-2024-0042"}, records[0]["identifier"])
        self.assertEqual(records[0]["birth_date"], "2024-03-15")
        self.assertEqual(response_errors("crvs", "/registry/sync/search", response), [])
        self.assertSentEnvelopesValid(["/registry/sync/search"])
        self.assertIn('namespace="dci"', self.sim.received[0][2]["signature"])

    def test_a_client_of_plain_parts_logs_to_its_own_sink(self):
        rows = []
        parts = dict(self.data_source._dci_client_parts(), message_log=rows.append)
        with DCIClient.from_parts(**parts) as client:
            message = E.txn_status_message(E.new_id(), "none", "transaction_id", "search", "eng")
            envelope, items = client.post_sync("/registry/sync/txn/status", "txn-status", message)
            self.assertEqual((envelope["header"]["action"], items), ("txn-on-status", {}), "one shape, no list_key")
            self.sim.faults.add("bad_signature")
            with self.assertRaises(DCISignatureError):
                client.search_by_id("BRN", "BR-2024-0042")
        self.assertEqual(
            [(row["action"], row["state"], row["error_type"]) for row in rows],
            [("txn-status", "done", None), ("search", "error", "DCISignatureError")],
        )
        self.env.invalidate_all()
        logged = (
            self.env["spp.dci.transaction"]
            .sudo()
            .search([("transaction_id", "in", [row["transaction_id"] for row in rows])])
        )
        self.assertFalse(logged, "the client writes the message log through its sink only")

    def test_data_source_factory_is_what_services_and_jobs_use(self):
        with patch.object(
            DciDataSource, "_dci_client", autospec=True, side_effect=DciDataSource._dci_client
        ) as factory:
            self.data_source.get_access_token()
            self.data_source.test_connection()
        self.assertEqual(factory.call_count, 2)

    def test_search_by_id_not_found_is_empty_not_error(self):
        self.assertEqual(self.records(self.client().search_by_id("BRN", "BR-2024-9999")), [])

    def test_spec_validation_catches_bad_envelopes(self):
        self.client().search_by_id("BRN", "BR-2024-0042")
        envelope = json.loads(json.dumps(self.sim.received[0][2]))
        envelope["header"]["total_count"] = "1"
        del envelope["message"]["search_request"][0]["search_criteria"]["query_type"]
        self.assertGreaterEqual(len(request_errors("crvs", "/registry/sync/search", envelope)), 1)

    def test_query_kinds(self):
        client = self.client()
        births = self.records(client.search_by_date_range("2024-03-01", "2024-03-31", page_size=50))
        self.assertTrue(births)
        self.assertTrue(all("2024-03-01" <= record["birth_date"] <= "2024-03-31" for record in births))
        predicate = [
            {
                "seq_num": 1,
                "expression1": {"attribute_name": "sex", "operator": "eq", "attribute_value": "female"},
                "condition": "and",
                "expression2": {"attribute_name": "birth_date", "operator": "ge", "attribute_value": "2024-01-01"},
            }
        ]
        females = self.records(client.search_by_predicate(predicate, page_size=100))
        self.assertTrue(females)
        self.assertEqual({record["sex"] for record in females}, {"female"})
        expression = {"$and": [{"identifier.type": {"$eq": "UIN"}}, {"identifier.value": {"$eq": "UIN-200000043"}}]}
        deceased = self.records(client.search_by_expression(expression))
        self.assertEqual(deceased[0]["death_date"], "2024-08-30")
        opencrvs = self.records(client.search_by_id_opencrvs("BRN", "BR-2024-0042"))
        self.assertEqual(opencrvs[0]["name"]["given_name"], "Maria")
        self.assertSentEnvelopesValid(["/registry/sync/search"] * 4)

    def test_pagination(self):
        client = self.client()
        first = client.search_by_date_range("1950-01-01", "2026-12-31", page_size=7)["message"]["search_response"][0]
        second = client.search_by_date_range("1950-01-01", "2026-12-31", page=2, page_size=7)
        second = second["message"]["search_response"][0]
        self.assertEqual(len(first["data"]["reg_records"]), 7)
        self.assertEqual(first["pagination"]["total_count"], second["pagination"]["total_count"])
        self.assertNotEqual(first["data"]["reg_records"], second["data"]["reg_records"])

    def test_search_batch_is_chunked_and_matched_by_reference(self):
        self.data_source.max_batch_size = 40
        persons = [person for person in self.sim.population.persons if person.brn][:100]
        queries = [{"query_type": "idtype-value", "query": {"type": "BRN", "value": person.brn}} for person in persons]
        queries.insert(50, {"query_type": "idtype-value", "query": {"type": "BRN", "value": "BR-2024-9999"}})
        results = self.client().search_batch(queries)
        self.assertEqual(len(results), 101)
        self.assertEqual(len(self.sim.received), 3)
        self.assertEqual([len(env["message"]["search_request"]) for _r, _p, env in self.sim.received], [40, 40, 21])
        for _role, _path, envelope in self.sim.received:
            self.assertEqual(envelope["header"]["total_count"], len(envelope["message"]["search_request"]))
        self.assertEqual(results[50]["data"]["reg_records"], [])
        for query, result in zip(queries[:50] + queries[51:], results[:50] + results[51:], strict=True):
            identifiers = result["data"]["reg_records"][0]["identifier"]
            self.assertIn({"identifier_type": "BRN", "identifier_value": query["query"]["value"]}, identifiers)

    def test_profiles_and_algorithms_both_ways(self):
        """Each profile against the simulator playing its peer, Ed25519 and RSA (OpenG2P allows EdDSA only when
        configured: the simulator does not, as OpenG2P by default)."""
        for algorithm in ("ed25519", "rsa"):
            for profile in ("dci_cavage", "openspp", "openg2p"):
                with self.subTest(algorithm=algorithm, profile=profile):
                    peer = "spec" if profile == "dci_cavage" else profile
                    key = self.make_signing_key(algorithm, name=f"{algorithm} {profile}")
                    source = self.make_data_source(
                        code=f"prof_{algorithm}_{profile}",
                        signing_key_id=key.id,
                        signature_profile=profile,
                        base_url=self.server.url(f"{peer}/crvs"),
                        registry_public_key=self.sim.public_key_pem_for(peer),
                    )
                    self.sim.received.clear()
                    if profile == "openg2p" and algorithm == "ed25519":
                        with self.assertRaises(DCIAuthenticationError) as refused:
                            self.client(source).search_by_id("BRN", "BR-2024-0042")
                        self.assertEqual(refused.exception.code, "err.signature.invalid")
                        continue
                    response = self.client(source).search_by_id("BRN", "BR-2024-0042")
                    self.assertEqual(len(self.records(response)), 1)
                    sent = self.sim.received[0][2]
                    if profile == "openg2p":
                        self.assertNotIn("signature", sent)
                        self.assertNotIn("signature", response)
                    else:
                        self.assertIn(f"|{key.kid}|", sent["signature"])
                        label = {"ed25519": "ed25519", "rsa": "rs256" if profile == "openspp" else "rsa-sha256"}
                        self.assertIn(f'algorithm="{label[algorithm]}"', sent["signature"])

    def test_registry_rejects_unknown_signing_key(self):
        other = self.make_signing_key(name="Unknown to the registry")
        other.action_revoke()
        source = self.make_data_source(code="revoked_key", signing_key_id=other.id)
        with self.assertRaises(UserError) as error:
            self.client(source)
        self.assertIn("revoked", str(error.exception))

    def test_search_batch_follows_pagination_up_to_max_records(self):
        everyone = {
            "query_type": "predicate",
            "page_size": 7,
            "query": [
                {
                    "seq_num": 1,
                    "expression1": {"attribute_name": "birth_date", "operator": "ge", "attribute_value": "1900-01-01"},
                }
            ],
        }
        client = self.client()
        first_page = client.search_batch([everyone])[0]
        total = first_page["pagination"]["total_count"]
        self.assertGreater(total, 30)
        self.assertEqual(len(first_page["data"]["reg_records"]), 7)
        self.sim.received.clear()
        small = {"query_type": "idtype-value", "query": {"type": "BRN", "value": "BR-2024-0042"}, "max_records": 50}
        paged, single = client.search_batch([dict(everyone, max_records=20), small])
        records = paged["data"]["reg_records"]
        self.assertEqual(len(records), 20)
        self.assertEqual(len({json.dumps(record, sort_keys=True) for record in records}), 20)
        self.assertEqual(len(single["data"]["reg_records"]), 1)
        pages = [
            item["search_criteria"]["pagination"]["page_number"]
            for _role, _path, envelope in self.sim.received
            for item in envelope["message"]["search_request"]
        ]
        self.assertEqual(pages, [1, 1, 2, 3])
        everything = client.search_batch([dict(everyone, page_size=100, max_records=100_000)])[0]
        self.assertEqual(len(everything["data"]["reg_records"]), total)
        with self.assertRaises(DCIConfigurationError):
            client.search_batch([dict(everyone, max_records=0)])

    def test_receiver_id_defaults_to_the_registry_host(self):
        source = self.make_data_source(code="no_receiver", receiver_id=False)
        self.client(source).search_by_id("BRN", "BR-2024-0042")
        self.assertEqual(self.sim.received[0][2]["header"]["receiver_id"], "127.0.0.1")

    def test_txn_status(self):
        client = self.client()
        client.search_by_id("BRN", "BR-2024-0042")
        searched = self.sim.received[0][2]["message"]["transaction_id"]
        status = client.txn_status(searched)
        txn_status = status["message"]["txnstatus_response"]["txn_status"]
        self.assertEqual(txn_status["transaction_id"], searched)
        self.assertEqual([item["status"] for item in txn_status["search_response"]], ["succ"])
        self.assertEqual(response_errors("crvs", "/registry/sync/txn/status", status), [])
        self.assertEqual(status["header"]["action"], "txn-on-status")
        self.assertEqual(self.sim.received[1][1], "/registry/sync/txn/status")
        self.assertEqual(self.sim.received[1][2]["header"]["action"], "txn-status")
        self.assertEqual(request_errors("crvs", "/registry/sync/txn/status", self.sim.received[1][2]), [])

    def test_header_rjct_is_an_error_with_reason_code(self):
        self.sim.faults.add("header_rjct", code="rjct.action.not_supported")
        with self.assertRaises(DCIRejectedError) as error:
            self.client().search_by_id("BRN", "BR-2024-0042")
        self.assertEqual(error.exception.code, "rjct.action.not_supported")

    def test_item_rjct_names_the_item(self):
        self.sim.faults.add("item_rjct", code="rjct.search_criteria.invalid")
        with self.assertRaises(DCIRejectedError) as error:
            self.client().search_by_id("BRN", "BR-2024-0042")
        self.assertEqual(error.exception.code, "rjct.search_criteria.invalid")
        self.assertEqual(
            error.exception.reference_id, self.sim.received[0][2]["message"]["search_request"][0]["reference_id"]
        )

    def test_reference_id_mismatch_is_a_protocol_error(self):
        self.sim.faults.add("wrong_reference")
        with self.assertRaises(DCIProtocolError) as error:
            self.client().search_by_id("BRN", "BR-2024-0042")
        self.assertEqual(error.exception.code, "rjct.reference_id.invalid")

    def test_retry_on_429_honours_retry_after(self):
        self.sim.faults.add("status", status=429, retry_after=1, times=1)
        started = time.monotonic()
        response = self.client().search_by_id("BRN", "BR-2024-0042")
        self.assertGreaterEqual(time.monotonic() - started, 1.0)
        self.assertEqual(len(self.records(response)), 1)
        self.assertEqual(len(self.sim.received), 2)

    def test_retry_on_503_then_gives_up(self):
        self.sim.faults.add("status", status=503, times=1)
        self.assertEqual(len(self.records(self.client().search_by_id("BRN", "BR-2024-0042"))), 1)
        self.sim.faults.add("status", status=503, times=None)
        with self.assertRaises(DCIRejectedError) as error:
            self.client().search_by_id("BRN", "BR-2024-0042")
        self.assertEqual(error.exception.response_status, 503)
        self.sim.faults.clear()

    def test_500_is_not_retried(self):
        self.sim.faults.add("status", status=500, times=1)
        with self.assertRaises(DCIRejectedError) as error:
            self.client().search_by_id("BRN", "BR-2024-0042")
        self.assertEqual(error.exception.response_status, 500)
        self.assertEqual(len(self.sim.received), 1)

    def test_retry_sends_a_new_message(self):
        self.sim.faults.add("drop", times=1)
        self.sim.faults.add("status", status=502, times=1)
        self.client().search_by_id("BRN", "BR-2024-0042")
        attempts = [envelope for _role, _path, envelope in self.sim.received]
        self.assertEqual(len(attempts), 3)
        self.assertEqual(len({envelope["header"]["message_id"] for envelope in attempts}), 3)
        self.assertEqual(len({envelope["message"]["transaction_id"] for envelope in attempts}), 1)

    def test_malformed_bodies_are_protocol_errors(self):
        for kind in ("malformed_json", "html", "empty"):
            with self.subTest(kind=kind):
                self.sim.faults.add(kind)
                with self.assertRaises(DCIProtocolError):
                    self.client().search_by_id("BRN", "BR-2024-0042")

    def test_huge_body_is_refused_without_reading_it_all(self):
        self.data_source.max_response_kb = 512
        self.sim.faults.add("huge", bytes=2 * 1024 * 1024)
        with self.assertRaises(DCIProtocolError) as error:
            self.client().search_by_id("BRN", "BR-2024-0042")
        self.assertIn("larger", str(error.exception))

    def test_response_signature_faults(self):
        for kind, code in (
            ("no_signature", "err.signature.missing"),
            ("bad_signature", "err.signature.invalid"),
            ("expired_signature", "err.signature.invalid"),
            ("unknown_kid", "err.signature.invalid"),
        ):
            with self.subTest(kind=kind):
                self.sim.faults.add(kind)
                with self.assertRaises(DCISignatureError) as error:
                    self.client().search_by_id("BRN", "BR-2024-0042")
                self.assertEqual(error.exception.code, code)

    def test_replayed_response_is_refused(self):
        client = self.client()
        client.search_by_id("BRN", "BR-2024-0042")
        self.sim.faults.add("replay")
        with self.assertRaises(DCISignatureError) as error:
            client.search_by_id("BRN", "BR-2024-0042")
        self.assertEqual(error.exception.code, "rjct.message_id.duplicate")

    def test_unsigned_response_accepted_only_when_policy_allows(self):
        self.data_source.signature_policy = "if_present"
        self.sim.faults.add("no_signature")
        self.assertEqual(len(self.records(self.client().search_by_id("BRN", "BR-2024-0042"))), 1)
        self.sim.faults.add("bad_signature")
        with self.assertRaises(DCISignatureError):
            self.client().search_by_id("BRN", "BR-2024-0042")

    def test_connection_refused_and_timeout(self):
        refused = self.make_data_source(code="refused", base_url="http://127.0.0.1:9", max_attempts=2)
        with self.assertRaises(DCIConnectionError) as error:
            self.client(refused).search_by_id("BRN", "BR-2024-0042")
        self.assertNotIsInstance(error.exception, DCITimeoutError)
        self.sim.faults.add("latency", seconds=2)
        slow = self.make_data_source(code="slow", timeout=1, max_attempts=1)
        with self.assertRaises(DCITimeoutError):
            self.client(slow).search_by_id("BRN", "BR-2024-0042")

    def test_token_is_cached_and_renewed_once_on_401(self):
        client = self.client()
        before = self.sim.stats["token_requests"]
        for _ in range(3):
            client.search_by_id("BRN", "BR-2024-0042")
        self.assertEqual(self.sim.stats["token_requests"] - before, 1)
        self.sim.faults.add("expire_tokens")
        self.sim.received.clear()
        client.search_by_id("BRN", "BR-2024-0042")
        self.assertEqual(self.sim.stats["token_requests"] - before, 2)
        stored = self.env["spp.dci.oauth.token"].sudo().search([("data_source_id", "=", self.data_source.id)])
        self.assertEqual(len(stored), 1)
        self.assertNotIn(stored.access_token_stored, ("", False))

    def test_token_renewed_before_expiry(self):
        self.sim.faults.add("lifetime", lifetime=20)
        client = self.client()
        before = self.sim.stats["token_requests"]
        client.search_by_id("BRN", "BR-2024-0042")
        client.search_by_id("BRN", "BR-2024-0042")
        self.assertEqual(self.sim.stats["token_requests"] - before, 2, "a token within the margin is renewed")

    def test_token_rejected_and_endpoint_down(self):
        self.sim.faults.add("token_reject")
        with self.assertRaises(DCIAuthenticationError):
            self.client().search_by_id("BRN", "BR-2024-0042")
        self.sim.faults.add("status", path="/oauth2/client/token", status=503)
        with self.assertRaises(DCIAuthenticationError):
            self.client().search_by_id("BRN", "BR-2024-0042")

    def test_threads_share_one_token(self):
        client = self.client()
        before = self.sim.stats["token_requests"]
        errors, answers = [], []

        def work():
            try:
                for _ in range(10):
                    answers.append(len(self.records(client.search_by_id("BRN", "BR-2024-0042"))))
            except Exception as error:
                errors.append(error)

        threads = [threading.Thread(target=work) for _ in range(6)]
        with release_test_lock():
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        self.assertEqual(errors, [])
        self.assertEqual(answers, [1] * 60)
        self.assertEqual(self.sim.stats["token_requests"] - before, 1)

    def test_bad_input_sends_nothing(self):
        client = self.client()
        before = self.sim.stats["requests"]
        for args in (
            ("BRN", ""),
            ("BRN", "   "),
            ("", "X"),
            ("BRN", "x" * 300),
            ("BRN", None),
            ("BRN", ["x"]),
            ("BRN", "a\x00b"),
            ("BR N", "X"),
            ("BRN'; DROP TABLE", "X"),
        ):
            with self.subTest(args=args), self.assertRaises(DCIConfigurationError):
                client.search_by_id(*args)
        with self.assertRaises(DCIConfigurationError):
            client.search_by_date_range("2024-02-30", "2024-03-01")
        with self.assertRaises(DCIConfigurationError):
            client.search("idtype-value", {"type": "BRN", "value": "X"}, page_size=0)
        with self.assertRaises(DCIConfigurationError):
            client.search("idtype-value", {"type": "BRN", "value": "X"}, locale="en")
        self.assertEqual(self.sim.stats["requests"], before)

    def test_constructor_shapes(self):
        with self.assertRaisesRegex(TypeError, r"\(data_source, env\)"):
            DCIClient(self.env, self.data_source)
        with self.assertRaisesRegex(TypeError, "spp.dci.data.source"):
            DCIClient("crvs_main", self.env)
        unconfigured = self.make_data_source(code="no_sender", our_sender_id=False)
        with self.assertRaisesRegex(DCIConfigurationError, "Our Sender ID"):
            DCIClient(unconfigured, self.env)

    def test_message_log_has_no_personal_data(self):
        client = self.client()
        client.search_by_id("BRN", "BR-2024-0042")
        self.sim.faults.add("header_rjct", code="rjct.action.not_supported")
        # Not self.assertRaises: it rolls back a savepoint, and in test mode the
        # log's own cursor shares the test transaction.
        raised = None
        try:
            client.search_by_id("BRN", "BR-2024-0042")
        except DCIRejectedError as error:
            raised = error
        self.assertIsNotNone(raised, "a rejected request must raise")
        logs = self.env["spp.dci.transaction"].sudo().search([("data_source_id", "=", self.data_source.id)], order="id")
        self.assertEqual(logs.mapped("state")[-2:], ["done", "error"])
        self.assertEqual(logs[-1].reason_code, "rjct.action.not_supported")
        self.assertEqual(logs[-1].user_id, self.env.user)
        dump = json.dumps(logs.read(), default=str)
        self.assertNotIn("BR-2024-0042", dump)
        self.assertNotIn("Maria", dump)

    def test_registry_keys_from_jwks_url(self):
        source = self.make_data_source(
            code="jwks_keys",
            registry_public_key=False,
            registry_jwks_url=self.server.url("crvs") + "/.well-known/jwks.json",
        )
        self.assertEqual(len(self.records(self.client(source).search_by_id("BRN", "BR-2024-0042"))), 1)
        self.sim.faults.add("unknown_kid")
        with self.assertRaises(DCISignatureError) as error:
            self.client(source).search_by_id("BRN", "BR-2024-0042")
        self.assertIn("unknown key", str(error.exception))

    def test_bearer_token_auth(self):
        token = httpx.post(
            self.server.url("crvs") + "/oauth2/client/token",
            data={
                "grant_type": "client_credentials",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            },
        ).json()["access_token"]
        source = self.make_data_source(code="bearer_auth", auth_type="bearer", bearer_token=token)
        self.assertEqual(len(self.records(self.client(source).search_by_id("BRN", "BR-2024-0042"))), 1)
        source.bearer_token = "not-the-token"
        with self.assertRaises(DCIAuthenticationError) as error:
            self.client(source).search_by_id("BRN", "BR-2024-0042")
        self.assertEqual(error.exception.response_status, 401)

    def test_retry_policy_is_bounded(self):
        policy = RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=2)
        delays = [policy.delay(attempt) for attempt in range(1, 10)]
        self.assertTrue(all(0 <= delay <= 2 for delay in delays))
        self.assertEqual(policy.delay(1, retry_after=7), 7)
