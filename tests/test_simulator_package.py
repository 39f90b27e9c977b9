"""dci_simulator as a package of its own: no Odoo, no addon code, its command, its fault kinds."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from dci_simulator import FaultKind, SimulatedRegistry
from dci_simulator.faults import FaultPlan

ALONE = """
import json, sys
from dci_simulator import Population, SimulatedRegistry
registry = SimulatedRegistry(Population(size=10), clients={"id": "secret"})
form = b"grant_type=client_credentials&client_id=id&client_secret=secret"
token = registry.handle("POST", "/crvs/oauth2/client/token", {}, form)
jwks = registry.handle("GET", "/openspp/crvs/.well-known/jwks.json", {}, b"")
print(json.dumps({"token": token.status, "kid": json.loads(jwks.body)["keys"][0]["kid"],
                  "foreign": sorted({name.split(".")[0] for name in sys.modules} & {"odoo", "spp_dci_client"})}))
"""


def test_it_runs_without_odoo_or_the_addon():
    done = subprocess.run([sys.executable, "-I", "-c", ALONE], capture_output=True, text=True, check=True, timeout=120)
    result = json.loads(done.stdout)
    assert result["foreign"] == []
    assert result["token"] == 200
    assert result["kid"].startswith("crvs.simulator|") and result["kid"].endswith("|ed25519")


def test_the_command_is_installed():
    command = Path(sys.executable).parent / "dci-simulator"
    done = subprocess.run([str(command), "--help"], capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0
    assert "--require-signature" in done.stdout
    refused = subprocess.run(
        [str(command), "--client", "no-secret"], capture_output=True, text=True, check=False, timeout=60
    )
    assert refused.returncode == 2
    assert "ID:SECRET" in refused.stderr


def test_fault_kinds_are_an_enum_that_takes_their_names():
    plan = FaultPlan()
    plan.add("status", status=503)
    plan.add(FaultKind.LATENCY, path="/registry/sync/search", seconds=0)
    assert plan.take("/registry/sync/search").kind is FaultKind.STATUS
    assert plan.take("/registry/sync/search").kind == "latency"
    assert plan.take("/registry/sync/search") is None
    with pytest.raises(ValueError, match="unknown fault kind 'stauts'"):
        plan.add("stauts")


def test_a_status_fault_answers_before_anything_is_read():
    registry = SimulatedRegistry(clients={"id": "secret"})
    registry.faults.add(FaultKind.STATUS, status=429, retry_after=2)
    reply = registry.handle("POST", "/crvs/registry/sync/search", {}, b"not even json")
    assert (reply.status, reply.headers["Retry-After"]) == (429, "2")
    assert json.loads(reply.body)["errors"][0]["code"] == "err.request.too_many_requests"
    reply = registry.handle("POST", "/crvs/registry/sync/search", {}, b"not even json")
    assert (reply.status, json.loads(reply.body)["errors"][0]["code"]) == (401, "err.request.unauthorized")
