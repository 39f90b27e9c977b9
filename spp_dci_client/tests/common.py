"""Shared set-up: a real simulated registry on loopback and a data source pointing at it."""

import contextlib
import functools
import socket

from dci_simulator import Population, SimulatedRegistry, SimulatorServer

from odoo.tests import HttpCase, TransactionCase

from ..services.signing import load_public_key
from .spec import request_errors

CLIENT_ID = "openspp-test"
CLIENT_SECRET = "s3cret-Value-42"
SENDER_ID = "openspp.test"


@functools.cache
def population():
    return Population(size=600)


def registrant(env, *identifiers, name="Registrant"):
    """The partner holding these identifiers (created, or completed if one already holds some).

    Identifiers are unique per type and value, and other addons' data (the
    demo's registrants) may hold the ones a test needs.
    """
    existing = env["spp.dci.partner.identifier"].search(
        [
            ("identifier_type", "in", [kind for kind, _value in identifiers]),
            ("value", "in", [value for _kind, value in identifiers]),
        ]
    )
    existing = existing.filtered(lambda identifier: (identifier.identifier_type, identifier.value) in identifiers)
    partner = existing[:1].partner_id or env["res.partner"].create({"name": name})
    held = {(identifier.identifier_type, identifier.value) for identifier in partner.dci_identifier_ids}
    partner.write(
        {
            "dci_identifier_ids": [
                (0, 0, {"identifier_type": kind, "value": value})
                for kind, value in identifiers
                if (kind, value) not in held
            ]
        }
    )
    return partner


@contextlib.contextmanager
def unanswering_url():
    """A loopback URL whose connect never completes: the listen backlog is full, so SYNs are dropped."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    fillers = []
    try:
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(server.getsockname())
            fillers.append(filler)
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        for filler in fillers:
            filler.close()
        server.close()


class SimulatorMixin:
    """Starts a simulated registry for the class; ``cls.sim`` is the registry, ``cls.server`` its server.

    The registry knows our public keys through ``cls.client_keys`` (kid -> key),
    filled by make_signing_key: its server threads must not use the test's
    environment.
    """

    registry_role = "crvs"

    @classmethod
    def start_simulator(cls, **options):
        options.setdefault("clients", {CLIENT_ID: CLIENT_SECRET})
        cls.client_keys = {}
        options.setdefault("client_keys", cls.client_keys)
        options.setdefault("require_signature", True)
        options.setdefault("keep_requests", True)
        options.setdefault("request_validator", request_errors)
        cls.sim = SimulatedRegistry(population(), **options)
        cls.server = SimulatorServer(cls.sim).start()
        cls.addClassCleanup(cls.server.stop)

    @classmethod
    def make_signing_key(cls, algorithm="ed25519", name="Test signing key"):
        key = cls.env["spp.dci.signing.key"].create({"name": name, "algorithm": algorithm, "rsa_bits": "2048"})
        key.action_generate()
        key.action_activate()
        cls.client_keys[key.kid] = load_public_key(key.public_key_pem)
        return key

    @classmethod
    def make_data_source(cls, **values):
        role = values.pop("role", cls.registry_role)
        defaults = {
            "name": f"Simulated {role}",
            "code": f"test_{role}",
            "registry_type": {
                "crvs": "ns:org:RegistryType:Civil",
                "ibr": "ns:org:RegistryType:IBR",
                "dr": "ns:org:RegistryType:DR",
            }[role],
            "base_url": cls.server.url(role),
            "auth_type": "oauth2",
            "oauth2_client_id": CLIENT_ID,
            "oauth2_client_secret": CLIENT_SECRET,
            "our_sender_id": SENDER_ID,
            "receiver_id": f"{role}.simulator",
            "signing_key_id": cls.signing_key.id,
            "registry_public_key": cls.sim.public_key_pem,
            "signature_policy": "require",
            "timeout": 5,
        }
        defaults.update(values)
        return cls.env["spp.dci.data.source"].create(defaults)


class DCICase(SimulatorMixin, TransactionCase):
    """A TransactionCase whose own-cursor writes (token store, message log) use the test cursor."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry_enter_test_mode_cls()
        cls.start_simulator()
        cls.signing_key = cls.make_signing_key()
        cls.data_source = cls.make_data_source()

    def setUp(self):
        super().setUp()
        self.sim.faults.clear()
        self.sim.received.clear()
        self.data_source.clear_oauth2_token_cache()


class CallbackCase(SimulatorMixin, HttpCase):
    """An HttpCase whose data source sends the registry's callbacks to this Odoo server."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_simulator()
        cls.signing_key = cls.make_signing_key()
        cls.data_source = cls.make_data_source(our_callback_uri=cls.base_url() + "/dci/callback")
