# Run by tools/bench.sh inside `odoo-bin shell` (``env`` is given), against the
# standalone simulator at BENCH_SIMULATOR_URL. Every figure comes from this run.
import cProfile
import io
import json
import os
import platform
import pstats
import socket
import threading
import time
from pathlib import Path

import httpx
import psutil

from odoo.addons.spp_dci_client.services import constants as C
from odoo.addons.spp_dci_client.services import envelope as E
from odoo.addons.spp_dci_client.services.client import DCIClient
from odoo.addons.spp_dci_client.services.signing import get_profile
from odoo.addons.spp_dci_client.simulator import Population
from odoo.addons.spp_dci_client_crvs.services.crvs_service import CRVSService

URL = os.environ["BENCH_SIMULATOR_URL"]
CLIENT_ID, CLIENT_SECRET = "bench", "bench-secret"
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "2000"))
BULK = 10000


def wait_for_simulator():
    for _ in range(200):
        try:
            return httpx.get(f"{URL}/_simulator/stats", timeout=1).json()
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("the simulator did not start")


def stats():
    return httpx.get(f"{URL}/_simulator/stats", timeout=5).json()


def make_source(code, **values):
    data = {
        "name": code, "code": code, "registry_type": C.REGISTRY_CIVIL, "base_url": f"{URL}/crvs",
        "auth_type": "oauth2", "oauth2_client_id": CLIENT_ID, "oauth2_client_secret": CLIENT_SECRET,
        "our_sender_id": "openspp.bench", "receiver_id": "crvs.simulator", "signing_key_id": KEY.id,
        "registry_jwks_url": f"{URL}/crvs{C.PATH_JWKS}",
        "signature_policy": "require", "timeout": 10, "max_batch_size": 100,
    }
    data.update(values)
    source = env["spp.dci.data.source"].create(data)  # noqa: F821
    env.cr.commit()  # noqa: F821
    return source


def raw_throughput(client, n):
    """Pre-built, signed envelopes posted with keep-alive: the physical limit."""
    token = httpx.post(f"{URL}/crvs{C.PATH_TOKEN}", data={
        "grant_type": "client_credentials", "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET}).json()["access_token"]
    signer = client.config.signer
    profile = get_profile(client.config.signature_profile)
    bodies = []
    for _ in range(n):
        item = E.search_item(C.QUERY_IDTYPE_VALUE, {"type": "BRN", "value": "BR-2024-0042"},
                             reg_type=C.REGISTRY_CIVIL)
        message = E.search_message(E.new_id(), [item])
        head = E.header(C.ACTION_SEARCH, sender_id="openspp.bench", receiver_id="crvs.simulator")
        bodies.append(E.json_bytes({"header": head, "message": message,
                                    "signature": profile.sign(head, message, signer, "openspp.bench")}))
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with httpx.Client(base_url=f"{URL}/crvs", timeout=10) as http:
        started = time.perf_counter()
        for body in bodies:
            if http.post(C.PATH_SYNC_SEARCH, content=body, headers=headers).status_code != 200:
                raise SystemExit("the raw baseline got an error answer")
        return n / (time.perf_counter() - started)


def client_throughput(client, n):
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        client.search_by_id("BRN", "BR-2024-0042")
    return n / (time.perf_counter() - started), (time.process_time() - cpu) / n * 1e6


def per_request_throughput(source, n):
    """As the seeds' implementation: a new client (and HTTP connection) per call."""
    started = time.perf_counter()
    for _ in range(n):
        with DCIClient(source, env) as client:  # noqa: F821
            client.search_by_id("BRN", "BR-2024-0042")
    return n / (time.perf_counter() - started)


def signing_share(client, cpu_per_request_us):
    signer, profile = client.config.signer, client.profile
    item = E.search_item(C.QUERY_IDTYPE_VALUE, {"type": "BRN", "value": "BR-2024-0042"}, reg_type=C.REGISTRY_CIVIL)
    head, message = E.header(C.ACTION_SEARCH, sender_id="openspp.bench"), E.search_message("T", [item])
    response = client.search_by_id("BRN", "BR-2024-0042")
    rounds = 500
    started = time.process_time()
    for _ in range(rounds):
        profile.sign(head, message, signer, "openspp.bench")
    sign_us = (time.process_time() - started) / rounds * 1e6
    started = time.process_time()
    for _ in range(rounds):
        profile.verify(response, client.keys.resolve)
    verify_us = (time.process_time() - started) / rounds * 1e6
    return sign_us, verify_us, (sign_us + verify_us) / cpu_per_request_us


def token_requests(source):
    client = DCIClient(source, env)  # noqa: F821
    before = stats()["token_requests"]
    errors = []

    def work():
        try:
            for _ in range(250):
                client.search_by_id("BRN", "BR-2024-0042")
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client.close()
    if errors:
        raise SystemExit(f"token run failed: {errors[0]!r}")
    return stats()["token_requests"] - before


def unreachable_seconds():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(server.getsockname())
        fillers.append(filler)
    source = make_source("bench_unreachable", base_url=f"http://127.0.0.1:{server.getsockname()[1]}", timeout=2)
    started = time.perf_counter()
    source.test_connection()
    elapsed = time.perf_counter() - started
    if source.state != "error":
        raise SystemExit("Test Connection to an unanswering address did not fail")
    for sock in [*fillers, server]:
        sock.close()
    return elapsed


def profile_summary(client, n=500):
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(n):
        client.search_by_id("BRN", "BR-2024-0042")
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(18)
    return out.getvalue()


wait_for_simulator()
KEY = env["spp.dci.signing.key"].create({"name": "Bench key", "algorithm": "ed25519"})  # noqa: F821
KEY.action_generate()
KEY.action_activate()
Path(os.environ["BENCH_CLIENT_KEY_FILE"]).write_text(KEY.public_key_pem)
source = make_source("crvs_main")
client = DCIClient(source, env)  # noqa: F821
for _ in range(50):
    client.search_by_id("BRN", "BR-2024-0042")

raw = raw_throughput(client, REQUESTS)
ours, cpu_us = client_throughput(client, REQUESTS)
seeds_way = per_request_throughput(source, REQUESTS // 4)
sign_us, verify_us, crypto_share = signing_share(client, cpu_us)

brns = [("BRN", person.brn) for person in Population(size=10100).persons if person.brn][:BULK]
service = CRVSService(env, "crvs_main")  # noqa: F821
process = psutil.Process()
rss_before = process.memory_info().rss
started = time.perf_counter()
batched = service.verify_births(brns)
bulk_seconds = time.perf_counter() - started
rss_growth = (process.memory_info().rss - rss_before) / 2**20
if sum(result is not None for result in batched) != BULK:
    raise SystemExit("the batched verification missed births")
del batched
started = time.perf_counter()
for pair in brns:
    service.verify_birth(*pair)
single_seconds = time.perf_counter() - started

tokens = token_requests(make_source("bench_tokens"))
unreachable = unreachable_seconds()
profile = profile_summary(client)

figures = {
    "overhead_ratio": round(ours / raw, 3),
    "per_request_ratio": round(seeds_way / raw, 3),
    "batch_speedup": round(single_seconds / bulk_seconds, 1),
    "bulk_10k_seconds": round(bulk_seconds, 2),
    "bulk_10k_rss_growth_mb": round(rss_growth, 1),
    "token_requests": tokens,
    "client_cpu_us_per_request": round(cpu_us),
    "signing_verification_share": round(crypto_share, 3),
    "test_connection_unreachable_s": round(unreachable, 2),
    "raw_requests_per_s": round(raw),
    "client_requests_per_s": round(ours),
    "seeds_way_requests_per_s": round(seeds_way),
    "single_10k_seconds": round(single_seconds, 2),
    "sign_us": round(sign_us),
    "verify_us": round(verify_us),
}
print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
print(profile)
width = max(map(len, figures))
for name, value in figures.items():
    print(f"{name:<{width}}  {value}")
print("BENCH " + json.dumps(figures))
client.close()
service.close()
env.cr.rollback()  # noqa: F821
