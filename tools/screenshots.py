"""Screenshots of the admin screens of a running demo, for docs/screenshots/.

Usage, with a demo on a free port (DEMO_PORT=8170 DEMO_DB=spp_dci_shots make demo):

    .venv/bin/python tools/screenshots.py http://localhost:8170 docs/screenshots

Logs in as admin/admin over JSON-RPC, hands the session cookie to headless
Chromium through the DevTools protocol, opens each screen and saves a PNG.
"""

import base64
import json
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import requests
import websocket

SCREENS = [
    ("overview", "/odoo/action-spp_dci_client.spp_dci_overview_action", ".o_kanban_record"),
    ("data_sources", "/odoo/action-spp_dci_client.spp_dci_data_source_action", ".o_data_row"),
    ("data_source_new", "/odoo/action-spp_dci_client.spp_dci_data_source_action/new", ".o_form_view"),
    ("data_source_form", "/odoo/action-spp_dci_client.spp_dci_data_source_action/{source}", ".o-mail-Chatter"),
    (
        "fetch_registry_keys",
        "/odoo/action-spp_dci_client.spp_dci_data_source_action/{source}",
        "click:button[name=action_fetch_registry_keys]|click:.modal button[name=action_fetch]|.modal .o_data_row",
    ),
    (
        "data_source_key_pinned",
        "/odoo/action-spp_dci_client.spp_dci_data_source_action/{source}",
        "click:button[name=action_fetch_registry_keys]|click:.modal button[name=action_fetch]"
        "|click:.modal button[name=action_pin_key]|click:.o_notebook_headers a[name=signatures]"
        "|.o_field_widget[name=registry_key_id]",
    ),
    (
        "test_connection",
        "/odoo/action-spp_dci_client.spp_dci_data_source_action/{source}",
        "click:button[name=test_connection]|.o_notification",
    ),
    (
        "test_connection_failed",
        "/odoo/action-spp_dci_client.spp_dci_data_source_action/{unreachable}",
        "click:button[name=test_connection]|.o_notification",
    ),
    ("signing_key", "/odoo/action-spp_dci_client.spp_dci_signing_key_action/{key}", ".o_clipboard_button"),
    ("message_log", "/odoo/action-spp_dci_client.spp_dci_transaction_action", ".o_list_view"),
    (
        "message_log_graph",
        "/odoo/action-spp_dci_client.spp_dci_transaction_action?view_type=graph",
        ".o_graph_renderer canvas",
    ),
    ("message_log_pivot", "/odoo/action-spp_dci_client.spp_dci_transaction_action?view_type=pivot", ".o_pivot"),
    ("failed_today", "/odoo/action-spp_dci_client.spp_dci_transaction_action_failed_today", ".o_list_view"),
    ("apps_menu", "/odoo/action-spp_dci_client.spp_dci_overview_action", "click:.o_navbar_apps_menu button|.o_app"),
]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Chrome:
    def __init__(self, width=1366, height=1200):
        self.profile = tempfile.mkdtemp(prefix="dci-shots-")
        port = free_port()
        binary = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
        self.process = subprocess.Popen(  # noqa: S603
            [
                binary,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                f"--remote-debugging-port={port}",
                f"--user-data-dir={self.profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _attempt in range(100):
            try:
                targets = requests.get(f"http://127.0.0.1:{port}/json", timeout=1).json()
                page = next(target for target in targets if target["type"] == "page")
                break
            except (requests.RequestException, StopIteration):
                time.sleep(0.1)
        self.socket = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(message["error"])
                return message.get("result", {})

    def evaluate(self, expression):
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def wait_for(self, selector, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.evaluate(f"!!document.querySelector({json.dumps(selector)})"):
                return True
            time.sleep(0.2)
        raise TimeoutError(selector)

    def close(self):
        self.socket.close()
        self.process.terminate()
        self.process.wait(10)
        shutil.rmtree(self.profile, ignore_errors=True)


def main(base_url, folder):
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    session = requests.Session()
    database = session.post(f"{base_url}/web/database/list", json={"jsonrpc": "2.0", "params": {}}, timeout=30).json()[
        "result"
    ][0]
    session.post(
        f"{base_url}/web/session/authenticate",
        json={"jsonrpc": "2.0", "params": {"db": database, "login": "admin", "password": "admin"}},
        timeout=30,
    ).raise_for_status()

    def rpc(model, method, *args):
        answer = session.post(
            f"{base_url}/web/dataset/call_kw",
            json={"jsonrpc": "2.0", "params": {"model": model, "method": method, "args": list(args), "kwargs": {}}},
            timeout=60,
        ).json()
        return answer["result"]

    source = rpc("spp.dci.data.source", "search", [("code", "=", "crvs_main")])[0]
    key = rpc("spp.dci.signing.key", "search", [("state", "=", "active")])[0]
    if not rpc("spp.dci.data.source", "search", [("code", "=", "crvs_provincial")]):
        unreachable_url = "http://127.0.0.1:9/crvs"  # the discard port: nothing listens there
        rpc(
            "spp.dci.data.source",
            "copy",
            [source],
            {
                "name": "Provincial CRVS",
                "code": "crvs_provincial",
                "base_url": unreachable_url,
                "oauth2_client_secret": "not-used",  # secrets are not copied
            },
        )
    unreachable = rpc("spp.dci.data.source", "search", [("code", "=", "crvs_provincial")])[0]
    chrome = Chrome()
    try:
        host = base_url.split("://", 1)[1].split(":")[0]
        chrome.call("Network.enable")
        chrome.call("Network.setCookie", name="session_id", value=session.cookies["session_id"], domain=host, path="/")
        for name, path, steps in SCREENS:
            chrome.call("Page.navigate", url=base_url + path.format(source=source, key=key, unreachable=unreachable))
            time.sleep(1)
            for step in steps.split("|"):
                if step.startswith("click:"):
                    selector = step[len("click:") :]
                    chrome.wait_for(selector)
                    chrome.evaluate(f"document.querySelector({json.dumps(selector)}).click()")
                else:
                    chrome.wait_for(step)
            time.sleep(1.5)
            shot = chrome.call("Page.captureScreenshot", format="png")
            (folder / f"{name}.png").write_bytes(base64.b64decode(shot["data"]))
            print(f"{name}.png")
    finally:
        chrome.close()


if __name__ == "__main__":
    main(sys.argv[1].rstrip("/"), sys.argv[2])
