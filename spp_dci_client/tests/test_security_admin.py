"""Issue 15: the token lock, the message log and the secrets, tried across real processes and cursors.

TestProcesses commits its data source and runs other Odoo processes on the
same database (dci_worker.py), so it runs outside the test transaction and
cleans up after itself.
"""

import hashlib
import http.server
import importlib.util
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from unittest.mock import patch

import odoo.release
from odoo import SUPERUSER_ID, api
from odoo.tests import TransactionCase, tagged
from odoo.tools import config as odoo_config

from ..models.oauth_token import _memory
from ..models.transaction import log_row, write_log_row
from ..services import secrets
from ..services.client import DCIClient
from ..services.config import ClientConfig
from ..services.errors import DCIConfigurationError
from .common import CLIENT_ID, CLIENT_SECRET, SENDER_ID, DCICase, SimulatorMixin

TOKEN_PATH = "/oauth2/client/token"
WORKER = Path(__file__).with_name("dci_worker.py")
ROTATE_SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "rotate_secret_key.py"


def serve_once(body):
    """A hostile registry on loopback answering every POST with ``body``."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@tagged("post_install", "-at_install")
class TestSecuritySameCursor(DCICase):
    def notify(self, source=None):
        return (source or self.data_source).test_connection()["params"]

    def token_requests(self):
        return self.sim.stats["token_requests"]

    # item 16: Test Connection says what happened to the token

    def test_connection_requests_a_token_even_when_one_is_cached(self):
        DCIClient(self.data_source, self.env).search_by_id("BRN", "BR-2024-0042")
        before = self.token_requests()
        params = self.notify()
        self.assertEqual(params["type"], "success", params["message"])
        self.assertIn("a new token was issued", params["message"])
        self.assertEqual(self.token_requests() - before, 1)

    def test_connection_after_registry_restart(self):
        DCIClient(self.data_source, self.env).search_by_id("BRN", "BR-2024-0042")
        self.sim.tokens.clear()
        params = self.notify()
        self.assertEqual(params["type"], "success", params["message"])
        self.assertEqual(self.data_source.state, "active")

    # item 8: rows are coerced, and Test Connection is logged

    def log_rows(self, transaction_id):
        self.env.invalidate_all()
        return self.env["spp.dci.transaction"].sudo().search([("transaction_id", "=", transaction_id)])

    def test_hostile_values_are_coerced_not_dropped(self):
        deep = []
        node = deep
        for _ in range(5000):
            node.append([])
            node = node[0]
        cases = {
            "object-code": {"reason_code": {"code": ["rjct"], "nested": {"x": 1}}},
            "deep-code": {"reason_code": deep},
            "nul": {"reason_code": "rjct\x00.x", "correlation_id": "c\x00"},
            "huge-int": {"http_status": 10**30, "duration_ms": float("inf"), "item_count": "12"},
            "bool": {"http_status": True, "state": "weird"},
            "long": {"reason_code": "x" * 100000},
        }
        config = self.data_source._get_client_config()
        for name, values in cases.items():
            with self.subTest(case=name):
                self.env["spp.dci.transaction"]._log_message(
                    config,
                    self.env.uid,
                    dict(values, action="search", transaction_id=f"coerce-{name}", reference_ids=[{"not": "a string"}]),
                )
                row = self.log_rows(f"coerce-{name}")
                self.assertEqual(len(row), 1)
                self.assertNotIn("\x00", row.reason_code or "")
                self.assertLessEqual(len(row.reason_code or ""), 256)
        self.assertEqual(self.log_rows("coerce-bool").state, "error")
        self.assertFalse(self.log_rows("coerce-huge-int").http_status)
        self.assertIn("rjct", self.log_rows("coerce-object-code").reason_code)

    def test_reply_breaking_the_parser_is_logged(self):
        for name, body in (("deep", b"[" * 200000 + b"]" * 200000), ("huge-number", b'{"header": 1e999999}')):
            server = serve_once(body)
            self.addCleanup(server.shutdown)
            source = self.make_data_source(
                code=f"hostile_{name.replace('-', '_')}",
                auth_type="none",
                base_url=f"http://127.0.0.1:{server.server_address[1]}",
                signature_policy="off",
            )
            raised = None
            try:
                DCIClient(source, self.env).search_by_id("BRN", "BR-2024-0042")
            except Exception as error:  # whatever the parser raises, the row must be there
                raised = error
            self.assertIsNotNone(raised, name)
            rows = self.env["spp.dci.transaction"].sudo().search([("data_source_id", "=", source.id)])
            self.assertEqual(len(rows), 1, f"{name}: {raised!r}")
            self.assertEqual((rows.state, rows.error_type), ("error", type(raised).__name__))

    def test_connection_is_logged(self):
        self.notify()
        self.env.invalidate_all()
        row = (
            self.env["spp.dci.transaction"]
            .sudo()
            .search([("origin", "=", f"spp.dci.data.source,{self.data_source.id}")], limit=1)
        )
        self.assertEqual((row.action, row.state, row.http_status), ("search", "done", 200))

    # item 12: no key, no secrets (except in development mode), and a warning at start

    def test_missing_key_is_logged_at_start(self):
        self.assertFalse(odoo_config.get("dci_secret_key"), "make test passes its key in the environment")
        with (
            patch.dict(os.environ, {"SPP_DCI_SECRET_KEY": ""}),
            self.assertLogs("odoo.addons.spp_dci_client.models.data_source", "WARNING") as logs,
        ):
            self.env["spp.dci.data.source"]._register_hook()
        self.assertIn("dci_secret_key", logs.output[0])
        with (
            patch.dict(os.environ, {"SPP_DCI_SECRET_KEY": ""}),
            self.assertRaisesRegex(DCIConfigurationError, "SPP_DCI_SECRET_KEY"),
        ):
            self.env["spp.dci.signing.key"].create({"name": "No key"}).action_generate()

    # item 19: no secret in a repr; keys rotate

    def test_reprs_hold_no_secret(self):
        config = self.data_source._get_client_config()
        self.assertIsInstance(config, ClientConfig)
        self.assertEqual(config.oauth2.client_secret, CLIENT_SECRET)
        self.assertNotIn(CLIENT_SECRET, repr(config))
        self.assertNotIn(CLIENT_SECRET, repr(config.oauth2))
        client = DCIClient(self.data_source, self.env)
        self.addCleanup(client.close)
        token = client.tokens.get(client.transport)
        cached = _memory[(self.env.cr.dbname, self.data_source.id)]
        self.assertNotIn(token, repr(cached))

    def test_key_rotation(self):
        spec = importlib.util.spec_from_file_location("rotate_secret_key", ROTATE_SCRIPT)
        rotation = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(rotation)
        old = os.environ["SPP_DCI_SECRET_KEY"]
        self.data_source.write({"oauth2_client_secret": "rotated-secret"})
        with patch.dict(os.environ, {"SPP_DCI_SECRET_KEY": f"new-key, {old}"}):
            self.assertEqual(self.data_source._get_client_config().oauth2.client_secret, "rotated-secret")
            counts = rotation.rotate(self.env)
        self.assertGreaterEqual(counts["spp.dci.data.source.oauth2_client_secret_stored"], 1)
        self.assertGreaterEqual(counts["spp.dci.signing.key.private_key_stored"], 1)
        with patch.dict(os.environ, {"SPP_DCI_SECRET_KEY": "new-key"}):
            self.assertEqual(self.data_source._get_client_config().oauth2.client_secret, "rotated-secret")
            self.assertTrue(self.signing_key._get_signer())
        with self.assertRaisesRegex(DCIConfigurationError, "cannot be decrypted"):
            self.data_source._get_client_config()


@tagged("post_install", "-at_install")
class TestProcesses(SimulatorMixin, TransactionCase):
    """Committed data and other processes on the same database: the findings about processes."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_simulator(require_signature=False, request_validator=None)

    def setUp(self):
        super().setUp()
        self.sim.faults.clear()

    def commit_source(self, code, **values):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            source = env["spp.dci.data.source"].create(
                dict(
                    {
                        "name": code,
                        "code": code,
                        "registry_type": "ns:org:RegistryType:Civil",
                        "base_url": self.server.url("crvs"),
                        "auth_type": "oauth2",
                        "oauth2_client_id": CLIENT_ID,
                        "oauth2_client_secret": CLIENT_SECRET,
                        "our_sender_id": SENDER_ID,
                        "receiver_id": "crvs.simulator",
                        "signature_policy": "off",
                        "timeout": 10,
                    },
                    **values,
                )
            )
            source_id = source.id
        self.addCleanup(self.drop_source, source_id)
        return source_id

    def drop_source(self, source_id):
        with self.registry.cursor() as cr:
            cr.execute("DELETE FROM spp_dci_transaction WHERE data_source_id = %s", (source_id,))
            cr.execute("DELETE FROM spp_dci_oauth_token WHERE data_source_id = %s", (source_id,))
            cr.execute("DELETE FROM spp_dci_data_source WHERE id = %s", (source_id,))

    def worker(self, *args):
        settings = {
            key: odoo_config[key]
            for key in ("db_host", "db_port", "db_user", "db_password", "addons_path", "dci_secret_key")
            if key in odoo_config.options
        }
        settings["db_name"] = [self.env.cr.dbname]
        odoo_path = str(Path(odoo.release.__file__).resolve().parents[1])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [odoo_path, os.environ.get("PYTHONPATH")])))
        return subprocess.Popen(
            [sys.executable, str(WORKER), json.dumps(settings), *map(str, args)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )

    # item 6: one token for many processes, no error

    def test_processes_share_one_token(self):
        source_id = self.commit_source("sa_token_procs")
        self.sim.faults.add("latency", path=TOKEN_PATH, seconds=2, times=None)
        before = self.sim.stats["token_requests"]
        start = time.time() + 25
        workers = [self.worker("token", source_id, start) for _ in range(4)]
        outputs = [worker.communicate(timeout=120) for worker in workers]
        for worker, (_out, err) in zip(workers, outputs, strict=True):
            self.assertEqual(worker.returncode, 0, err[-2000:])
            self.assertNotIn("UniqueViolation", err)
        hashes = {out.strip() for out, _err in outputs}
        self.assertEqual(len(hashes), 1, hashes)
        self.assertEqual(self.sim.stats["token_requests"] - before, 1)
        with self.registry.cursor() as cr:
            cr.execute("SELECT access_token_stored FROM spp_dci_oauth_token WHERE data_source_id = %s", (source_id,))
            stored = secrets.decrypt(cr.fetchone()[0])
        self.assertEqual(hashlib.sha256(stored.encode()).hexdigest(), hashes.pop())

    # item 16: an expired stored token does not block Test Connection

    def test_connection_with_expired_token_in_real_cursors(self):
        source_id = self.commit_source("sa_expired")
        with self.registry.cursor() as cr:
            cr.execute(
                "INSERT INTO spp_dci_oauth_token (data_source_id, access_token_stored, expires_at) VALUES (%s, %s, %s)",
                (source_id, secrets.encrypt("expired-token"), time.time() - 60),
            )
        before = self.sim.stats["token_requests"]
        started = time.monotonic()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            params = env["spp.dci.data.source"].browse(source_id).test_connection()["params"]
        self.assertEqual(params["type"], "success", params["message"])
        self.assertLess(time.monotonic() - started, 10, "never waits for the lock timeout")
        self.assertEqual(self.sim.stats["token_requests"] - before, 1)

    # item 8: what was answered is logged, even when the worker is killed

    def test_killed_worker_loses_no_answered_row(self):
        source_id = self.commit_source("sa_killed")
        worker = self.worker("calls", source_id, 1000)
        answered = []
        while len(answered) < 40:
            line = worker.stdout.readline()
            self.assertTrue(line, worker.stderr.read()[-2000:] if worker.poll() is not None else "no output")
            answered.append(line.split()[1])
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
        worker.stdout.close()
        worker.stderr.close()
        with self.registry.cursor() as cr:
            cr.execute("SELECT transaction_id FROM spp_dci_transaction WHERE data_source_id = %s", (source_id,))
            logged = {row[0] for row in cr.fetchall()}
        self.assertEqual([txn for txn in answered if txn not in logged], [])

    def test_locked_table_delays_but_keeps_rows(self):
        source_id = self.commit_source("sa_locked")
        row = log_row(source_id, SUPERUSER_ID, {"action": "search", "transaction_id": "locked-1", "state": "done"})
        release = threading.Event()

        def hold_lock(seconds):
            with self.registry.cursor() as cr:
                cr.execute("LOCK TABLE spp_dci_transaction IN ACCESS EXCLUSIVE MODE")
                release.set()
                time.sleep(seconds)

        holder = threading.Thread(target=hold_lock, args=(3,))
        holder.start()
        release.wait(10)
        write_log_row(self.registry, row)
        holder.join()
        with self.registry.cursor() as cr:
            cr.execute("SELECT count(*) FROM spp_dci_transaction WHERE transaction_id = 'locked-1'")
            self.assertEqual(cr.fetchone()[0], 1)
        release.clear()
        holder = threading.Thread(target=hold_lock, args=(8,))
        holder.start()
        release.wait(10)
        with self.assertLogs("odoo.addons.spp_dci_client.models.transaction", logging.ERROR) as logs:
            write_log_row(self.registry, dict(row, transaction_id="locked-2"))
        holder.join()
        self.assertIn('"transaction_id": "locked-2"', logs.output[-1])
