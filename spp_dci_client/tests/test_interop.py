"""Interoperability with OpenSPP and OpenG2P registries, judged by the peer oracles in tests/peers/.

The oracles were written from the peers' code and share nothing with ours.
A loopback HTTP server stands in for the registry: it keeps the bytes and
headers our client really sends, hands them to the matching oracle, and
answers with responses the oracle signs as that peer would.
"""

import json
import sys
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from odoo.tests import TransactionCase, tagged

from ..services import constants as C
from ..services.client import DCIClient
from ..services.errors import DCISignatureError
from ..services.signing import get_profile
from .common import CallbackCase, SimulatorMixin

PEERS_DIR = Path(__file__).resolve().parents[2] / "tests"
if str(PEERS_DIR) not in sys.path:
    sys.path.insert(0, str(PEERS_DIR))

from peers import openg2p, openspp  # noqa: E402

KEYS = PEERS_DIR / "peers" / "keys"
SENDER_ID = "openspp-client"
REGISTRY_ID = "registry.example"
OPENSPP_LABELS = {"ed25519": "ed25519", "rsa": "rs256"}
OPENG2P_LABELS = {"ed25519": "EdDSA", "rsa": "RS256"}
SYNC_PATHS = {C.PATH_SYNC_SEARCH: C.ACTION_ON_SEARCH, C.PATH_SYNC_TXN_STATUS: C.ACTION_TXN_ON_STATUS}

REQUEST_KINDS = {
    "search by id": lambda client: client.search_by_id("BRN", "BR-2024-0042"),
    "predicate": lambda client: client.search_by_predicate(
        [{"seq_num": 1, "expression1": {"attribute_name": "given_name", "operator": "eq", "attribute_value": "Zoë"}}]
    ),
    "expression": lambda client: client.search_by_expression(
        {"collection": "Person", "query": {"name.surname": {"$eq": "Ñúñez"}}}
    ),
    "date range": lambda client: client.search_by_date_range("2024-01-01", "2024-12-31"),
    "batch": lambda client: client.search_batch(
        [
            {"query_type": "idtype-value", "query": {"type": "BRN", "value": value}}
            for value in ("BR-2024-0042", "BR-Ç-7", "BR-2024-0043")
        ]
    ),
    "async": lambda client: client.search_async("idtype-value", {"type": "UIN", "value": "Ünal-1"}),
    "subscribe": lambda client: client.subscribe("live_birth"),
    "unsubscribe": lambda client: client.unsubscribe(["SUB-1", "SUB-2"]),
    "txn status": lambda client: client.txn_status(str(uuid.uuid4())),
}


def key_file(name):
    return (KEYS / name).read_text()


class RegistryStandIn:
    """A loopback registry that records each request and answers through ``self.responder``."""

    def __init__(self):
        self.requests = []
        self.responder = None
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    @Request.application
    def _app(self, request):
        body = request.get_data()
        self.requests.append((request.path, body, dict(request.headers)))
        status, content, headers = self.responder(request.path, json.loads(body))
        return Response(content, status=status, headers=headers, content_type="application/json")


def answer_message(path, request):
    """A registry's message answering ``request`` (non-ASCII records included)."""
    message = request["message"]
    if path == C.PATH_SYNC_TXN_STATUS:
        return {
            "transaction_id": message["transaction_id"],
            "correlation_id": str(uuid.uuid4()),
            "txnstatus_response": {
                "txn_type": "search",
                "txn_status": {
                    "transaction_id": message["txnstatus_request"]["attribute_value"],
                    "correlation_id": str(uuid.uuid4()),
                    "search_response": [],
                },
            },
        }
    return {
        "transaction_id": message["transaction_id"],
        "correlation_id": str(uuid.uuid4()),
        "search_response": [
            {
                "reference_id": item["reference_id"],
                "timestamp": datetime.now(UTC).isoformat(),
                "status": "succ",
                "data": {
                    "version": "1.0.0",
                    "reg_type": C.REGISTRY_CIVIL,
                    "reg_record_type": "ns:org:RegistryRecordType:Person",
                    "reg_records": [{"name": {"given_name": "Zoë", "surname": "Ñúñez"}, "sex": "female"}],
                },
                "pagination": {"page_size": 10, "page_number": 1, "total_count": 1},
            }
            for item in message["search_request"]
        ],
    }


def ack():
    return (
        200,
        json.dumps(
            {
                "message": {
                    "ack_status": "ACK",
                    "timestamp": datetime.now(UTC).isoformat(),
                    "correlation_id": str(uuid.uuid4()),
                }
            }
        ),
        {},
    )


class OpenSPPRegistry:
    """Answers as an OpenSPP2 registry: sync responses signed over the header its model dumps."""

    def __init__(self, algorithm, tamper=False, as_deployed=False):
        self.algorithm, self.tamper, self.as_deployed = algorithm, tamper, as_deployed

    def __call__(self, path, request):
        if path not in SYNC_PATHS:
            return ack()
        message = answer_message(path, request)
        count = len(message.get("search_response") or [1])
        header = {
            "version": "1.0.0",
            "message_id": str(uuid.uuid4()),
            "message_ts": datetime.now(UTC),
            "action": SYNC_PATHS[path],
            "sender_id": REGISTRY_ID,
            "receiver_id": request["header"]["sender_id"],
            "total_count": count,
            "status": "succ",
            "status_reason_code": None,
            "status_reason_message": None,
            "completed_count": count,
        }
        envelope = openspp.sign_response(
            header,
            message,
            key_file(f"registry_{self.algorithm}.pem"),
            f"registry-{self.algorithm}",
            OPENSPP_LABELS[self.algorithm],
            sender_id=REGISTRY_ID,
            as_deployed=self.as_deployed,
        )
        if self.tamper:
            envelope["message"]["correlation_id"] = "changed-in-transit"
        return 200, json.dumps(envelope, ensure_ascii=False), {}


class OpenG2PRegistry:
    """Answers as an OpenG2P service: a detached JWS over the body in the Signature header."""

    def __init__(self, algorithm, tamper=False):
        self.algorithm, self.tamper = algorithm, tamper

    def __call__(self, path, request):
        if path not in SYNC_PATHS:
            return ack()
        header = {
            "version": "1.0.0",
            "message_id": str(uuid.uuid4()),
            "message_ts": datetime.now(UTC).isoformat(),
            "action": SYNC_PATHS[path],
            "status": "succ",
            "sender_id": REGISTRY_ID,
            "receiver_id": request["header"]["sender_id"],
            "total_count": 1,
            "completed_count": 1,
        }
        body = {"header": header, "message": answer_message(path, request)}
        content, signature = openg2p.sign_response(
            body,
            key_file(f"registry_{self.algorithm}.pem"),
            OPENG2P_LABELS[self.algorithm],
            kid=f"registry-{self.algorithm}",
        )
        if self.tamper:
            body["message"]["correlation_id"] = "changed-in-transit"
            content = json.dumps(body, ensure_ascii=False)
        return 200, content, {"Signature": signature}


@tagged("post_install", "-at_install")
class TestPeerOracles(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry_enter_test_mode_cls()
        cls.stand_in = RegistryStandIn()
        cls.addClassCleanup(cls.stand_in.stop)
        cls.keys = {}
        for algorithm in ("ed25519", "rsa"):
            key = cls.env["spp.dci.signing.key"].create(
                {"name": f"Interop {algorithm}", "algorithm": algorithm, "rsa_bits": "2048"}
            )
            key.action_generate()
            key.action_activate()
            cls.keys[algorithm] = key

    def source(self, profile, algorithm, policy="require", **values):
        return self.env["spp.dci.data.source"].create(
            dict(
                {
                    "name": f"{profile} {algorithm}",
                    "code": f"interop_{profile}_{algorithm}_{policy}",
                    "base_url": self.stand_in.url,
                    "our_sender_id": SENDER_ID,
                    "receiver_id": REGISTRY_ID,
                    "our_callback_uri": "https://openspp.example.org/dci/callback",
                    "signing_key_id": self.keys[algorithm].id,
                    "signature_profile": profile,
                    "signature_policy": policy,
                    "registry_public_key": key_file(f"registry_{algorithm}.pub.pem"),
                    "registry_key_id": f"registry-{algorithm}",
                    "timeout": 5,
                    "max_attempts": 1,
                },
                **values,
            )
        )

    def client(self, source):
        client = DCIClient(source, self.env)
        self.addCleanup(client.close)
        return client

    def sent(self, kind, source):
        """Run one request kind; returns what reached the registry (path, body bytes, HTTP headers)."""
        self.stand_in.requests.clear()
        REQUEST_KINDS[kind](self.client(source))
        self.assertEqual(len(self.stand_in.requests), 1)
        return self.stand_in.requests[0]

    def test_every_request_verifies_with_the_openspp_oracle(self):
        for algorithm in ("ed25519", "rsa"):
            source = self.source("openspp", algorithm)
            self.stand_in.responder = OpenSPPRegistry(algorithm)
            public_key = self.keys[algorithm].public_key_pem
            for kind in REQUEST_KINDS:
                with self.subTest(algorithm=algorithm, kind=kind):
                    _path, body, _headers = self.sent(kind, source)
                    verified = openspp.verify_request(body, public_key, OPENSPP_LABELS[algorithm], SENDER_ID)
                    self.assertEqual(
                        verified.params["kidId"], f"{SENDER_ID}|{self.keys[algorithm].kid}|{OPENSPP_LABELS[algorithm]}"
                    )
                    tampered = body.replace(SENDER_ID.encode(), b"openspp-clienT", 1)
                    with self.assertRaises(openspp.PeerRejected):
                        openspp.verify_request(tampered, public_key, OPENSPP_LABELS[algorithm], "openspp-clienT")

    def test_every_request_verifies_with_the_openg2p_oracle(self):
        for algorithm in ("ed25519", "rsa"):
            source = self.source("openg2p", algorithm)
            self.stand_in.responder = OpenG2PRegistry(algorithm)
            public_key = self.keys[algorithm].public_key_pem
            allowed = (OPENG2P_LABELS[algorithm],)
            for kind in REQUEST_KINDS:
                with self.subTest(algorithm=algorithm, kind=kind):
                    _path, body, headers = self.sent(kind, source)
                    self.assertNotIn(b'"signature"', body)
                    protected = openg2p.verify_request(
                        body, headers["Signature"], public_key, allowed, registered_kid=self.keys[algorithm].kid
                    )
                    self.assertNotIn("iat", protected)
                    tampered = body.replace(b'"version":"1.0.0"', b'"version":"1.0.1"', 1)
                    self.assertNotEqual(tampered, body)
                    with self.assertRaises(openg2p.PeerRejected):
                        openg2p.verify_request(tampered, headers["Signature"], public_key, allowed)
            if algorithm == "ed25519":
                with self.assertRaises(openg2p.PeerRejected):
                    # An OpenG2P server allows RS256 only unless EdDSA is configured there.
                    openg2p.verify_request(body, headers["Signature"], public_key)

    def test_peer_signed_responses_are_accepted_and_tampered_ones_refused(self):
        peers = {"openspp": OpenSPPRegistry, "openg2p": OpenG2PRegistry}
        for profile, registry in peers.items():
            for algorithm in ("ed25519", "rsa"):
                for policy in ("require", "if_present"):
                    source = self.source(profile, algorithm, policy)
                    for kind in ("search by id", "batch", "txn status"):
                        with self.subTest(profile=profile, algorithm=algorithm, policy=policy, kind=kind):
                            self.stand_in.responder = registry(algorithm)
                            REQUEST_KINDS[kind](self.client(source))
                            self.stand_in.responder = registry(algorithm, tamper=True)
                            with self.assertRaises(DCISignatureError) as refused:
                                REQUEST_KINDS[kind](self.client(source))
                            self.assertEqual(refused.exception.code, "err.signature.invalid")

    def test_openspp_response_wire_header_differs_from_the_signed_one(self):
        source = self.source("openspp", "ed25519")
        self.stand_in.responder = OpenSPPRegistry("ed25519")
        response = self.client(source).search_by_id("BRN", "BR-2024-0042")
        self.assertNotIn("is_msg_encrypted", response["header"])
        self.assertEqual(
            response["message"]["search_response"][0]["data"]["reg_records"][0]["name"]["given_name"], "Zoë"
        )

    def test_deployed_openspp_rsa_answers_unsigned(self):
        """OpenSPP2's own RSA signing fails and it answers with signature "": refused unless unsigned is allowed."""
        self.stand_in.responder = OpenSPPRegistry("rsa", as_deployed=True)
        with self.assertRaises(DCISignatureError) as refused:
            self.client(self.source("openspp", "rsa")).search_by_id("BRN", "BR-2024-0042")
        self.assertEqual(refused.exception.code, "err.signature.missing")
        response = self.client(self.source("openspp", "rsa", "if_present")).search_by_id("BRN", "BR-2024-0042")
        self.assertEqual(response["signature"], "")

    def test_a_tampered_signature_header_is_refused_when_signatures_are_optional(self):
        genuine = OpenG2PRegistry("rsa")

        def corrupted(path, request):
            status, content, headers = genuine(path, request)
            protected, _empty, signature = headers["Signature"].split(".")
            flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
            return status, content, {"Signature": f"{protected}..{flipped}"}

        self.stand_in.responder = corrupted
        with self.assertRaises(DCISignatureError) as refused:
            self.client(self.source("openg2p", "rsa", "if_present")).search_by_id("BRN", "BR-1")
        self.assertEqual(refused.exception.code, "err.signature.invalid")

    def test_a_signature_in_the_other_place_is_never_ignored(self):
        """A Signature header a spec or OpenSPP source does not expect, or a body signature an OpenG2P source
        does not expect, is an error under if_present too; only "off" skips them."""
        signed_g2p = OpenG2PRegistry("ed25519")
        self.stand_in.responder = signed_g2p
        for profile in ("dci_cavage", "openspp"):
            with self.subTest(profile=profile), self.assertRaises(DCISignatureError):
                self.client(self.source(profile, "ed25519", "if_present")).search_by_id("BRN", "BR-1")
        self.stand_in.responder = OpenSPPRegistry("ed25519")
        with self.assertRaises(DCISignatureError):
            self.client(self.source("openg2p", "ed25519", "if_present")).search_by_id("BRN", "BR-1")
        response = self.client(self.source("openg2p", "ed25519", "off")).search_by_id("BRN", "BR-1")
        self.assertTrue(response["signature"])

    def test_wrong_algorithm_and_unknown_kid_are_refused(self):
        self.stand_in.responder = OpenG2PRegistry("ed25519")
        source = self.source("openg2p", "rsa", registry_key_id="registry-ed25519")
        with self.assertRaises(DCISignatureError) as refused:
            self.client(source).search_by_id("BRN", "BR-1")
        self.assertIn("does not match the key", str(refused.exception))
        self.stand_in.responder = OpenSPPRegistry("ed25519")
        with self.assertRaises(DCISignatureError) as refused:
            self.client(self.source("openspp", "ed25519", registry_key_id="another-key")).search_by_id("BRN", "BR-1")
        self.assertIn("unknown key", str(refused.exception))

    def test_our_jwks_is_accepted_by_the_openspp_sender_registry(self):
        for algorithm in ("ed25519", "rsa"):
            with self.subTest(algorithm=algorithm):
                source = self.source("openspp", algorithm)
                self.stand_in.responder = OpenSPPRegistry(algorithm)
                accepted = openspp.accept_jwks(self.env["spp.dci.signing.key"]._get_public_jwks(), SENDER_ID)
                self.assertEqual(accepted.algorithm, OPENSPP_LABELS[algorithm])
                _path, body, _headers = self.sent("search by id", source)
                openspp.verify_request(body, accepted.public_key, accepted.algorithm, SENDER_ID)
                source.active = False


@tagged("post_install", "-at_install")
class TestPeerModesTestConnection(SimulatorMixin, TransactionCase):
    """Test Connection of a source set up for an OpenSPP and for an OpenG2P registry, against the simulator
    playing that peer."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry_enter_test_mode_cls()
        cls.start_simulator()
        cls.signing_key = cls.make_signing_key("ed25519")
        cls.rsa_key = cls.make_signing_key("rsa", name="RSA for OpenG2P")

    def test_each_peer_source_passes_test_connection(self):
        for peer, key in (("openspp", self.signing_key), ("openg2p", self.rsa_key)):
            with self.subTest(peer=peer):
                source = self.make_data_source(
                    code=f"peer_{peer}",
                    base_url=self.server.url(f"{peer}/crvs"),
                    signature_profile=peer,
                    signing_key_id=key.id,
                    registry_public_key=self.sim.public_key_pem_for(peer),
                )
                notification = source.test_connection()
                self.assertEqual(source.state, "active", source.last_error)
                self.assertIn("Response signature: valid", notification["params"]["message"])

    def test_a_mismatched_profile_fails_test_connection(self):
        source = self.make_data_source(
            code="peer_mismatch", base_url=self.server.url("openg2p/crvs"), signature_profile="openspp"
        )
        source.test_connection()
        self.assertEqual(source.state, "error")


@tagged("post_install", "-at_install")
class TestPeerCallbacks(CallbackCase):
    """Async search against the simulator playing each peer: its callback comes signed that peer's way."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.rsa_key = cls.make_signing_key("rsa", name="RSA for OpenG2P callbacks")

    def peer_source(self, peer):
        return self.make_data_source(
            code=f"callback_{peer}",
            base_url=self.server.url(f"{peer}/crvs"),
            signature_profile=peer,
            signing_key_id=(self.rsa_key if peer == "openg2p" else self.signing_key).id,
            registry_public_key=self.sim.public_key_pem_for(peer),
            our_callback_uri=self.base_url() + "/dci/callback",
        )

    def test_async_search_callbacks_signed_each_peers_way(self):
        for peer in ("openspp", "openg2p"):
            with self.subTest(peer=peer), self.allow_requests(all_requests=True):
                with DCIClient(self.peer_source(peer), self.env) as client:
                    ack = client.search_async("idtype-value", {"type": "BRN", "value": "BR-2024-0042"})
                results = self.env["spp.dci.transaction"]._wait_for_callbacks([ack["transaction_id"]], 10)
                self.assertEqual(results[ack["transaction_id"]][0], "done", results)

    def test_tampered_or_missing_signature_header_on_a_callback_is_refused(self):
        with self.allow_requests(all_requests=True):
            with DCIClient(self.peer_source("openg2p"), self.env) as client:
                ack = client.search_async("idtype-value", {"type": "BRN", "value": "BR-2024-0042"})
            self.env["spp.dci.transaction"]._wait_for_callbacks([ack["transaction_id"]], 10)
        message = {"transaction_id": ack["transaction_id"], "correlation_id": "c", "search_response": []}
        head = {
            "version": "1.0.0",
            "message_id": str(uuid.uuid4()),
            "message_ts": datetime.now(UTC).isoformat(),
            "action": "on-search",
            "status": "succ",
            "sender_id": "crvs.simulator",
            "receiver_id": "openspp.test",
            "total_count": 1,
        }
        signed = get_profile("openg2p").sign_envelope(head, message, self.sim.rsa_signer, "crvs.simulator")
        forged = dict(signed.envelope, message=dict(message, correlation_id="forged"))
        response = self.url_open(
            "/dci/callback",
            data=json.dumps(forged),
            headers={"Content-Type": "application/json", **signed.http_headers},
        )
        self.assertEqual((response.status_code, response.json()["errors"][0]["code"]), (401, "err.signature.invalid"))
        unsigned = self.url_open(
            "/dci/callback", data=json.dumps(signed.envelope), headers={"Content-Type": "application/json"}
        )
        self.assertEqual((unsigned.status_code, unsigned.json()["errors"][0]["code"]), (401, "err.signature.missing"))
