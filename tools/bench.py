# Run by tools/bench.sh inside `odoo-bin shell` (``env`` is given), against the
# standalone simulator at BENCH_SIMULATOR_URL. Every figure comes from this run.
import cProfile
import io
import json
import os
import platform
import pstats
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psutil
from dci_simulator import Population

import odoo

from odoo.addons.spp_dci_client.services import constants as C
from odoo.addons.spp_dci_client.services import envelope as E
from odoo.addons.spp_dci_client.services.client import DCIClient
from odoo.addons.spp_dci_client.services.signing import get_profile
from odoo.addons.spp_dci_client_crvs.services.crvs_service import CRVSService

URL = os.environ["BENCH_SIMULATOR_URL"]
CLIENT_ID, CLIENT_SECRET = "bench", "bench-secret"
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "2000"))
BULK = 10000
BULK_ITEMS = int(os.environ.get("BENCH_BULK_ITEMS", "1000000"))
BULK_POPULATION = max(100000, BULK_ITEMS)  # every birth of the run a different person
LATENCY_ITEMS = int(os.environ.get("BENCH_LATENCY_ITEMS", "100000"))
RUN_DEADLINE = 3600


def wait_for_simulator():
    for _ in range(200):
        try:
            return httpx.get(f"{URL}/_simulator/stats", timeout=1).json()
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("the simulator did not start")


def stats():
    return httpx.get(f"{URL}/_simulator/stats", timeout=5).json()


def connections():
    """TCP connections the simulator has accepted so far (counted on the server side)."""
    return httpx.get(f"{URL}/_simulator/connections", timeout=5).json()["connections"]


def per_1000(run, n):
    """(result of run(), connections the simulator accepted per 1000 requests during it)."""
    before = connections()
    result = run()
    return result, round((connections() - before - 1) * 1000 / n, 1)  # -1: the counting request's own


def make_source(code, **values):
    data = {
        "name": code,
        "code": code,
        "registry_type": C.REGISTRY_CIVIL,
        "base_url": f"{URL}/crvs",
        "auth_type": "oauth2",
        "oauth2_client_id": CLIENT_ID,
        "oauth2_client_secret": CLIENT_SECRET,
        "our_sender_id": "openspp.bench",
        "receiver_id": "crvs.simulator",
        "signing_key_id": KEY.id,
        "signature_policy": "require",
        "timeout": 10,
        "max_batch_size": 100,
    }
    data.update(values)
    # each simulator process signs with a key of its own: read it where the source points
    data["registry_jwks_url"] = f"{data['base_url']}{C.PATH_JWKS}"
    source = env["spp.dci.data.source"].create(data)  # noqa: F821
    env.cr.commit()  # noqa: F821
    return source


def raw_throughput(client, n):
    """Pre-built, signed envelopes posted with keep-alive: the physical limit."""
    token = httpx.post(
        f"{URL}/crvs{C.PATH_TOKEN}",
        data={"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    ).json()["access_token"]
    signer = client.config.signer
    profile = get_profile(client.config.signature_profile)
    bodies = []
    for _ in range(n):
        item = E.search_item(C.QUERY_IDTYPE_VALUE, {"type": "BRN", "value": "BR-2024-0042"}, reg_type=C.REGISTRY_CIVIL)
        message = E.search_message(E.new_id(), [item])
        head = E.header(C.ACTION_SEARCH, sender_id="openspp.bench", receiver_id="crvs.simulator")
        bodies.append(
            E.json_bytes(
                {"header": head, "message": message, "signature": profile.sign(head, message, signer, "openspp.bench")}
            )
        )
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with httpx.Client(base_url=f"{URL}/crvs", timeout=10) as http:
        started, cpu = time.perf_counter(), time.process_time()
        for body in bodies:
            response = http.post(C.PATH_SYNC_SEARCH, content=body, headers=headers)
            if response.status_code != 200 or not response.json()["message"]["search_response"]:
                raise SystemExit("the raw baseline got an error answer")
        return n / (time.perf_counter() - started), (time.process_time() - cpu) / n * 1e6


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


def start_simulator(*arguments):
    port = free_port()
    process = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "dci_simulator",
            "--port",
            str(port),
            "--client-key",
            os.environ["BENCH_CLIENT_KEY_FILE"],
            *arguments,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(1200):
        try:
            httpx.get(f"{url}/_simulator/stats", timeout=1)
            return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("a bench simulator did not start")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_job_server(workers, channels):
    """odoo-bin with ``workers`` HTTP workers and queue_job's runner on this database."""
    options = odoo.tools.config
    command = [
        sys.executable,
        os.path.join(os.path.dirname(odoo.__path__[0]), "odoo-bin"),
        "--addons-path",
        ",".join(options["addons_path"]),
        "--data-dir",
        options["data_dir"],
        "-d",
        env.cr.dbname,  # noqa: F821
        "--db-filter",
        f"^{env.cr.dbname}$",  # noqa: F821
        "--workers",
        str(workers),
        "--max-cron-threads",
        "0",
        "--http-interface",
        "127.0.0.1",
        "--http-port",
        str(free_port()),
        "--gevent-port",
        str(free_port()),
        "--load",
        "base,web,queue_job",
        "--limit-time-real",
        "600",
        "--limit-time-cpu",
        "600",
        "--log-level",
        "warn",
    ]
    for name in ("db_host", "db_port", "db_user", "db_password"):
        if options[name]:
            command += [f"--{name}", str(options[name])]
    log = open(os.path.join(options["data_dir"], "bench-jobs.log"), "ab")  # noqa: SIM115 (kept for the process)
    return subprocess.Popen(  # noqa: S603
        command,
        stdout=log,
        env=dict(os.environ, ODOO_QUEUE_JOB_CHANNELS=channels),
    )


def runner_channels(workers, capacities):
    """The runner's channels as the README advises: each data source's capacity mirrored, so no job
    is started only to wait for a request slot."""
    return ",".join([f"root:{workers}", *(f"root.dci.{code}:{capacity}" for code, capacity in capacities.items())])


def stop(process):
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def http_workers(server):
    """The server's HTTP worker processes (not the job runner's)."""
    return [child for child in server.children() if "jobrunner" not in " ".join(child.cmdline()).lower()]


def run_births(code, pairs, server=None):
    """Verify ``pairs`` as a bulk run; wait for it. Returns (seconds, {worker pid: (first, peak) RSS})."""
    env.cr.commit()  # noqa: F821
    started, started_epoch = time.perf_counter(), time.time()
    run = CRVSService(env, code).start_verify_births(pairs)  # noqa: F821
    env.cr.commit()  # noqa: F821
    rss = {}
    while True:
        if server is not None:
            for child in http_workers(server):
                try:
                    value = child.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
                first, peak = rss.get(child.pid, (value, value))
                rss[child.pid] = (first, max(peak, value))
        env.invalidate_all()  # noqa: F821
        env.cr.rollback()  # noqa: F821 (a fresh snapshot)
        if run.state == "done":
            break
        failed = env["queue.job"].search_count(  # noqa: F821
            [
                ("state", "=", "failed"),
                (
                    "identity_key",
                    "in",
                    [chunk._identity_key() for chunk in run.chunk_ids],
                ),
            ]
        )
        if failed or time.perf_counter() - started > RUN_DEADLINE:
            raise SystemExit(
                f"bulk run {code}: {failed} failed jobs, {run.done_count} of {run.item_count} done "
                f"after {time.perf_counter() - started:.0f} s (log: bench-jobs.log)"
            )
        time.sleep(0.2)
    # from the start to the moment the run finished, as the database recorded it (not when polling saw it)
    env.cr.execute("SELECT extract(epoch FROM finished_at) FROM spp_dci_bulk_run WHERE id = %s", [run.id])  # noqa: F821
    seconds = float(env.cr.fetchone()[0]) - started_epoch  # noqa: F821
    if run.failed_count or run.done_count != run.item_count:
        raise SystemExit(f"bulk run {code}: {run.done_count} done, {run.failed_count} failed of {run.item_count}")
    return seconds, rss


def cpu_seconds(simulator_pid, server):
    """CPU seconds used so far by the simulator, the job server (workers and runner), PostgreSQL's processes
    for this database (when the server is local), and the whole machine (busy time of every core)."""

    def used(process):
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            return 0.0
        return times.user + times.system

    backends = [
        process
        for process in psutil.process_iter(["name", "cmdline"])
        if (process.info["name"] or "").startswith("postgres")
        and env.cr.dbname in " ".join(process.info["cmdline"] or [])  # noqa: F821
    ]
    machine = psutil.cpu_times()
    return {
        "simulator": used(psutil.Process(simulator_pid)),
        "job_server": sum(used(process) for process in [server, *server.children(recursive=True)]),
        "postgres": sum(used(process) for process in backends),
        "machine": machine.user
        + machine.nice
        + machine.system
        + getattr(machine, "irq", 0)
        + getattr(machine, "softirq", 0)
        + getattr(machine, "steal", 0),
    }


def cpu_per_envelope(before, after, seconds):
    """Milliseconds of CPU per envelope of LATENCY_ITEMS items, per process group, and the cores busy meanwhile.

    PostgreSQL backends that ended during the run are not counted; the machine
    figure includes whatever else ran on it.
    """
    envelopes = LATENCY_ITEMS / 100
    figures = {name: round((after[name] - before[name]) * 1000 / envelopes, 1) for name in before if name != "machine"}
    figures["cores_busy"] = round((after["machine"] - before["machine"]) / seconds, 2)
    return figures


def cycled_births(population_size, count):
    brns = [("BRN", person.brn) for person in Population(size=population_size).persons if person.brn]
    return (brns[index % len(brns)] for index in range(count))


def queue_bench():
    """Bulk runs through the real job runner: worker memory over a large run, then latency scaling."""
    figures = {}
    simulator, url = start_simulator("--size", str(BULK_POPULATION), "--client", "bench:bench-secret")
    server = psutil.Process(start_job_server(2, runner_channels(2, {"bench_bulk": 2})).pid)
    try:
        make_source("bench_bulk", base_url=f"{url}/crvs", bulk_capacity=2)
        run_births("bench_bulk", cycled_births(BULK_POPULATION, 2000), server)  # warm the workers up
        baseline = {child.pid: child.memory_info().rss for child in http_workers(server)}
        seconds, rss = run_births("bench_bulk", cycled_births(BULK_POPULATION, BULK_ITEMS), server)
        growth = max((peak - baseline.get(pid, first)) / 2**20 for pid, (first, peak) in rss.items())
        figures.update(
            {
                "bulk_items": BULK_ITEMS,
                "bulk_rss_growth_mb": round(growth, 1),
                "bulk_seconds": round(seconds, 1),
                "bulk_items_per_s": round(BULK_ITEMS / seconds),
            }
        )
        if BULK_ITEMS == 1_000_000:
            figures["bulk_1m_rss_growth_mb"] = round(growth, 1)
    finally:
        stop(server)
        stop(simulator)
    simulator, url = start_simulator("--size", str(10100), "--delay", "0.05", "--client", "bench:bench-secret")
    capacities = {f"bench_latency_{capacity}": capacity for capacity in (1, 4, 8)}
    server = psutil.Process(start_job_server(8, runner_channels(8, capacities)).pid)
    rates, cpu = {}, {}
    try:
        for capacity in (1, 4, 8):
            code = f"bench_latency_{capacity}"
            make_source(code, base_url=f"{url}/crvs", bulk_capacity=capacity)
            run_births(code, cycled_births(10100, 200))  # a token, and the workers warm
            before = cpu_seconds(simulator.pid, server)
            seconds, _rss = run_births(code, cycled_births(10100, LATENCY_ITEMS))
            rates[capacity] = LATENCY_ITEMS / seconds
            cpu[capacity] = cpu_per_envelope(before, cpu_seconds(simulator.pid, server), seconds)
    finally:
        stop(server)
        stop(simulator)
    figures["latency_scaling"] = {
        str(capacity): {
            "items_per_s": round(rate),
            "ratio_to_linear": round(rate / (rates[1] * capacity), 2),
            "cpu_ms_per_envelope": cpu[capacity],
        }
        for capacity, rate in rates.items()
    }
    figures["latency_scaling_ratio_at_8"] = figures["latency_scaling"]["8"]["ratio_to_linear"]
    return figures


wait_for_simulator()
KEY = env["spp.dci.signing.key"].create({"name": "Bench key", "algorithm": "ed25519"})  # noqa: F821
KEY.action_generate()
KEY.action_activate()
Path(os.environ["BENCH_CLIENT_KEY_FILE"]).write_text(KEY.public_key_pem)
source = make_source("crvs_main")
client = DCIClient(source, env)  # noqa: F821
for _ in range(50):
    client.search_by_id("BRN", "BR-2024-0042")

(raw, raw_cpu_us), raw_connections = per_1000(lambda: raw_throughput(client, REQUESTS), REQUESTS)
(ours, cpu_us), client_connections = per_1000(lambda: client_throughput(client, REQUESTS), REQUESTS)
seeds_way, seeds_way_connections = per_1000(lambda: per_request_throughput(source, REQUESTS // 4), REQUESTS // 4)
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
queue_figures = queue_bench() if BULK_ITEMS else {}

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
    "cpu_ratio": round(raw_cpu_us / cpu_us, 3),
    "raw_cpu_us_per_request": round(raw_cpu_us),
    "connections_per_1000_requests": client_connections,
    "raw_connections_per_1000_requests": raw_connections,
    "seeds_way_connections_per_1000_requests": seeds_way_connections,
    "raw_requests_per_s": round(raw),
    "client_requests_per_s": round(ours),
    "seeds_way_requests_per_s": round(seeds_way),
    "single_10k_seconds": round(single_seconds, 2),
    "sign_us": round(sign_us),
    "verify_us": round(verify_us),
    **queue_figures,
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
