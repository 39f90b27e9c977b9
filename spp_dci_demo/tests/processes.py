"""Separate Odoo processes on the test's database (``odoo-bin shell``), for races between workers.

They see only committed data: the test's own transaction is invisible to
them, so what they work on is created and removed by such a process too.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import odoo
from odoo.tools import config

RESULT_PREFIX = "RESULT "

WORKER = r'''
import json, os, time, pathlib
from odoo.service.model import retrying
from odoo.addons.spp_dci_client.services.errors import DCICallbackRefused

params = json.loads(os.environ["SPP_DCI_WORKER"])
folder = pathlib.Path(params.get("folder", "."))
model = env["spp.dci.transaction"].sudo()


def mark(step):
    (folder / f"{params['role']}.{step}").touch()


def wait(role, step):
    deadline = time.time() + 120
    while not (folder / f"{role}.{step}").exists():
        if time.time() > deadline:
            raise TimeoutError(f"{role}.{step}")
        time.sleep(0.02)


def receive(envelope, hold=0.0, applied=None):
    """Apply one callback as the HTTP layer does (retrying on serialization failures); commit after ``hold``."""
    try:
        retrying(lambda: model._receive_callback(envelope), env)
        outcome = "accepted"
    except DCICallbackRefused as refusal:
        env.cr.rollback()
        outcome = refusal.code
    if applied:
        mark(applied)
    time.sleep(hold)
    env.cr.commit()
    return outcome


result = {}
role = params["role"]
if role == "setup":
    source = env["spp.dci.data.source"].create({
        "name": "Race probe", "code": params["code"], "base_url": "http://127.0.0.1:9",
        "auth_type": "none", "our_sender_id": "openspp.race", "receiver_id": params["code"] + ".registry",
        "registry_public_key": params["registry_public_key"], "signature_profile": "dci_cavage",
    })
    for transaction_id in params["transaction_ids"]:
        model.create({"data_source_id": source.id, "direction": "out", "action": "subscribe",
                      "transaction_id": transaction_id, "state": "pending", "reference_ids": "[]"})
    env.cr.commit()
elif role == "first":
    result["race_same_message"] = receive(params["same"], hold=2.0, applied="applied1")
    wait("second", "done1")
    result["race_two_messages"] = receive(params["two"][0], hold=2.0, applied="applied2")
elif role == "second":
    wait("first", "applied1")
    result["race_same_message"] = receive(params["same"])
    mark("done1")
    wait("first", "applied2")
    result["race_two_messages"] = receive(params["two"][1])
elif role == "restart":
    result["after_restart"] = receive(params["same"])
    rows = model.search([("transaction_id", "in", params["transaction_ids"])])
    result["states"] = sorted(rows.mapped("state"))
    source = rows.data_source_id
    result["seen"] = env["spp.dci.seen.message"].sudo().search_count([("data_source_id", "=", source.id)])
    rows.unlink()
    source.unlink()
    env.cr.commit()
print("RESULT " + json.dumps(result), flush=True)
'''


def _command(dbname):
    odoo_bin = Path(odoo.release.__file__).resolve().parent.parent / "odoo-bin"
    addons_path = config["addons_path"]
    command = [
        sys.executable,
        str(odoo_bin),
        "shell",
        "-d",
        dbname,
        "--no-http",
        "--log-level",
        "warn",
        "--addons-path",
        addons_path if isinstance(addons_path, str) else ",".join(addons_path),
    ]
    for option, flag in (
        ("db_host", "--db_host"),
        ("db_port", "--db_port"),
        ("db_user", "--db_user"),
        ("db_password", "--db_password"),
        ("data_dir", "--data-dir"),
    ):
        if config.get(option):
            command += [flag, str(config[option])]
    return command


def start_worker(dbname, params):
    """An Odoo process running WORKER with ``params``; read its outcome with ``outcome``."""
    with tempfile.TemporaryFile("w+") as script:
        script.write(WORKER)
        script.seek(0)
        return subprocess.Popen(
            _command(dbname),
            stdin=script,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ, SPP_DCI_WORKER=json.dumps(params)),
        )


def outcome(process, timeout=180):
    stdout, stderr = process.communicate(timeout=timeout)
    lines = [line for line in stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if process.returncode or not lines:
        raise AssertionError(f"worker failed (exit {process.returncode}): {stderr[-2000:]}")
    return json.loads(lines[-1][len(RESULT_PREFIX) :])


def run_worker(dbname, params):
    return outcome(start_worker(dbname, params))
