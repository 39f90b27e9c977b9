"""Property-based tests: arbitrary JSON never crashes the parser or fools the verifier."""

import json

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from odoo.addons.spp_dci_client.services import envelope as E
from odoo.addons.spp_dci_client.services.errors import DCIError
from odoo.addons.spp_dci_client.services.signing import (
    CavageProfile,
    OpenG2PProfile,
    OpenSPPProfile,
    generate_private_key,
)
from odoo.addons.spp_dci_client.services.transport import Response

KEY = generate_private_key("ed25519").public_key()
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=25,
)
keys = st.sampled_from(
    [
        "header",
        "message",
        "signature",
        "search_response",
        "reference_id",
        "status",
        "status_reason_code",
        "data",
        "reg_records",
        "transaction_id",
        "ack_status",
        "error",
    ]
)
envelopes = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(keys | st.text(max_size=8), children, max_size=5),
    max_leaves=30,
)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(envelopes)
def test_response_checks_raise_only_typed_errors(value):
    try:
        envelope = E.check_envelope(value)
        E.check_response_items(envelope, "search_response", ["ref-1"])
    except DCIError:
        return
    items = value["message"]["search_response"]
    assert [item["reference_id"] for item in items] == ["ref-1"]


@SETTINGS
@given(envelopes)
def test_ack_check_raises_only_typed_errors(value):
    try:
        E.check_ack(value)
    except DCIError:
        return
    assert value["message"]["ack_status"] == "ACK"


@SETTINGS
@given(envelopes, st.text(max_size=200) | json_values)
def test_verifiers_never_accept_garbage(value, signature):
    envelope = dict(value) if isinstance(value, dict) else {"header": value}
    envelope["signature"] = signature
    body = {name: item for name, item in envelope.items() if name != "signature"}
    attempts = [
        (CavageProfile(), envelope, None),
        (OpenSPPProfile(), envelope, None),
        (OpenG2PProfile(), body, signature if isinstance(signature, str) else None),
    ]
    for profile, message, http_signature in attempts:
        try:
            profile.verify(message, lambda kid: KEY, http_signature=http_signature)
        except DCIError:
            continue
        raise AssertionError("a random signature was accepted")


@SETTINGS
@given(st.binary(max_size=300) | json_values.map(lambda value: json.dumps(value).encode()))
def test_body_parsing_raises_only_typed_errors(body):
    try:
        parsed = Response(200, httpx.Headers({"content-type": "application/json"}), body).json()
    except DCIError:
        return
    assert isinstance(parsed, dict)
