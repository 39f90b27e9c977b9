"""End to end: a bulk run processed by queue_job's real runner in a separate odoo-bin with two workers.

The run is committed for real (the server is another process), then removed.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from dci_simulator import Population, SimulatedRegistry, SimulatorServer

import odoo
from odoo import SUPERUSER_ID, api, sql_db
from odoo.tests import BaseCase, tagged
from odoo.tools import config

from odoo.addons.spp_dci_client.services.signing import load_public_key

from ..services.crvs_service import CRVSService

CODE = "e2e_workers"
ITEMS = 400  # 4 jobs of 10 envelopes of 10
DEADLINE = 240


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@tagged("post_install", "-at_install")
class TestBulkRunWorkers(BaseCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dbname = odoo.tests.get_db_name()
        cls.client_keys = {}
        cls.sim = SimulatedRegistry(
            Population(size=ITEMS + 50),
            client_keys=cls.client_keys,
            clients={"e2e": "e2e-secret"},
            require_signature=True,
            keep_requests=True,
        )
        cls.server = SimulatorServer(cls.sim).start()
        cls.addClassCleanup(cls.server.stop)

    def env(self, cr):
        return api.Environment(cr, SUPERUSER_ID, {})

    def committed(self, work):
        """Run work(env) in a cursor of its own and commit: the server process must see it."""
        with sql_db.db_connect(self.dbname).cursor() as cr:
            result = work(self.env(cr))
            # the job server, another process, must see it
            cr.commit()  # pylint: disable=invalid-commit
            return result

    def start_run(self, env):
        key = env["spp.dci.signing.key"].create({"name": "E2E key", "algorithm": "ed25519"})
        key.action_generate()
        key.action_activate()
        self.client_keys[key.kid] = load_public_key(key.public_key_pem)
        env["spp.dci.data.source"].create(
            {
                "name": CODE,
                "code": CODE,
                "registry_type": "ns:org:RegistryType:Civil",
                "base_url": self.server.url("crvs"),
                "auth_type": "oauth2",
                "oauth2_client_id": "e2e",
                "oauth2_client_secret": "e2e-secret",
                "our_sender_id": "openspp.e2e",
                "receiver_id": "crvs.simulator",
                "signing_key_id": key.id,
                "registry_public_key": self.sim.public_key_pem,
                "max_batch_size": 10,
                "bulk_capacity": 2,
            }
        )
        pairs = [("BRN", person.brn) for person in self.sim.population.persons if person.brn][:ITEMS]
        run = CRVSService(env, CODE).start_verify_births(pairs)
        return run.id, key.id, pairs

    def remove(self, env, run_id, key_id):
        run = env["spp.dci.bulk.run"].browse(run_id)
        env["queue.job"].search(
            [
                ("model_name", "=", "spp.dci.bulk.chunk"),
                ("identity_key", "in", [chunk._identity_key() for chunk in run.chunk_ids]),
            ]
        ).unlink()
        source = run.data_source_id
        run.unlink()
        source.unlink()
        env["spp.dci.signing.key"].browse(key_id).unlink()

    def odoo_server(self, log):
        """odoo-bin with two HTTP workers and the queue_job runner, killed by timeout if we die first."""
        odoo_bin = str(Path(odoo.__path__[0]).parent / "odoo-bin")
        command = [
            "timeout",
            "-s",
            "KILL",
            str(DEADLINE + 30),
            sys.executable,
            odoo_bin,
            "--addons-path",
            ",".join(config["addons_path"]),
            "--data-dir",
            config["data_dir"],
            "-d",
            self.dbname,
            "--db-filter",
            f"^{self.dbname}$",
            "--workers",
            "2",
            "--max-cron-threads",
            "0",
            "--http-interface",
            "127.0.0.1",
            "--http-port",
            str(free_port()),
            "--load",
            "base,web,queue_job",
            "--limit-time-real",
            "120",
            "--log-level",
            "info",
        ]
        for option, name in (
            ("--db_host", "db_host"),
            ("--db_port", "db_port"),
            ("--db_user", "db_user"),
            ("--db_password", "db_password"),
        ):
            if config[name]:
                command += [option, str(config[name])]
        environment = dict(os.environ, ODOO_QUEUE_JOB_CHANNELS="root:2")
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment, start_new_session=True)

    def test_runner_and_two_workers_complete_a_run(self):
        # Jobs of some seconds each: a worker busy with one job cannot take the next, so two
        # jobs running at once (channel capacity 2) are bound to run in two worker processes.
        self.sim.faults.add("latency", path="/registry/sync/search", seconds=0.3, times=None)
        self.addCleanup(self.sim.faults.clear)
        run_id, key_id, pairs = self.committed(self.start_run)
        self.addCleanup(self.committed, lambda env: self.remove(env, run_id, key_id))
        log_path = Path(config["data_dir"]) / "e2e-workers.log"
        with open(log_path, "wb") as log:
            process = self.odoo_server(log)
            try:
                deadline = time.monotonic() + DEADLINE
                state = None
                while time.monotonic() < deadline and state != "done":
                    time.sleep(1)
                    state = self.committed(lambda env: env["spp.dci.bulk.run"].browse(run_id).state)
            finally:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        self.assertEqual(state, "done", f"the run did not finish in {DEADLINE} s; see {log_path}")

        def outcome(env):
            run = env["spp.dci.bulk.run"].browse(run_id)
            items = env["spp.dci.bulk.item"].search([("run_id", "=", run_id)])
            jobs = env["queue.job"].search([("identity_key", "in", [c._identity_key() for c in run.chunk_ids])])
            return (
                run.done_count,
                run.failed_count,
                len(run.chunk_ids),
                [item.result for item in items],
                jobs.mapped("state"),
                set(jobs.mapped("worker_pid")),
            )

        done, failed, chunks, results, job_states, pids = self.committed(outcome)
        self.assertEqual((done, failed, chunks), (ITEMS, 0, 4))
        self.assertEqual(job_states, ["done"] * 4)
        self.assertGreaterEqual(len(pids - {0}), 2, "the jobs ran in more than one worker process")
        self.assertEqual([result["identifier_value"] for result in results], [value for _kind, value in pairs])
        sent = [
            item["search_criteria"]["query"]["value"]
            for _role, path, envelope in self.sim.received
            if path == "/registry/sync/search"
            for item in envelope["message"]["search_request"]
        ]
        self.assertEqual(sorted(sent), sorted(value for _kind, value in pairs), "every birth sent exactly once")
        self.assertEqual(self.sim.stats["token_requests"], 1, "workers starting together share one token")
