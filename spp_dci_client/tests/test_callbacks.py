import json

from dci_simulator import simulator_private_key

from odoo.tests import tagged

from ..services import envelope as E
from ..services.client import DCIClient
from ..services.signing import Signer, get_profile, public_jwk
from .common import CallbackCase


@tagged("post_install", "-at_install")
class TestCallbacks(CallbackCase):
    """Async DCI over real HTTP both ways: the simulator calls back into this Odoo server.

    While waiting for a callback, allow_requests lets the server's request
    thread take the test cursor for the simulator's cookie-less requests.
    """

    def client(self):
        client = DCIClient(self.data_source, self.env)
        self.addCleanup(client.close)
        return client

    def wait_for(self, transaction_id, timeout=10):
        """The transaction once its callback arrived (polled in fresh, serialized test cursors)."""
        results = self.env["spp.dci.transaction"]._wait_for_callbacks([transaction_id], timeout)
        self.assertNotEqual(results[transaction_id][0], "pending", f"no callback for {transaction_id}")
        self.env.invalidate_all()
        return (
            self.env["spp.dci.transaction"]
            .sudo()
            .search([("transaction_id", "=", transaction_id), ("direction", "=", "out")])
        )

    def post_callback(self, envelope, path="/dci/callback"):
        response = self.url_open(path, data=json.dumps(envelope), headers={"Content-Type": "application/json"})
        return response.status_code, response.json()

    def registry_envelope(self, action, message, signer=None, profile="dci_cavage"):
        head = {
            "version": "1.0.0",
            "message_id": E.new_id(),
            "message_ts": E.timestamp(),
            "action": action,
            "status": "succ",
            "sender_id": "crvs.simulator",
            "receiver_id": "openspp.test",
            "total_count": 1,
        }
        key = simulator_private_key()
        signer = signer or Signer(key, public_jwk(key.public_key())["kid"])
        return {
            "header": head,
            "message": message,
            "signature": get_profile(profile).sign(head, message, signer, "crvs.simulator"),
        }

    def test_async_search_ack_then_callback(self):
        with self.allow_requests(all_requests=True):
            ack = self.client().search_async("idtype-value", {"type": "BRN", "value": "BR-2024-0042"})
            self.assertEqual(ack["message"]["ack_status"], "ACK")
            self.assertTrue(ack["message"]["correlation_id"])
            sent = self.sim.received[-1][2]
            self.assertEqual(sent["header"]["sender_uri"], self.base_url() + "/dci/callback")
            transaction = self.wait_for(ack["transaction_id"])
        self.assertEqual(transaction.state, "done")
        result = transaction._get_result()
        records = result["search_response"][0]["data"]["reg_records"]
        self.assertEqual(records[0]["name"]["given_name"], "Maria")
        self.assertEqual(result["transaction_id"], ack["transaction_id"])

    def test_subscribe_ack_then_on_subscribe(self):
        with self.allow_requests(all_requests=True):
            ack = self.client().subscribe("live_birth")
            transaction = self.wait_for(ack["transaction_id"])
        codes = [
            subscription["code"]
            for item in transaction._get_result()["subscribe_response"]
            for subscription in item["subscriptions"]
        ]
        self.assertEqual(len(codes), 1)
        self.assertIn(codes[0], self.sim.subscriptions)
        self.assertEqual(self.client().unsubscribe(codes)["message"]["ack_status"], "ACK")
        self.assertNotIn(codes[0], self.sim.subscriptions)
        self.assertEqual(
            [path for _role, path, _envelope in self.sim.received][-2:],
            ["/registry/subscribe", "/registry/unsubscribe"],
        )

    def test_unknown_transaction_is_refused(self):
        status, body = self.post_callback(
            self.registry_envelope(
                "on-search", {"transaction_id": "not-ours", "correlation_id": "c", "search_response": []}
            )
        )
        self.assertEqual(status, 200)
        self.assertEqual(body["message"]["ack_status"], "ERR")
        self.assertEqual(body["message"]["error"]["code"], "err.request.not_found")

    def test_forged_and_duplicate_callbacks_change_nothing(self):
        with self.allow_requests(all_requests=True):
            ack = self.client().search_async("idtype-value", {"type": "BRN", "value": "BR-2024-0042"})
            transaction = self.wait_for(ack["transaction_id"])
        stored = transaction.sudo().result_stored
        message = {"transaction_id": ack["transaction_id"], "correlation_id": "x", "search_response": []}
        forger = Signer(
            simulator_private_key(b"someone else"),
            public_jwk(simulator_private_key(b"someone else").public_key())["kid"],
        )
        status, body = self.post_callback(self.registry_envelope("on-search", message, signer=forger))
        self.assertEqual(status, 401)
        self.assertEqual(body["errors"][0]["code"], "err.signature.invalid")
        unsigned = self.registry_envelope("on-search", message)
        del unsigned["signature"]
        status, body = self.post_callback(unsigned, "/dci/callback/registry/on-search")
        self.assertEqual((status, body["errors"][0]["code"]), (401, "err.signature.missing"))
        status, body = self.post_callback(self.registry_envelope("on-search", message))
        self.assertEqual(body["message"]["error"]["code"], "rjct.message_id.duplicate")
        transaction.invalidate_recordset()
        self.assertEqual(transaction.sudo().result_stored, stored)

    def test_garbage_is_refused(self):
        response = self.url_open("/dci/callback", data="not json", headers={"Content-Type": "application/json"})
        self.assertEqual(response.status_code, 400)
        _status, body = self.post_callback({"header": {"action": "search"}, "message": {}})
        self.assertEqual(body["message"]["error"]["code"], "rjct.action.not_supported")

    def test_jwks_route_publishes_public_keys_only(self):
        response = self.url_open("/.well-known/jwks.json")
        self.assertEqual(response.status_code, 200)
        keys = response.json()["keys"]
        self.assertIn(self.signing_key.kid, [key["kid"] for key in keys])
        for key in keys:
            self.assertEqual(set(key) - {"kty", "crv", "x", "n", "e", "alg", "use", "kid"}, set())
