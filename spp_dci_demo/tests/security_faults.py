"""Attacks on callbacks, transport and parsers (issue 15: 1, 2, 9, 10, 13, 14, 15, 17, 18).

Each case is counted in TestReliability's FAULTS line. Forged callbacks go
through this Odoo server's HTTP stack; hostile registries are raw sockets on
loopback (hostile.py); the races run in separate processes (processes.py).
"""

import base64
import contextlib
import gzip
import json
import logging
import socket
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta

from odoo.tests.common import release_test_lock

from odoo.addons.spp_dci_client.models.callback_throttle import MAX_REFUSALS
from odoo.addons.spp_dci_client.services import envelope as E
from odoo.addons.spp_dci_client.services import oauth
from odoo.addons.spp_dci_client.services.client import DCIClient
from odoo.addons.spp_dci_client.services.errors import (
    DCIAuthenticationError,
    DCIConfigurationError,
    DCIConnectionError,
    DCIError,
    DCIProtocolError,
    DCIRejectedError,
    DCISignatureError,
    DCITimeoutError,
)
from odoo.addons.spp_dci_client.services.signing import CavageProfile, OpenG2PProfile, _sign_bytes, b64url
from odoo.addons.spp_dci_client.services.transport import Transport

from .hostile import HostileRegistry, deadline_seconds, drip, send
from .processes import outcome, run_worker, start_worker

MIB = 1024 * 1024


class SecurityFaults:
    """Mixed into TestReliability (a DemoCase): ``self.crvs`` and ``self.sim`` are set."""

    def security_faults(self):
        cases = [name for name in dir(self) if name.startswith("attack_")]
        tried = handled = 0
        for name in sorted(cases):
            tried += 1
            with self.subTest(attack=name):
                getattr(self, name)()
                handled += 1
        return tried, handled

    # helpers

    @contextlib.contextmanager
    def configured(self, source, **values):
        """The data source with ``values`` written, restored afterwards."""
        before = source.read(list(values))[0]
        source.write(values)
        try:
            yield source
        finally:
            source.write({name: before[name] for name in values})

    def registry_head(self, action, **values):
        return {
            "version": "1.0.0",
            "message_id": E.new_id(),
            "message_ts": E.timestamp(),
            "action": action,
            "status": "succ",
            "sender_id": self.crvs.receiver_id,
            "receiver_id": self.crvs.our_sender_id,
            "total_count": 1,
            **values,
        }

    def sign(self, head, message, created=None, expires=None):
        """A dci_cavage signature by the registry's key, with the validity period we choose."""
        created = int(time.time()) if created is None else created
        expires = created + 300 if expires is None else expires
        profile = CavageProfile()
        signer = self.sim.signer
        raw = _sign_bytes(
            signer.private_key, profile.signing_string(created, expires, profile.digest(head, message)).encode()
        )
        return (
            f'namespace="dci", kidId="{head["sender_id"]}|{signer.kid}|ed25519", algorithm="ed25519", '
            f'created="{created}", expires="{expires}", headers="(created) (expires) digest", '
            f'signature="{base64.b64encode(raw).decode()}"'
        )

    def notify(self, signed=True, **head_values):
        head = self.registry_head("notify", **head_values)
        message = {"transaction_id": E.new_id(), "notify_event": []}
        envelope = {"header": head, "message": message}
        if signed:
            envelope["signature"] = self.sign(head, message)
        return envelope

    def post(self, body, headers=None):
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        response = self.url_open(
            "/dci/callback", data=data, headers={"Content-Type": "application/json", **(headers or {})}
        )
        self.assertNotIn(response.status_code, (500, 422), response.text[:200])
        return response.status_code, response.json()

    def assert_refused(self, result, status, code):
        got_status, body = result
        self.assertEqual(got_status, status)
        got_code = body["errors"][0]["code"] if "errors" in body else body["message"]["error"]["code"]
        self.assertEqual(got_code, code)

    def incoming_rows(self):
        return self.env["spp.dci.transaction"].sudo().search_count([("direction", "=", "in")])

    def hostile_source(self, url, **values):
        return self.configured(
            self.crvs,
            **{
                "base_url": url,
                "auth_type": "none",
                "timeout": 3,
                "max_attempts": 3,
                "registry_public_key": self.sim.public_key_pem,
                "signature_profile": "dci_cavage",
                "signature_policy": "require",
                **values,
            },
        )

    def signed_reply(self, request_body, head_values=None, message_values=None, item_values=None):
        request = json.loads(request_body)
        items = [
            dict(
                {
                    "reference_id": item["reference_id"],
                    "timestamp": E.timestamp(),
                    "status": "succ",
                    "data": {"reg_records": []},
                },
                **(item_values or {}),
            )
            for item in request["message"].get("search_request", [])
        ]
        head = self.registry_head("on-search", **(head_values or {}))
        message = dict(
            {
                "transaction_id": request["message"]["transaction_id"],
                "correlation_id": E.new_id(),
                "search_response": items,
            },
            **(message_values or {}),
        )
        return json.dumps({"header": head, "message": message, "signature": self.sign(head, message)}).encode()

    # item 1: replays

    def attack_replayed_notify_is_refused(self):
        with self.configured(self.crvs, registry_public_key=self.sim.public_key_pem, signature_profile="dci_cavage"):
            envelope = self.notify()
            before = self.incoming_rows()
            self.assertEqual(self.post(envelope)[1]["message"]["ack_status"], "ACK")
            self.assert_refused(self.post(envelope), 200, "rjct.message_id.duplicate")
            self.assertEqual(self.incoming_rows(), before + 1)

    def attack_signature_valid_for_ten_years_is_refused(self):
        with self.configured(self.crvs, registry_public_key=self.sim.public_key_pem, signature_profile="dci_cavage"):
            envelope = self.notify(signed=False)
            now = int(time.time())
            envelope["signature"] = self.sign(envelope["header"], envelope["message"], now, now + 10 * 365 * 86400)
            before = self.incoming_rows()
            self.assert_refused(self.post(envelope), 401, "err.signature.invalid")
            self.assertEqual(self.incoming_rows(), before)

    def attack_callback_race_and_restart_across_processes(self):
        """Two Odoo processes get the same callback, then two callbacks for one transaction; then a restart."""
        dbname = self.env.cr.dbname
        code = "race_" + E.new_id()[:8]
        transaction_ids = [E.new_id(), E.new_id()]

        def on_subscribe(transaction_id):
            head = self.registry_head("on-subscribe")
            message = {"transaction_id": transaction_id, "correlation_id": E.new_id(), "subscribe_response": []}
            return {"header": head, "message": message, "signature": self.sign(head, message)}

        same = on_subscribe(transaction_ids[0])
        params = {
            "same": same,
            "two": [on_subscribe(transaction_ids[1]), on_subscribe(transaction_ids[1])],
            "transaction_ids": transaction_ids,
            "code": code,
            "registry_public_key": self.sim.public_key_pem,
        }
        run_worker(dbname, dict(params, role="setup"))
        with tempfile.TemporaryDirectory() as folder:
            workers = [start_worker(dbname, dict(params, role=role, folder=folder)) for role in ("first", "second")]
            first, second = (outcome(worker) for worker in workers)
        restart = run_worker(dbname, dict(params, role="restart"))
        for race in ("race_same_message", "race_two_messages"):
            self.assertEqual(sorted([first[race], second[race]]), ["accepted", "rjct.message_id.duplicate"], race)
        self.assertEqual(restart["after_restart"], "rjct.message_id.duplicate")
        self.assertEqual(restart["states"], ["done", "done"])
        self.assertEqual(restart["seen"], 2, "the accepted message ids, once each")

    # item 2: callback authentication never depends on the response policy

    def attack_unsigned_callback_with_policy_off_is_refused(self):
        with self.configured(self.crvs, signature_policy="off"):
            before = self.incoming_rows()
            self.assert_refused(self.post(self.notify(signed=False)), 401, "err.signature.missing")
            self.assertEqual(self.incoming_rows(), before)

    def attack_callback_token(self):
        with self.configured(self.crvs, signature_policy="off"):
            notification = self.crvs.action_generate_callback_token()
            token = notification["params"]["message"].rsplit(": ", 1)[1]
            self.assertNotIn(token, json.dumps(self.crvs.sudo().read(["callback_token_hash"])))
            before = self.incoming_rows()
            self.assert_refused(
                self.post(self.notify(signed=False), {"Authorization": "Bearer wrong"}), 401, "err.signature.missing"
            )
            stale = self.notify(signed=False, message_ts=E.timestamp(datetime.now(UTC) - timedelta(minutes=20)))
            self.assert_refused(self.post(stale, {"Authorization": f"Bearer {token}"}), 401, "err.request.bad")
            status, body = self.post(self.notify(signed=False), {"Authorization": f"Bearer {token}"})
            self.assertEqual((status, body["message"]["ack_status"]), (200, "ACK"))
            forged = self.notify(signed=False)
            forged["signature"] = (
                'namespace="dci", kidId="a|b|ed25519", algorithm="ed25519", created="1", '
                'expires="2", headers="(created) (expires) digest", signature="AAAA"'
            )
            self.assert_refused(self.post(forged, {"Authorization": f"Bearer {token}"}), 401, "err.signature.invalid")
            self.crvs.action_revoke_callback_token()
            self.assert_refused(
                self.post(self.notify(signed=False), {"Authorization": f"Bearer {token}"}), 401, "err.signature.missing"
            )
            self.assertEqual(self.incoming_rows(), before + 1)

    def attack_refused_callers_are_throttled(self):
        throttle = self.env["spp.dci.callback.throttle"].sudo()
        throttle.search([]).unlink()
        try:
            answers = []
            while len(answers) <= MAX_REFUSALS and (not answers or answers[-1] == 400):
                answers.append(self.post(b"not json")[0])
            self.assertEqual(answers[-1], 429, "never throttled")
            self.assertEqual(throttle.search([]).refusals, MAX_REFUSALS)
            with self.configured(
                self.crvs, registry_public_key=self.sim.public_key_pem, signature_profile="dci_cavage"
            ):
                self.assert_refused(self.post(self.notify()), 429, "err.request.too_many_requests")
        finally:
            throttle.search([]).unlink()

    # item 10: bodies are limited before and while they are read

    def attack_oversized_callbacks(self):
        port = int(self.base_url().rsplit(":", 1)[1])
        with release_test_lock(), socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            connection.sendall(
                b"POST /dci/callback HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 125829120\r\n\r\n"
            )
            self.assertIn(b" 413 ", connection.recv(65536).split(b"\r\n", 1)[0] + b" ")
        tracemalloc.start()
        try:
            with release_test_lock(), socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
                connection.sendall(
                    b"POST /dci/callback HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n"
                )
                chunk = b"%x\r\n" % MIB + b" " * MIB + b"\r\n"
                with contextlib.suppress(OSError):
                    for _megabyte in range(40):
                        connection.sendall(chunk)
                    connection.sendall(b"0\r\n\r\n")
                with contextlib.suppress(OSError):
                    connection.recv(65536)
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        self.assertLess(peak, 25 * MIB, "a 40 MiB chunked body was not cut at the 10 MiB limit")

    # item 13: every parser answers a typed error

    def attack_malformed_callbacks(self):
        with (
            self.configured(self.crvs, registry_public_key=self.sim.public_key_pem, signature_profile="dci_cavage"),
            self.assertNoLogs(level="ERROR"),
        ):
            self.assert_refused(
                self.post(b'{"header": ' + b"[" * 100000 + b"]" * 100000 + b"}"), 400, "err.request.bad"
            )
            on_search = {
                "header": self.registry_head("on-search"),
                "message": {"transaction_id": {"$ne": ""}, "search_response": []},
            }
            self.assert_refused(self.post(on_search), 200, "err.request.bad")
            self.assert_refused(self.post(self.notify(sender_id={"a": 1})), 200, "err.request.bad")
            nul = self.notify()
            nul["message"]["transaction_id"] = "abc\x00"
            self.assert_refused(self.post(nul), 400, "err.request.bad")
            protected = b64url(b'{"alg":"EdDSA","exp":1,"iat":1e999,"kid":"k"}')
            with self.configured(self.crvs, signature_profile="openg2p"):
                self.assert_refused(
                    self.post(self.notify(signed=False), headers={"Signature": f"{protected}..{b64url(b'x' * 64)}"}),
                    401,
                    "err.signature.invalid",
                )
            wrong_type = self.notify()
            wrong_type["signature"] = {"not": "a string"}
            self.assert_refused(self.post(wrong_type), 401, "err.signature.invalid")

    def attack_hostile_responses(self):
        cases = [
            ("deep nesting", lambda body: b"[" * 200000, DCIProtocolError, None),
            (
                "object as reason code",
                lambda body: self.signed_reply(body, head_values={"status": "rjct", "status_reason_code": {"x": 1}}),
                DCIRejectedError,
                None,
            ),
            (
                "object as reference_id",
                lambda body: self.signed_reply(body, item_values={"reference_id": {"x": 1}}),
                DCIProtocolError,
                "rjct.reference_id.invalid",
            ),
            (
                "newline in reason code",
                lambda body: self.signed_reply(
                    body, head_values={"status": "rjct", "status_reason_code": "rjct.x\nCRITICAL forged"}
                ),
                DCIRejectedError,
                "rjct.x?CRITICAL forged",
            ),
            (
                "infinite number",
                lambda body: body.replace(b'"page_size":1', b'"page_size":1e999'),
                DCIProtocolError,
                None,
            ),
        ]
        for name, reply, expected, code in cases:
            with (
                self.subTest(response=name),
                HostileRegistry(
                    lambda connection, _path, body, _registry, reply=reply: send(connection, reply(body))
                ) as registry,
                self.hostile_source(registry.url),
                self.assertLogs("odoo.addons.spp_dci_client") as logs,
            ):
                with self.assertRaises(expected) as raised, DCIClient(self.crvs, self.env) as client:
                    client.search_by_id("BRN", "BR-2024-0042", page_size=1)
                if code:
                    self.assertEqual(raised.exception.code, code)
                self.assertFalse([line for line in logs.output if "\n" in line], name)

    def attack_jws_iat_overflow_in_a_response(self):
        def reply(connection, _path, body, _registry):
            envelope = json.loads(self.signed_reply(body))
            del envelope["signature"]
            protected = b64url(b'{"alg":"EdDSA","exp":1,"iat":1e999,"kid":"%s"}' % self.sim.signer.kid.encode())
            content = b64url(OpenG2PProfile.payload(envelope))
            raw = _sign_bytes(self.sim.signer.private_key, f"{protected}.{content}".encode())
            send(connection, json.dumps(envelope).encode(), headers={"Signature": f"{protected}..{b64url(raw)}"})

        with HostileRegistry(reply) as registry, self.hostile_source(registry.url, signature_profile="openg2p"):
            with self.assertRaises(DCISignatureError), DCIClient(self.crvs, self.env) as client:
                client.search_by_id("BRN", "BR-2024-0042")
            result = self.crvs.test_connection()
            self.assertNotIn("Unexpected", result["params"]["message"])

    # item 9: a total deadline

    def attack_slow_drip(self):
        for headers_first in (True, False):
            with (
                HostileRegistry(lambda c, p, b, r, h=headers_first: drip(c, p, b, r, headers_first=h)) as registry,
                self.hostile_source(registry.url, timeout=3),
            ):
                with DCIClient(self.crvs, self.env) as client:
                    seconds, error = deadline_seconds(lambda: client.search_by_id("BRN", "BR-2024-0042"))
                self.assertIsInstance(error, DCITimeoutError)
                self.assertLess(seconds, 4.5, "a 3 s call held by a dripping registry")
                self.crvs.timeout = 2
                seconds, error = deadline_seconds(self.crvs.test_connection)
                self.assertIsNone(error)
                self.assertLess(seconds, 3.5, "a 2 s Test Connection held by a dripping registry")
                self.assertEqual(self.crvs.state, "error")
                self.assertNotIn("Unexpected", self.crvs.last_error)

    # item 15: decompressed size, token lifetime, verify_ssl

    def attack_gzip_bomb(self):
        bomb = gzip.compress(b"\0" * (128 * MIB), compresslevel=9)

        def reply(connection, _path, _body, _registry):
            send(connection, bomb, headers={"Content-Encoding": "gzip"})

        with HostileRegistry(reply) as registry, self.hostile_source(registry.url, max_response_kb=1024):
            tracemalloc.start()
            try:
                with self.assertRaises(DCIProtocolError), DCIClient(self.crvs, self.env) as client:
                    client.search_by_id("BRN", "BR-2024-0042")
                _current, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
        self.assertLess(peak, 8 * MIB, f"a {len(bomb)} byte gzip body inflated in memory")

    def attack_token_lifetime_is_capped(self):
        answers = iter(
            [
                b'{"access_token": "t", "token_type": "Bearer", "expires_in": 1000000000000000000}',
                b'{"access_token": "t", "token_type": "Bearer", "expires_in": 1e999}',
            ]
        )

        with (
            HostileRegistry(lambda connection, *_args: send(connection, next(answers))) as registry,
            Transport(registry.url, timeout=3) as transport,
        ):
            token = oauth.request_token(transport, registry.url + "/token", "id", "secret")
            self.assertLessEqual(token.expires_at, time.time() + oauth.MAX_LIFETIME)
            with self.assertRaises(DCIAuthenticationError):
                oauth.request_token(transport, registry.url + "/token", "id", "secret")

    def attack_verify_ssl_off_warns(self):
        with self.assertLogs("odoo.addons.spp_dci_client.services.transport", logging.WARNING) as logs:
            Transport(f"https://unverified-{E.new_id()}.example", timeout=1, verify=False).close()
        self.assertIn("not verified", logs.output[0])
        arch = self.env["spp.dci.data.source"].get_view(view_type="form")["arch"]
        self.assertIn('name="verify_ssl_off"', arch)

    # item 17: DCIError where UserError was, and no clash with Odoo's http_status

    def attack_revoked_key_and_unknown_code(self):
        key = self.crvs.signing_key_id
        with self.configured(self.crvs, registry_public_key=self.sim.public_key_pem, signature_profile="dci_cavage"):
            key.sudo().write({"state": "revoked"})
            try:
                status, body = self.post(self.notify())
                self.assertEqual((status, body["message"]["ack_status"]), (200, "ERR"))
                result = self.crvs.test_connection()
                self.assertNotIn("Unexpected", result["params"]["message"])
            finally:
                key.sudo().write({"state": "active"})
        with self.assertRaises(DCIConfigurationError):
            self.env["spp.dci.data.source"].get_by_code("no_such_source")
        error = DCIRejectedError("x", response_status=503)
        self.assertNotIn("http_status", vars(error))
        self.assertEqual((error.http_status, error.response_status), (422, 503))
        self.assertTrue(issubclass(DCIConfigurationError, DCIError))

    # item 18: what is not idempotent is not repeated

    def attack_non_idempotent_calls_are_not_repeated(self):
        def drop(connection, *_args):
            connection.shutdown(socket.SHUT_RDWR)

        for name, respond, expected in (
            ("dropped", drop, DCIConnectionError),
            ("502", lambda connection, *_args: send(connection, b"{}", 502), DCIRejectedError),
        ):
            with (
                self.subTest(answer=name),
                HostileRegistry(respond) as registry,
                self.hostile_source(registry.url, our_callback_uri=self.base_url() + "/dci/callback"),
                DCIClient(self.crvs, self.env) as client,
            ):
                for method, args in (
                    ("subscribe", ("live_birth",)),
                    ("unsubscribe", (["code-1"],)),
                    ("search_async", ("idtype-value", {"type": "BRN", "value": "B-1"})),
                ):
                    before = len(registry.requests)
                    with self.assertRaises(expected):
                        getattr(client, method)(*args)
                    self.assertEqual(len(registry.requests) - before, 1, f"{method} was sent twice")
                before = len(registry.requests)
                with self.assertRaises(expected):
                    client.search_by_id("BRN", "BR-2024-0042")
                self.assertEqual(len(registry.requests) - before, 3, "an idempotent search is retried")
