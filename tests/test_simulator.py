"""The simulated registry over real HTTP: spec-valid answers, faults, signatures both ways, callbacks."""

import json
import queue
import threading

import httpx
import pytest
from dci_simulator import KeyFiles, Population, SimulatedRegistry, SimulatorServer
from dci_simulator import registry as registry_module
from dci_simulator.registry import PEER_OPENG2P, PEER_OPENSPP, PEER_PROFILES, PEER_SPEC
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from odoo.addons.spp_dci_client.services import constants as C
from odoo.addons.spp_dci_client.services import envelope as E
from odoo.addons.spp_dci_client.services.constants import POLICY_IF_PRESENT, POLICY_REQUIRE
from odoo.addons.spp_dci_client.services.errors import DCISignatureError
from odoo.addons.spp_dci_client.services.signing import (
    Signer,
    generate_private_key,
    get_profile,
    public_jwk,
    public_key_to_pem,
)
from odoo.addons.spp_dci_client.services.verification import check_registry_signature
from odoo.addons.spp_dci_client.tests.spec import request_errors, response_errors, schema_errors

CLIENT = ("client-1", "secret-1")
POPULATION = Population(size=300)


@pytest.fixture(scope="module")
def client_key():
    key = generate_private_key("ed25519")
    return Signer(key, public_jwk(key.public_key())["kid"])


@pytest.fixture
def sim(client_key):
    registry = SimulatedRegistry(
        POPULATION,
        clients=dict([CLIENT]),
        require_signature=True,
        client_keys={client_key.kid: client_key.private_key.public_key()},
        request_validator=request_errors,
    )
    with SimulatorServer(registry) as server:
        registry.server = server
        yield registry


@pytest.fixture
def http():
    with httpx.Client(timeout=5) as client:
        yield client


def token(sim, http, role="crvs"):
    response = http.post(
        sim.server.url(role) + C.PATH_TOKEN,
        data={"grant_type": "client_credentials", "client_id": CLIENT[0], "client_secret": CLIENT[1]},
    )
    assert response.status_code == 200
    assert response.json()["expires_in"].isdigit()
    return response.json()["access_token"]


def signed(signer, action, message, profile="dci_cavage", sender_uri=None, total_count=1):
    head = E.header(
        action, sender_id="openspp.test", receiver_id="crvs.simulator", total_count=total_count, sender_uri=sender_uri
    )
    return {
        "header": head,
        "message": message,
        "signature": get_profile(profile).sign(head, message, signer, "openspp.test"),
    }


def search_envelope(signer, *pairs, profile="dci_cavage", sender_uri=None, reg_type=C.REGISTRY_CIVIL):
    items = [
        E.search_item(C.QUERY_IDTYPE_VALUE, {"type": kind, "value": value}, reg_type=reg_type) for kind, value in pairs
    ]
    return signed(signer, C.ACTION_SEARCH, E.search_message(E.new_id(), items), profile, sender_uri, len(items))


def post(sim, http, path, envelope, role="crvs", bearer=None):
    headers = {"Authorization": f"Bearer {bearer or token(sim, http, role)}"}
    return http.post(sim.server.url(role) + path, json=envelope, headers=headers)


def verify_response(sim, envelope, profile="dci_cavage"):
    key = sim.signer.private_key.public_key()
    return get_profile(profile).verify(envelope, lambda kid: key)


def test_search_answer_is_spec_valid_and_signed(sim, http, client_key):
    envelope = search_envelope(client_key, ("BRN", "BR-2024-0042"), ("BRN", "BR-2024-9999"))
    assert request_errors("crvs", C.PATH_SYNC_SEARCH, envelope) == []
    response = post(sim, http, C.PATH_SYNC_SEARCH, envelope)
    assert response.status_code == 200
    answer = response.json()
    assert response_errors("crvs", C.PATH_SYNC_SEARCH, answer) == []
    assert verify_response(sim, answer).kid == sim.signer.kid
    items = answer["message"]["search_response"]
    assert [item["reference_id"] for item in items] == [
        item["reference_id"] for item in envelope["message"]["search_request"]
    ]
    assert items[0]["data"]["reg_records"][0]["name"]["given_name"] == "Maria"
    assert items[1]["data"]["reg_records"] == []


@pytest.mark.parametrize("role", ["ibr", "dr"])
def test_other_roles_answer_spec_valid(sim, http, client_key, role):
    reg_type = {"ibr": C.REGISTRY_IBR, "dr": C.REGISTRY_DR}[role]
    envelope = search_envelope(
        client_key, ("BRN", "BR-2024-0044" if role == "ibr" else "BR-2024-0045"), reg_type=reg_type
    )
    answer = post(sim, http, C.PATH_SYNC_SEARCH, envelope, role=role).json()
    assert response_errors(role, C.PATH_SYNC_SEARCH, answer) == []
    records = answer["message"]["search_response"][0]["data"]["reg_records"]
    assert records


def test_enrolled_and_disabled_endpoints(sim, http, client_key):
    message = {
        "transaction_id": "T-enrolled",
        "enrolled_criteria": {
            "query_type": "idtype-value",
            "query": {"identifier_type": "BRN", "identifier_value": "BR-2024-0044"},
        },
    }
    answer = post(sim, http, C.PATH_SYNC_ENROLLED, signed(client_key, C.ACTION_SEARCH, message), role="ibr").json()
    assert schema_errors("ibr", "EnrolledResponse", answer["message"]) == []
    assert answer["message"]["enrolled_response"][0]["enrolled_status"] == "yes"
    message = {
        "transaction_id": "T-disabled",
        "disabled_criteria": {
            "query_type": "idtype-value",
            "query": {"identifier_type": "BRN", "identifier_value": "BR-2024-0045"},
        },
    }
    answer = post(sim, http, C.PATH_SYNC_DISABLED, signed(client_key, C.ACTION_SEARCH, message), role="dr").json()
    assert schema_errors("dr", "DisabledResponse", answer["message"]) == []
    assert answer["message"]["disabled_response"][0]["disabled_status"] == "yes"
    message = {
        "transaction_id": "T-details",
        "disabled_criteria": {
            "query_type": "idtype-value",
            "query": {"identifier_type": "BRN", "identifier_value": "BR-2024-0045"},
        },
    }
    answer = post(
        sim, http, C.PATH_SYNC_DISABILITY_DETAILS, signed(client_key, C.ACTION_SEARCH, message), role="dr"
    ).json()
    assert response_errors("dr", C.PATH_SYNC_DISABILITY_DETAILS, answer) == []
    assert answer["message"]["search_response"][0]["data"]["reg_records"][0]["disability_status"] == "Approved"


def test_predicate_expression_and_pagination(sim, http, client_key):
    predicate = [
        {
            "seq_num": 1,
            "expression1": {"attribute_name": "birth_date", "operator": "ge", "attribute_value": "2000-01-01"},
            "condition": "and",
            "expression2": {"attribute_name": "sex", "operator": "eq", "attribute_value": "male"},
        }
    ]
    item = E.search_item(C.QUERY_PREDICATE, predicate, reg_type=C.REGISTRY_CIVIL, page=2, page_size=5)
    envelope = signed(client_key, C.ACTION_SEARCH, E.search_message(E.new_id(), [item]))
    result = post(sim, http, C.PATH_SYNC_SEARCH, envelope).json()["message"]["search_response"][0]
    expected = [
        person
        for person in POPULATION.persons
        if person.birth_date.isoformat() >= "2000-01-01" and person.sex == "male"
    ]
    assert result["pagination"] == {"page_size": 5, "page_number": 2, "total_count": len(expected)}
    assert [record["identifier"][0]["identifier_value"] for record in result["data"]["reg_records"]] == [
        person.uin for person in expected[5:10]
    ]


def test_request_signatures_are_checked(sim, http, client_key):
    envelope = search_envelope(client_key, ("BRN", "BR-2024-0042"))
    envelope["message"]["search_request"][0]["search_criteria"]["query"]["value"] = "BR-2024-0043"
    response = post(sim, http, C.PATH_SYNC_SEARCH, envelope)
    assert (response.status_code, response.json()["errors"][0]["code"]) == (401, C.ERR_SIGNATURE_INVALID)
    unsigned = search_envelope(client_key, ("BRN", "BR-2024-0042"))
    del unsigned["signature"]
    response = post(sim, http, C.PATH_SYNC_SEARCH, unsigned)
    assert (response.status_code, response.json()["errors"][0]["code"]) == (401, C.ERR_SIGNATURE_MISSING)
    stranger = generate_private_key("ed25519")
    foreign = search_envelope(Signer(stranger, public_jwk(stranger.public_key())["kid"]), ("BRN", "X"))
    assert post(sim, http, C.PATH_SYNC_SEARCH, foreign).status_code == 401


@pytest.fixture(scope="module")
def rsa_client_key():
    key = generate_private_key("rsa")
    return Signer(key, public_jwk(key.public_key())["kid"])


@pytest.fixture
def peers_sim(client_key, rsa_client_key):
    keys = {signer.kid: signer.private_key.public_key() for signer in (client_key, rsa_client_key)}
    registry = SimulatedRegistry(POPULATION, require_signature=True, client_keys=keys, request_validator=request_errors)
    with SimulatorServer(registry) as server:
        registry.server = server
        yield registry


def peer_request(signer, peer):
    """A signed search as a client of that peer sends it: (body bytes, HTTP headers)."""
    item = E.search_item(C.QUERY_IDTYPE_VALUE, {"type": "BRN", "value": "BR-2024-0042"}, reg_type=C.REGISTRY_CIVIL)
    head = E.header(C.ACTION_SEARCH, sender_id="openspp.test", receiver_id="crvs.simulator")
    signed = get_profile(PEER_PROFILES[peer]).sign_envelope(
        head, E.search_message(E.new_id(), [item]), signer, "openspp.test"
    )
    return E.json_bytes(signed.envelope), dict(signed.http_headers, **{"Content-Type": "application/json"})


@pytest.mark.parametrize("peer", sorted(PEER_PROFILES))
def test_each_peer_verifies_requests_and_signs_answers_its_way(peers_sim, http, client_key, rsa_client_key, peer):
    signer = rsa_client_key if peer == PEER_OPENG2P else client_key
    body, headers = peer_request(signer, peer)
    response = http.post(peers_sim.server.url(f"{peer}/crvs") + C.PATH_SYNC_SEARCH, content=body, headers=headers)
    assert response.status_code == 200
    answer = response.json()
    assert answer["message"]["search_response"][0]["status"] == "succ"
    registry_key = peers_sim.signer_for(peer).private_key.public_key()
    verified = check_registry_signature(
        POLICY_REQUIRE,
        get_profile(PEER_PROFILES[peer]),
        answer,
        response.headers.get("signature"),
        lambda kid: registry_key,
    )
    assert verified.kid == peers_sim.signer_for(peer).kid
    if peer == PEER_OPENG2P:
        assert "signature" not in answer
        assert response.headers["signature"].count(".") == 2
        assert ".." in response.headers["signature"]
    else:
        assert "signature" not in response.headers
    if peer == PEER_OPENSPP:
        # OpenSPP's wire header lacks the defaults it never set; the header it signed has them.
        assert "is_msg_encrypted" not in answer["header"]
        assert len(answer["header"]["message_ts"].split(".")[1]) == len("123456Z")
    tampered = dict(answer, message=dict(answer["message"], correlation_id="changed"))
    with pytest.raises(DCISignatureError):
        check_registry_signature(
            POLICY_IF_PRESENT,
            get_profile(PEER_PROFILES[peer]),
            tampered,
            response.headers.get("signature"),
            lambda kid: registry_key,
        )


def test_openg2p_peer_allows_rs256_only_by_default(peers_sim, http, client_key):
    body, headers = peer_request(client_key, PEER_OPENG2P)
    response = http.post(peers_sim.server.url("openg2p/crvs") + C.PATH_SYNC_SEARCH, content=body, headers=headers)
    assert (response.status_code, response.json()["errors"][0]["code"]) == (401, C.ERR_SIGNATURE_INVALID)


def test_peer_refuses_a_signature_in_the_wrong_place_or_tampered(peers_sim, http, client_key, rsa_client_key):
    url = peers_sim.server.url("openg2p/crvs") + C.PATH_SYNC_SEARCH
    _body, headers = peer_request(rsa_client_key, PEER_OPENG2P)
    other_body, _other_headers = peer_request(rsa_client_key, PEER_OPENG2P)
    assert http.post(url, content=other_body, headers=headers).status_code == 401
    cavage_body, _none = peer_request(client_key, PEER_SPEC)
    response = http.post(url, content=cavage_body, headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()["errors"][0]["code"]) == (401, C.ERR_SIGNATURE_INVALID)
    spec_url = peers_sim.server.url("crvs") + C.PATH_SYNC_SEARCH
    assert http.post(spec_url, content=cavage_body, headers=headers).status_code == 401


def test_a_registry_that_knows_no_client_key_refuses_signed_requests(http, client_key):
    registry = SimulatedRegistry(POPULATION)
    with SimulatorServer(registry) as server:
        body, headers = peer_request(client_key, PEER_SPEC)
        response = http.post(server.url("crvs") + C.PATH_SYNC_SEARCH, content=body, headers=headers)
    assert (response.status_code, response.json()["errors"][0]["code"]) == (401, C.ERR_SIGNATURE_INVALID)


def test_standalone_simulator_verifies_with_key_files(tmp_path, http, client_key):
    key_file = tmp_path / "client.pem"
    registry_keys = KeyFiles([key_file])
    registry = SimulatedRegistry(POPULATION, client_keys=registry_keys, require_signature=True)
    with SimulatorServer(registry) as server:
        body, headers = peer_request(client_key, PEER_SPEC)
        url = server.url("crvs") + C.PATH_SYNC_SEARCH
        assert http.post(url, content=body, headers=headers).status_code == 401
        key_file.write_text(public_key_to_pem(client_key.private_key.public_key()))
        body, headers = peer_request(client_key, PEER_SPEC)
        assert http.post(url, content=body, headers=headers).status_code == 200


def test_sync_txn_status_answer_is_spec_valid(sim, http, client_key):
    searched = post(sim, http, C.PATH_SYNC_SEARCH, search_envelope(client_key, ("BRN", "BR-2024-0042"))).json()
    for asked in (searched["message"]["transaction_id"], "never-seen"):
        message = E.txn_status_message(E.new_id(), asked)
        answer = post(sim, http, C.PATH_SYNC_TXN_STATUS, signed(client_key, C.ACTION_TXN_STATUS, message)).json()
        assert response_errors("crvs", C.PATH_SYNC_TXN_STATUS, answer) == []
        status = answer["message"]["txnstatus_response"]["txn_status"]
        assert status["transaction_id"] == asked
        assert status["correlation_id"]
        if asked == "never-seen":
            assert status["search_response"][0]["status_reason_code"] == C.RJCT_REFERENCE_ID_INVALID
        else:
            assert status["correlation_id"] == searched["message"]["correlation_id"]
            assert status["search_response"] == [
                {key: item[key] for key in ("reference_id", "timestamp", "status")}
                for item in searched["message"]["search_response"]
            ]


def test_a_long_run_is_remembered_as_a_window(sim, http, client_key, monkeypatch):
    """Transactions and message ids are kept for the newest ones only: memory stays flat over a long run."""
    monkeypatch.setattr(registry_module, "REMEMBERED_TRANSACTIONS", 3)
    monkeypatch.setattr(registry_module, "REMEMBERED_MESSAGE_IDS", 4)
    envelopes = [search_envelope(client_key, ("BRN", "BR-2024-0042")) for _ in range(6)]
    answers = [post(sim, http, C.PATH_SYNC_SEARCH, envelope).json() for envelope in envelopes]
    assert list(sim.transactions) == [answer["message"]["transaction_id"] for answer in answers[-3:]]
    assert sim.seen_message_ids == {envelope["header"]["message_id"] for envelope in envelopes[-4:]}
    replayed = post(sim, http, C.PATH_SYNC_SEARCH, envelopes[-1]).json()
    assert replayed["header"]["status_reason_code"] == "rjct.message_id.duplicate"


def test_auth_is_required(sim, http, client_key):
    envelope = search_envelope(client_key, ("BRN", "BR-2024-0042"))
    response = post(sim, http, C.PATH_SYNC_SEARCH, envelope, bearer="not-a-token")
    assert (response.status_code, response.json()["errors"][0]["code"]) == (401, C.ERR_UNAUTHORIZED)
    bad = http.post(
        sim.server.url("crvs") + C.PATH_TOKEN,
        data={"grant_type": "client_credentials", "client_id": CLIENT[0], "client_secret": "nope"},
    )
    assert bad.status_code == 401
    basic = http.post(sim.server.url("crvs") + C.PATH_TOKEN, data={"grant_type": "client_credentials"}, auth=CLIENT)
    assert basic.status_code == 200


def test_invalid_requests_get_rjct_codes(sim, http, client_key):
    envelope = search_envelope(client_key, ("BRN", "BR-2024-0042"))
    envelope["header"]["total_count"] = 5
    envelope["signature"] = get_profile("dci_cavage").sign(
        envelope["header"], envelope["message"], client_key, "openspp.test"
    )
    answer = post(sim, http, C.PATH_SYNC_SEARCH, envelope).json()
    assert (answer["header"]["status"], answer["header"]["status_reason_code"]) == ("rjct", "rjct.total_count.invalid")
    replay = search_envelope(client_key, ("BRN", "BR-2024-0042"))
    assert post(sim, http, C.PATH_SYNC_SEARCH, replay).json()["header"]["status"] == "succ"
    answer = post(sim, http, C.PATH_SYNC_SEARCH, replay).json()
    assert answer["header"]["status_reason_code"] == "rjct.message_id.duplicate"
    assert post(sim, http, C.PATH_SYNC_SEARCH, {"header": {}}).status_code == 400
    schema_invalid = search_envelope(client_key, ("BRN", "BR-2024-0042"))
    del schema_invalid["message"]["search_request"][0]["search_criteria"]["query_type"]
    schema_invalid["signature"] = get_profile("dci_cavage").sign(
        schema_invalid["header"], schema_invalid["message"], client_key, "openspp.test"
    )
    response = post(sim, http, C.PATH_SYNC_SEARCH, schema_invalid)
    assert (response.status_code, response.json()["errors"][0]["code"]) == (400, "err.request.bad")


def _not_json(response):
    try:
        json.loads(response.content)
    except ValueError:
        return True
    return False


FAULTS = [
    ("status", {"status": 429, "retry_after": 3}, lambda r: r.status_code == 429 and r.headers["retry-after"] == "3"),
    ("status", {"status": 503}, lambda r: r.status_code == 503),
    ("malformed_json", {}, _not_json),
    ("html", {}, lambda r: r.headers["content-type"] == "text/html" and _not_json(r)),
    ("empty", {}, lambda r: r.content == b""),
    ("huge", {"bytes": 3 * 1024 * 1024}, lambda r: len(r.content) > 3 * 1024 * 1024),
    ("wrong_reference", {}, lambda r: r.json()["message"]["search_response"][0]["reference_id"] != "R"),
    (
        "item_rjct",
        {"code": "rjct.filter.invalid"},
        lambda r: r.json()["message"]["search_response"][0]["status_reason_code"] == "rjct.filter.invalid",
    ),
    (
        "header_rjct",
        {"code": "rjct.action.not_supported"},
        lambda r: r.json()["header"]["status_reason_code"] == "rjct.action.not_supported",
    ),
    ("no_signature", {}, lambda r: "signature" not in r.json()),
]


@pytest.mark.parametrize(("kind", "params", "check"), FAULTS, ids=[fault[0] + str(i) for i, fault in enumerate(FAULTS)])
def test_fault_modes(sim, http, client_key, kind, params, check):
    bearer = token(sim, http)
    sim.faults.add(kind, **params)
    envelope = search_envelope(client_key, ("BRN", "BR-2024-0042"))
    envelope["message"]["search_request"][0]["reference_id"] = "R"
    envelope["signature"] = get_profile("dci_cavage").sign(
        envelope["header"], envelope["message"], client_key, "openspp.test"
    )
    assert check(post(sim, http, C.PATH_SYNC_SEARCH, envelope, bearer=bearer))


@pytest.mark.parametrize("kind", ["bad_signature", "expired_signature", "unknown_kid"])
def test_signature_faults_fail_verification(sim, http, client_key, kind):
    sim.faults.add(kind)
    answer = post(sim, http, C.PATH_SYNC_SEARCH, search_envelope(client_key, ("BRN", "BR-2024-0042"))).json()
    with pytest.raises(DCISignatureError):
        verify_response(sim, answer)


def test_replay_fault_resends_the_previous_response(sim, http, client_key):
    first = post(sim, http, C.PATH_SYNC_SEARCH, search_envelope(client_key, ("BRN", "BR-2024-0042"))).json()
    sim.faults.add("replay")
    second = post(sim, http, C.PATH_SYNC_SEARCH, search_envelope(client_key, ("BRN", "BR-2024-0042"))).json()
    assert second == first


def test_drop_latency_and_expired_tokens(sim, http, client_key):
    bearer = token(sim, http)
    sim.faults.add("drop")
    with pytest.raises(httpx.TransportError):
        post(sim, http, C.PATH_SYNC_SEARCH, search_envelope(client_key, ("BRN", "BR-2024-0042")), bearer=bearer)
    sim.faults.add("latency", seconds=1.5)
    with pytest.raises(httpx.ReadTimeout), httpx.Client(timeout=0.5) as impatient:
        impatient.post(
            sim.server.url("crvs") + C.PATH_SYNC_SEARCH,
            json=search_envelope(client_key, ("BRN", "X")),
            headers={"Authorization": f"Bearer {bearer}"},
        )
    sim.faults.add("expire_tokens")
    response = post(sim, http, C.PATH_SYNC_SEARCH, search_envelope(client_key, ("BRN", "X")), bearer=bearer)
    assert response.status_code == 401


@pytest.fixture
def receiver():
    """A callback receiver on loopback that ACKs and queues what it gets."""
    received = queue.Queue()

    @Request.application
    def app(request):
        received.put(json.loads(request.get_data()))
        return Response(json.dumps(E.ack()), content_type="application/json")

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/callback", received
    server.shutdown()


def test_async_search_acks_then_calls_back_signed(sim, http, client_key, receiver):
    url, received = receiver
    envelope = search_envelope(client_key, ("BRN", "BR-2024-0042"), sender_uri=url)
    ack = post(sim, http, C.PATH_SEARCH, envelope).json()
    assert ack["message"]["ack_status"] == "ACK"
    callback = received.get(timeout=5)
    assert callback["header"]["action"] == "on-search"
    assert callback["message"]["correlation_id"] == ack["message"]["correlation_id"]
    assert callback["message"]["transaction_id"] == envelope["message"]["transaction_id"]
    verify_response(sim, callback)


def test_subscribe_then_notify(sim, http, client_key, receiver):
    url, received = receiver
    message = E.subscribe_message(
        E.new_id(),
        reg_type=C.REGISTRY_CIVIL,
        event_type="live_birth",
        filter_query={"type": "ns:org:QueryType:expression", "value": {"expression": {}}},
        notify_record_type="ns:org:RegistryRecordType:Person",
    )
    envelope = signed(client_key, C.ACTION_SUBSCRIBE, message, sender_uri=url)
    assert request_errors("crvs", C.PATH_SUBSCRIBE, envelope) == []
    assert post(sim, http, C.PATH_SUBSCRIBE, envelope).json()["message"]["ack_status"] == "ACK"
    confirmation = received.get(timeout=5)
    assert schema_errors("crvs", "SubscribeResponse", confirmation["message"]) == []
    assert sim.push_event("crvs", "live_birth", POPULATION.find("BRN", "BR-2024-0042")) == 1
    notify = received.get(timeout=5)
    assert schema_errors("crvs", "NotifyEventRequest", notify["message"]) == []
    assert notify["message"]["notify_event"][0]["data"]["reg_records"]["birth_date"] == "2024-03-15"
    code = confirmation["message"]["subscribe_response"][0]["subscriptions"][0]["code"]
    unsubscribe = signed(client_key, C.ACTION_UNSUBSCRIBE, E.unsubscribe_message(E.new_id(), [code]))
    assert post(sim, http, C.PATH_UNSUBSCRIBE, unsubscribe).json()["message"]["ack_status"] == "ACK"
    assert sim.push_event("crvs", "live_birth", POPULATION.find("BRN", "BR-2024-0042")) == 0


def test_population_is_deterministic_and_has_the_seed_examples():
    again = Population(size=300)
    assert [person.uin for person in again.persons] == [person.uin for person in POPULATION.persons]
    assert POPULATION.find("BRN", "BR-2024-0042").given_name == "Maria"
    assert POPULATION.find("BRN", "BR-2024-9999") is None
    assert len(Population().persons) > 5000
