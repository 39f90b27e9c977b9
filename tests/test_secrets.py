"""Secrets at rest and in memory: key rotation, no key, reprs, the simulator's own key."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from dci_simulator import SimulatedRegistry, simulator_private_key

from odoo.addons.spp_dci_client.services import secrets
from odoo.addons.spp_dci_client.services.config import OAuth2Settings
from odoo.addons.spp_dci_client.services.errors import DCIConfigurationError
from odoo.addons.spp_dci_client.services.oauth import Token
from odoo.addons.spp_dci_client.services.signing import public_jwk

REPO = Path(__file__).resolve().parent.parent
ODOO_SRC = os.environ.get("ODOO_SRC", "/opt/odoo")


@pytest.fixture
def key(monkeypatch):
    def use(value):
        monkeypatch.setenv("SPP_DCI_SECRET_KEY", value)

    monkeypatch.delenv("SPP_DCI_ALLOW_PLAIN_SECRETS", raising=False)
    return use


def test_rotation_keeps_old_values_readable_then_moves_them(key):
    key("old")
    stored = secrets.encrypt("client-secret")
    key("new,old")
    assert secrets.decrypt(stored) == "client-secret"
    rotated = secrets.rotate(stored)
    key("new")
    assert secrets.decrypt(rotated) == "client-secret"
    with pytest.raises(DCIConfigurationError):
        secrets.decrypt(stored)
    key("old")
    with pytest.raises(DCIConfigurationError):
        secrets.decrypt(rotated)


def test_first_key_encrypts(key):
    key("k1, k2")
    stored = secrets.encrypt("v")
    key("k1")
    assert secrets.decrypt(stored) == "v"


def test_no_key_refuses_secrets_except_in_development(key, monkeypatch):
    key("")
    with pytest.raises(DCIConfigurationError, match=r"dci_secret_key.*SPP_DCI_SECRET_KEY"):
        secrets.encrypt("secret")
    assert secrets.encrypt("") is False
    monkeypatch.setenv("SPP_DCI_ALLOW_PLAIN_SECRETS", "1")
    assert secrets.decrypt(secrets.encrypt("secret")) == "secret"


def test_forged_ciphertext_is_refused(key):
    key("mine")
    forged = secrets.ENCRYPTED + Fernet(Fernet.generate_key()).encrypt(b"x").decode()
    with pytest.raises(DCIConfigurationError):
        secrets.decrypt(forged)
    with pytest.raises(DCIConfigurationError):
        secrets.rotate(forged)


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://registry.example.org/token", True),
        ("http://127.0.0.1:8069/x", True),
        ("http://localhost:8069/x", True),
        ("http://[::1]:8069/x", True),
        ("http://127.9.9.9/x", True),
        ("http://registry.example.org/token", False),
        ("http://10.0.0.1/token", False),
        ("http://127.0.0.1.evil.example/x", False),
        ("http://localhost@evil.example/x", False),
    ],
)
def test_plain_http_only_to_loopback(url, allowed):
    if allowed:
        secrets.check_destination(url, allow_plain_http=False)
    else:
        with pytest.raises(DCIConfigurationError):
            secrets.check_destination(url, allow_plain_http=False)
        secrets.check_destination(url, allow_plain_http=True)


def test_reprs_hold_no_secret():
    settings = OAuth2Settings("https://t.example/token", "client", "very-secret-1", None, "client_secret_post")
    token = Token("access-token-2", 0.0)
    assert "very-secret-1" not in repr(settings)
    assert "access-token-2" not in repr(token)
    assert "client" in repr(settings)


def simulator_kid_in_new_process():
    code = (
        "import odoo.addons, sys; [odoo.addons.__path__.append(path) for path in sys.argv[1:]]; "
        "from dci_simulator import SimulatedRegistry; "
        "from odoo.addons.spp_dci_client.services.signing import public_jwk; "
        "print(public_jwk(SimulatedRegistry().signer.private_key.public_key())['kid'])"
    )
    env = dict(os.environ, PYTHONPATH=ODOO_SRC)
    paths = [str(REPO), str(Path(ODOO_SRC, "addons"))]  # ours, and Odoo's (queue_job imports some)
    return subprocess.run(
        [sys.executable, "-c", code, *paths], env=env, capture_output=True, text=True, check=True, timeout=120
    ).stdout.strip()


def test_simulator_key_is_random_per_process():
    constant_kid = public_jwk(simulator_private_key(b"spp-dci-simulator").public_key())["kid"]
    here = public_jwk(SimulatedRegistry().signer.private_key.public_key())["kid"]
    first, second = simulator_kid_in_new_process(), simulator_kid_in_new_process()
    assert len({constant_kid, here, first, second}) == 4
