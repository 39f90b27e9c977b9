"""Send every request kind the client sends to OpenSPP's spdci-compliance mock
registry and report which ones its OpenAPI validation accepts.

The mock is not part of this repository and this script downloads nothing:
check out github.com/OpenSPP/spdci-compliance, `npm ci`, then start one mock
per registry type (PORT, DOMAIN=crvs|ibr|dr, node common/mock-server/server.mjs).
The mock listens on 0.0.0.0 and has no host setting: keep it on loopback, e.g.
with a `node --import` preload that rewrites the host given to
net.Server.prototype.listen. Then, in an Odoo shell on a throwaway database with
the addons installed:

    MOCK_CRVS=http://127.0.0.1:3401 MOCK_IBR=http://127.0.0.1:3402 MOCK_DR=http://127.0.0.1:3403 \
        odoo-bin shell -d DB --addons-path ... < tools/spdci_mock_check.py

Each request goes through DCIClient as in production (signed with a fresh
Ed25519 key, response signatures not checked: the mock signs nothing). The
client may refuse the mock's canned answers; only the request matters here.
The mock records every request with its validation result
(GET /admin/requests); the report prints one line per request kind, then the
validation errors. It commits a signing key and a data source per registry
type (the client logs through its own cursor).
"""

import json
import os
import urllib.request
from collections import Counter

from odoo.addons.spp_dci_client.services import constants as C
from odoo.addons.spp_dci_client.services.client import DCIClient
from odoo.addons.spp_dci_client.services.errors import DCIError
from odoo.addons.spp_dci_client_ibr.services.ibr_service import IBRService

REGISTRY_TYPES = {"crvs": C.REGISTRY_CIVIL, "ibr": C.REGISTRY_IBR, "dr": C.REGISTRY_DR}
# The caller names the event type; these are the CRVS service's default and each spec's own values.
EVENT_TYPES = {"crvs": "live_birth", "ibr": "enrollement", "dr": "REGISTER"}
UNUSED_CALLBACK = "http://127.0.0.1:9/dci/callback"


def mock_admin(base_url, method, path):
    request = urllib.request.Request(base_url.rstrip("/") + path, method=method)  # noqa: S310 - the caller's mock URL
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read() or b"null")


def request_kinds(client, role, data_source):
    kinds = [
        ("search by id", lambda: client.search_by_id("BRN", "BR-Ñoño-0001")),
        (
            "search by predicate",
            lambda: client.search_by_predicate(
                [
                    {
                        "seq_num": 1,
                        "expression1": {"attribute_name": "given_name", "operator": "eq", "attribute_value": "Zoë"},
                    }
                ]
            ),
        ),
        (
            "search by expression",
            lambda: client.search_by_expression({"collection": "Person", "query": {"name.surname": {"$eq": "Müller"}}}),
        ),
        ("search by date range", lambda: client.search_by_date_range("2024-01-01", "2024-12-31")),
        (
            "batch search",
            lambda: client.search_batch(
                [{"query_type": "idtype-value", "query": {"type": "UIN", "value": f"U-{n}"}} for n in range(3)],
                strict=False,
            ),
        ),
        ("async search", lambda: client.search_async("idtype-value", {"type": "UIN", "value": "U-1"})),
        ("subscribe", lambda: client.subscribe(EVENT_TYPES[role])),
        ("unsubscribe", lambda: client.unsubscribe(["sub-0001"])),
    ]
    if role == "crvs":
        kinds.append(("search by id, OpenCRVS shape", lambda: client.search_by_id_opencrvs("BRN", "BR-0001")))
    if role != "dr":
        kinds.append(("txn status", lambda: client.txn_status("txn-0001")))
    if role == "ibr":
        kinds.append(
            ("enrolled", lambda: IBRService(data_source, data_source.env, client=client).is_enrolled("UIN", "U-1"))
        )
    return kinds


def run(env, role, base_url):
    key = env["spp.dci.signing.key"].create({"name": f"spdci check {role}", "algorithm": "ed25519"})
    key.action_generate()
    key.action_activate()
    data_source = env["spp.dci.data.source"].create(
        {
            "name": f"spdci-compliance mock ({role})",
            "code": f"spdci_mock_{role}_{key.id}",
            "registry_type": REGISTRY_TYPES[role],
            "base_url": base_url,
            "auth_type": "none",
            "our_sender_id": "openspp-client",
            "our_callback_uri": UNUSED_CALLBACK,
            "receiver_id": f"{role}.registry",
            "signing_key_id": key.id,
            "signature_policy": "off",
            "max_attempts": 1,
            "timeout": 10,
        }
    )
    env.cr.commit()
    mock_admin(base_url, "DELETE", "/admin/requests")
    outcomes = []
    with DCIClient(data_source, env) as client:
        for kind, call in request_kinds(client, role, data_source):
            before = mock_admin(base_url, "GET", "/admin/requests")["count"]
            try:
                call()
                answer = "accepted"
            except DCIError as error:
                answer = f"client refused the answer: {type(error).__name__}: {error}"[:160]
            recorded = mock_admin(base_url, "GET", "/admin/requests")["requests"][before:]
            outcomes.append((kind, answer, recorded))
    return outcomes


def report(role, outcomes):
    totals = Counter()
    print(f"== {role}")
    for kind, answer, recorded in outcomes:
        if not recorded:
            print(f"  {kind}: NOT SENT ({answer})")
            totals["not sent"] += 1
            continue
        for record in recorded:
            validation = record["validation"]
            verdict = "valid" if validation["valid"] else "INVALID"
            if validation.get("warning"):
                verdict += f" ({validation['warning']})"
            totals[verdict.split(" ")[0]] += 1
            print(f"  {kind}: {record['endpoint']} {verdict}; {answer}")
            for error in validation["errors"]:
                print(f"      {error['path']}: {error['message']} [{error['keyword']}]")
    print(f"  totals: {dict(totals)}")
    return totals


def main(env):
    grand = Counter()
    for role in ("crvs", "ibr", "dr"):
        base_url = os.environ.get(f"MOCK_{role.upper()}")
        if base_url:
            grand += report(role, run(env, role, base_url))
    print(f"== all: {dict(grand)}")


main(env)  # noqa: F821 - the Odoo shell's environment
