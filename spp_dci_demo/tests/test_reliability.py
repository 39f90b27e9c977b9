"""Reliability and security across the suite: faults, access to secrets, load.

Every fault is produced for real (the simulator's fault injection, closed
ports, unanswering addresses, a TLS server with an untrusted certificate)
and sent through the three services; each case checks the exact typed error
(or the documented recovery) and that nothing was left in a wrong state.
"""

import datetime
import ipaddress
import json
import os
import ssl
import tempfile
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from dci_simulator import SimulatorServer

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tests.common import release_test_lock

from odoo.addons.spp_dci_client.services import envelope as E
from odoo.addons.spp_dci_client.services.errors import (
    DCIAuthenticationError,
    DCIConfigurationError,
    DCIConnectionError,
    DCIProtocolError,
    DCIRejectedError,
    DCISignatureError,
    DCITimeoutError,
)
from odoo.addons.spp_dci_client.tests.common import registrant, unanswering_url
from odoo.addons.spp_dci_client_crvs.services.crvs_service import CRVSService
from odoo.addons.spp_dci_client_dr.services.dr_service import DRService
from odoo.addons.spp_dci_client_ibr.services.ibr_service import IBRService

from .security_faults import SecurityFaults
from .test_enrollment import DemoCase

TOKEN_PATH = "/oauth2/client/token"


def tls_server(registry):
    """The simulator behind TLS with a self-signed certificate nobody trusts."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    folder = tempfile.mkdtemp()
    cert_file, key_file = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    with open(cert_file, "wb") as handle:
        handle.write(certificate.public_bytes(serialization.Encoding.PEM))
    with open(key_file, "wb") as handle:
        handle.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    server = SimulatorServer(registry)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server._server.socket = context.wrap_socket(server._server.socket, server_side=True)
    return server


def readable(records, name):
    """What a user gets from each way of reading a field (refusals yield nothing)."""
    for operation in (
        lambda: records.search_read([], [name]),
        lambda: records.search([]).read([name]),
        lambda: records.search([]).export_data([name])["datas"],
        lambda: records.formatted_read_group([], [name], ["__count"]),
    ):
        try:
            yield operation()
        except (AccessError, UserError):
            continue


@tagged("post_install", "-at_install")
class TestReliability(SecurityFaults, DemoCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.crvs = cls.env["spp.dci.data.source"].get_by_code("crvs_main")
        cls.ibr = cls.env["spp.dci.data.source"].get_by_code("ibr_main")
        cls.dr = cls.env["spp.dci.data.source"].get_by_code("dr_main")
        cls.partner = registrant(cls.env, ("BRN", "BR-2024-0045"), ("UIN", "UIN-200000045"))

    def setUp(self):
        super().setUp()
        self.home = {source: source.base_url for source in (self.crvs, self.ibr, self.dr)}
        for source in (self.crvs, self.ibr, self.dr):
            source.clear_oauth2_token_cache()

    def state(self):
        """What a fault must never change: checks, cache, outcomes."""
        self.env.invalidate_all()
        request = self.requests["santos"]
        cache = self.env["spp.dci.disability.status"].search([("partner_id", "=", self.partner.id)])
        return {
            "verified_checks": self.env["spp.dci.demo.check"].search_count([("outcome", "=", "verified")]),
            "ibr_checks": self.env["spp.dci.ibr.check"].search_count([("partner_id", "=", self.partner.id)]),
            "dr_cache": cache.read(["last_sync", "is_pwd", "score_mobility"]) if cache else [],
            "request": (request.state, request.birth_outcome),
        }

    def run_services(self, expected, code=None):
        """Each service call must raise ``expected`` (with ``code``) and leave the state as it was."""
        calls = {
            "crvs": lambda: CRVSService(self.env, "crvs_main").verify_birth("BRN", "BR-2024-0042"),
            "ibr": lambda: IBRService(self.ibr, self.env).check_duplication(self.partner),
            "dr": lambda: DRService(self.env, "dr_main").get_disability_status(self.partner),
        }
        before = self.state()
        for name, call in calls.items():
            raised = None
            try:
                call()
            except Exception as error:
                raised = error
            self.assertIsInstance(raised, expected, f"{name}: {raised!r}")
            if code:
                self.assertEqual(raised.code, code, name)
        self.requests["santos"].action_verify_birth()
        self.assertEqual(self.requests["santos"].birth_outcome, "error", "a failed check is recorded as an error")
        after = self.state()
        lost = (
            int(after["verified_checks"] != before["verified_checks"])
            + int(after["ibr_checks"] != before["ibr_checks"])
            + int(after["dr_cache"] != before["dr_cache"])
        )
        self.assertEqual(after["request"][0], before["request"][0])
        return lost

    def call_each_service_once(self):
        CRVSService(self.env, "crvs_main").verify_birth("BRN", "BR-2024-0042")
        IBRService(self.ibr, self.env).search_beneficiary("BRN", "BR-2024-0045")
        DRService(self.env, "dr_main").get_functional_assessment("BRN", "BR-2024-0045")

    def point(self, **values):
        for source in (self.crvs, self.ibr, self.dr):
            role = source.dci_demo_role
            source.write(
                {key: value.format(role=role) if isinstance(value, str) else value for key, value in values.items()}
            )

    def test_faults(self):
        with_state = [self.service_faults(), self.connect_timeout_fault(), self.tls_fault()]
        counts = [*with_state, self.recoveries(), self.callback_faults(), self.security_faults()]
        tried, handled = sum(count[0] for count in counts), sum(count[1] for count in counts)
        lost = sum(count[2] for count in with_state)
        print(f"FAULTS tried={tried} handled={handled} lost={lost}", flush=True)  # pylint: disable=print-used
        self.assertEqual((handled, lost), (tried, 0))
        self.assertGreaterEqual(tried, 20)

    def restore(self, **values):
        """Point the three sources home again, with ``values`` (the settings a fault changed) reset."""
        for source, url in self.home.items():
            source.write(dict(values, base_url=url))

    def service_fault_cases(self):
        """(name, arrange, expected error, expected code) of each fault the registry or network produces."""
        return [
            (
                "connection refused",
                lambda: self.point(base_url="http://127.0.0.1:9/{role}", max_attempts=2),
                DCIConnectionError,
                None,
            ),
            (
                "DNS failure",
                lambda: self.point(base_url="https://registry.invalid/{role}", max_attempts=1),
                DCIConnectionError,
                None,
            ),
            (
                "read timeout",
                lambda: (self.point(timeout=1, max_attempts=1), self.sim.faults.add("latency", seconds=2, times=None)),
                DCITimeoutError,
                None,
            ),
            ("500", lambda: self.sim.faults.add("status", status=500, times=None), DCIRejectedError, None),
            ("502", lambda: self.sim.faults.add("status", status=502, times=None), DCIRejectedError, None),
            ("503", lambda: self.sim.faults.add("status", status=503, times=None), DCIRejectedError, None),
            (
                "429 exhausted",
                lambda: self.sim.faults.add("status", status=429, retry_after=0, times=None),
                DCIRejectedError,
                "err.request.too_many_requests",
            ),
            (
                "token endpoint down",
                lambda: self.sim.faults.add("status", path=TOKEN_PATH, status=503, times=None),
                DCIAuthenticationError,
                None,
            ),
            ("token rejected", lambda: self.sim.faults.add("token_reject", times=None), DCIAuthenticationError, None),
            ("malformed JSON", lambda: self.sim.faults.add("malformed_json", times=None), DCIProtocolError, None),
            ("HTML error page", lambda: self.sim.faults.add("html", times=None), DCIProtocolError, None),
            ("empty body", lambda: self.sim.faults.add("empty", times=None), DCIProtocolError, None),
            (
                "huge body",
                lambda: (self.point(max_response_kb=256), self.sim.faults.add("huge", bytes=1024 * 1024, times=None)),
                DCIProtocolError,
                None,
            ),
            (
                "header rjct",
                lambda: self.sim.faults.add("header_rjct", code="rjct.version.invalid", times=None),
                DCIRejectedError,
                "rjct.version.invalid",
            ),
            (
                "item rjct",
                lambda: self.sim.faults.add("item_rjct", code="rjct.search.too_many_records_found", times=None),
                DCIRejectedError,
                "rjct.search.too_many_records_found",
            ),
            (
                "reference_id mismatch",
                lambda: self.sim.faults.add("wrong_reference", times=None),
                DCIProtocolError,
                "rjct.reference_id.invalid",
            ),
            (
                "missing signature",
                lambda: self.sim.faults.add("no_signature", times=None),
                DCISignatureError,
                "err.signature.missing",
            ),
            (
                "invalid signature",
                lambda: self.sim.faults.add("bad_signature", times=None),
                DCISignatureError,
                "err.signature.invalid",
            ),
            (
                "expired signature",
                lambda: self.sim.faults.add("expired_signature", times=None),
                DCISignatureError,
                "err.signature.invalid",
            ),
            (
                "unknown kid",
                lambda: self.sim.faults.add("unknown_kid", times=None),
                DCISignatureError,
                "err.signature.invalid",
            ),
            (
                "replayed response",
                lambda: (self.call_each_service_once(), self.sim.faults.add("replay", times=None)),
                DCISignatureError,
                "rjct.message_id.duplicate",
            ),
        ]

    def service_faults(self):
        """Each case: arranged, then every service must raise the typed error and lose nothing."""
        tried = handled = lost = 0
        for name, arrange, expected, code in self.service_fault_cases():
            tried += 1
            with self.subTest(fault=name):
                arrange()
                try:
                    lost += self.run_services(expected, code)
                    handled += 1
                finally:
                    self.sim.faults.clear()
                    self.restore(timeout=10, max_attempts=3, max_response_kb=20480)
        return tried, handled, lost

    def connect_timeout_fault(self):
        handled = lost = 0
        with self.subTest(fault="connect timeout"), unanswering_url() as url:
            self.point(base_url=url + "/{role}", timeout=1, max_attempts=1)
            lost = self.run_services(DCITimeoutError)
            handled = 1
        self.restore(timeout=10, max_attempts=3)
        return 1, handled, lost

    def tls_fault(self):
        handled = lost = 0
        with self.subTest(fault="TLS certificate failure"):
            server = tls_server(self.sim).start()
            try:
                self.point(base_url=f"https://127.0.0.1:{server.port}" + "/{role}", verify_ssl=True)
                lost = self.run_services(DCIConnectionError)
                handled = 1
            finally:
                server.stop()
                self.restore()
        return 1, handled, lost

    def recoveries(self):
        """A 429 with Retry-After and a 401 mid-session are recovered from: the call succeeds."""
        tried = handled = 0
        for name, fault in (
            ("429 with Retry-After", {"kind": "status", "status": 429, "retry_after": 1}),
            ("401 mid-session", {"kind": "expire_tokens"}),
        ):
            tried += 1
            with self.subTest(recovery=name):
                CRVSService(self.env, "crvs_main").verify_birth("BRN", "BR-2024-0042")
                self.sim.faults.add(fault.pop("kind"), **fault)
                birth = CRVSService(self.env, "crvs_main").verify_birth("BRN", "BR-2024-0042")
                self.assertEqual(birth["birth_date"], "2024-03-15")
                handled += 1
        return tried, handled

    def callback_faults(self):
        """Forged, unknown and duplicate callbacks are refused and change nothing."""
        tried = handled = 0
        with self.allow_requests(all_requests=True):
            ack = CRVSService(self.env, "crvs_main").client.search_async(
                "idtype-value", {"type": "BRN", "value": "BR-2024-0042"}
            )
            self.env.flush_all()
            self.env["spp.dci.transaction"]._wait_for_callbacks([ack["transaction_id"]], 10)
        transaction = (
            self.env["spp.dci.transaction"]
            .sudo()
            .search([("transaction_id", "=", ack["transaction_id"]), ("direction", "=", "out")])
        )
        stored = transaction.result_stored
        message = {"transaction_id": ack["transaction_id"], "correlation_id": "x", "search_response": []}
        head = {
            "version": "1.0.0",
            "message_id": E.new_id(),
            "message_ts": E.timestamp(),
            "action": "on-search",
            "status": "succ",
            "sender_id": "crvs.simulator",
            "total_count": 1,
        }
        forged = {
            "header": head,
            "message": message,
            "signature": 'namespace="dci", kidId="a|b|ed25519", '
            'algorithm="ed25519", created="1", expires="2", headers="(created) (expires) digest", '
            'signature="AAAA"',
        }
        unknown = dict(forged, message=dict(message, transaction_id="not-ours"))
        for name, envelope, status, code in (
            ("forged signature", forged, 401, None),
            ("unknown transaction", unknown, 200, "err.request.not_found"),
        ):
            tried += 1
            with self.subTest(callback=name):
                response = self.url_open(
                    "/dci/callback", data=json.dumps(envelope), headers={"Content-Type": "application/json"}
                )
                self.assertEqual(response.status_code, status)
                if code:
                    self.assertEqual(response.json()["message"]["error"]["code"], code)
                handled += 1
        tried += 1
        with self.subTest(callback="duplicate"):
            self.assertEqual(transaction.state, "done")
            signed = self.sim._signed(dict(head, message_id=E.new_id()), dict(message, search_response=[]), "spec")
            response = self.url_open(
                "/dci/callback",
                data=json.dumps(signed.envelope),
                headers={"Content-Type": "application/json", **signed.http_headers},
            )
            self.assertEqual(response.json()["message"]["error"]["code"], "rjct.message_id.duplicate")
            handled += 1
        transaction.invalidate_recordset()
        self.assertEqual(transaction.result_stored, stored)
        return tried, handled

    def test_secret_fields_are_out_of_reach(self):
        self.crvs.write({"auth_type": "bearer", "bearer_token": "bearer-plaintext"})
        self.crvs.write({"auth_type": "oauth2"})
        CRVSService(self.env, "crvs_main").verify_birth("BRN", "BR-2024-0042")
        fields = {
            "spp.dci.data.source": [
                "bearer_token",
                "bearer_token_stored",
                "oauth2_client_secret",
                "oauth2_client_secret_stored",
            ],
            "spp.dci.oauth.token": ["access_token_stored"],
            "spp.dci.signing.key": ["private_key_stored"],
            "spp.dci.transaction": ["result_stored"],
            "spp.dci.crvs.event": ["raw_record"],
            "spp.dci.disability.status": ["raw_data"],
        }
        secrets_in_db = [
            self.env["spp.dci.data.source"].sudo().search([]).mapped("bearer_token_stored"),
            self.env["spp.dci.signing.key"].sudo().search([]).mapped("private_key_stored"),
        ]
        plain = new_test_user(self.env, "plain_employee", groups="base.group_user")
        dci_user = new_test_user(self.env, "dci_officer", groups="base.group_user,spp_dci_client.group_dci_user")
        leaks = count = 0
        for model, names in fields.items():
            for name in names:
                count += 1
                for user in (plain, dci_user):
                    for result in readable(self.env[model].with_user(user), name):
                        dump = json.dumps(result, default=str)
                        if (
                            any(value and str(value) in dump for group in secrets_in_db for value in group)
                            or "bearer-plaintext" in dump
                            or "PRIVATE KEY" in dump
                        ):
                            leaks += 1
        for user in (plain, dci_user):
            with self.assertRaises(AccessError):
                self.env["spp.dci.transaction"].with_user(user).search_read([], ["transaction_id"])
        print(f"ACCESS leaks={leaks} fields={count}", flush=True)  # pylint: disable=print-used
        self.assertEqual(leaks, 0)

    def test_bad_input_to_every_service_method(self):
        """Garbage never reaches the registry: each call fails with a clear error before sending."""
        crvs, dr = CRVSService(self.env, "crvs_main"), DRService(self.env, "dr_main")
        ibr = IBRService(self.ibr, self.env)
        calls = [
            crvs.verify_birth,
            crvs.check_death,
            dr.get_functional_assessment,
            ibr.search_beneficiary,
            ibr.is_enrolled,
            lambda kind, value: crvs.verify_births([(kind, value)]),
        ]
        bad = [
            ("BRN", ""),
            ("BRN", "   "),
            ("", "BR-2024-0042"),
            ("BRN", "x" * 5000),
            ("BRN", None),
            ("BRN", ["BR-2024-0042"]),
            ("BRN", {"$ne": ""}),
            ("BRN", "BR\x00-2024"),
            ("BRN", True),
            ("BRN'; DROP TABLE res_partner; --", "1"),
            ("<script>", "1"),
            (None, "1"),
        ]
        before = len(self.sim.received)
        for call in calls:
            for kind, value in bad:
                with (
                    self.subTest(call=call, kind=kind, value=str(value)[:20]),
                    self.assertRaisesRegex(DCIConfigurationError, "Invalid"),
                ):
                    call(kind, value)
        self.assertEqual(len(self.sim.received), before, "no request was sent")
        with self.assertRaises(ValidationError):
            registrant(self.env, ("BRN", "BR\x07-1"))

    def test_load_with_token_expiry(self):
        """8 threads x 200 calls; the token expires in the middle: every call answered, one renewal."""
        service = CRVSService(self.env, "crvs_main")
        before = self.sim.stats["token_requests"]
        answers, errors = [], []
        lock = threading.Lock()

        def work():
            for _ in range(200):
                try:
                    birth = service.verify_birth("BRN", "BR-2024-0042")
                except Exception as error:
                    errors.append(error)
                    continue
                with lock:
                    answers.append(birth["birth_date"])
                    if len(answers) == 800:
                        self.sim.tokens.clear()

        threads = [threading.Thread(target=work) for _ in range(8)]
        with release_test_lock():
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        service.close()
        self.assertEqual(errors, [])
        self.assertEqual(answers, ["2024-03-15"] * 1600)
        self.assertEqual(self.sim.stats["token_requests"] - before, 2, "one token, then one renewal")
