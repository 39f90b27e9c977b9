"""Secrets at rest: Fernet encryption with keys from the server configuration.

The keys come from the ``dci_secret_key`` option of the Odoo configuration
file or the SPP_DCI_SECRET_KEY environment variable, never from the database:
one key, or several separated by commas to rotate them (the first encrypts,
every one decrypts; tools/rotate_secret_key.py re-encrypts what is stored).
Any string is accepted: each Fernet key is derived from it with SHA-256.
Without a key, secrets are refused, unless ``dci_allow_plain_secrets`` (or
SPP_DCI_ALLOW_PLAIN_SECRETS=1) marks a development server: values are then
stored with a ``plain:`` prefix.
"""

import base64
import hashlib
import ipaddress
import os
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from odoo.tools import config

from .errors import DCIConfigurationError, _lt

ENCRYPTED = "fernet:"
PLAIN = "plain:"
MASK = "********"
LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


def _fernet():
    setting = os.environ.get("SPP_DCI_SECRET_KEY") or config.get("dci_secret_key") or ""
    secrets = [secret.strip() for secret in setting.split(",") if secret.strip()]
    if not secrets:
        return None
    return MultiFernet(
        [Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest())) for secret in secrets]
    )


def is_protected():
    return _fernet() is not None


def plain_secrets_allowed():
    """Development mode: store secrets unencrypted when the server has no key."""
    setting = os.environ.get("SPP_DCI_ALLOW_PLAIN_SECRETS") or config.get("dci_allow_plain_secrets")
    return str(setting or "").strip().lower() in ("1", "true", "yes")


def encrypt(value):
    """The stored form of a secret; False for an empty one."""
    if not value:
        return False
    fernet = _fernet()
    if fernet is None:
        if not plain_secrets_allowed():
            raise DCIConfigurationError(
                _lt(
                    "Secrets cannot be stored: the server has no encryption key. Set dci_secret_key in the Odoo "
                    "configuration file or SPP_DCI_SECRET_KEY in the server's environment."
                )
            )
        return PLAIN + value
    return ENCRYPTED + fernet.encrypt(value.encode()).decode()


def decrypt(stored):
    """The plaintext of a stored secret; raises DCIConfigurationError if it cannot be read."""
    if not stored:
        return None
    if stored.startswith(PLAIN):
        return stored[len(PLAIN) :]
    fernet = _fernet()
    if not stored.startswith(ENCRYPTED) or fernet is None:
        raise DCIConfigurationError(
            _lt("A stored secret cannot be decrypted: the server's dci_secret_key is missing or was changed.")
        )
    try:
        return fernet.decrypt(stored[len(ENCRYPTED) :].encode()).decode()
    except InvalidToken as error:
        raise DCIConfigurationError(
            _lt("A stored secret cannot be decrypted: the server's dci_secret_key is missing or was changed.")
        ) from error


def rotate(stored):
    """The stored secret encrypted again with the first configured key (plain values are encrypted)."""
    if not stored:
        return stored
    fernet = _fernet()
    if fernet is None:
        raise DCIConfigurationError(_lt("No dci_secret_key is configured: there is no key to rotate to."))
    if stored.startswith(PLAIN):
        return encrypt(stored[len(PLAIN) :])
    try:
        return ENCRYPTED + fernet.rotate(stored[len(ENCRYPTED) :].encode()).decode()
    except InvalidToken as error:
        raise DCIConfigurationError(
            _lt("A stored secret cannot be decrypted: the server's dci_secret_key is missing or was changed.")
        ) from error


def is_loopback(url):
    host = (urlsplit(url).hostname or "").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_destination(url, allow_plain_http):
    """Refuse to send a credential to ``url`` over plain http, except to loopback or when allowed."""
    if urlsplit(url).scheme == "https" or allow_plain_http or is_loopback(url):
        return
    raise DCIConfigurationError(
        _lt(
            'Credentials are not sent over plain http to %s: use https, or tick "Send credentials over plain '
            'HTTP" on the data source.',
            urlsplit(url).hostname or url,
        )
    )
