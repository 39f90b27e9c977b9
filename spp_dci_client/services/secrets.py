"""Secrets at rest: Fernet encryption with a key from the server configuration.

The key comes from the ``dci_secret_key`` option of the Odoo configuration
file or the SPP_DCI_SECRET_KEY environment variable, never from the database.
Any string is accepted: the Fernet key is derived from it with SHA-256.
Without a key, values are stored with a ``plain:`` prefix and the forms say
that secrets are not protected.
"""

import base64
import hashlib
import os

from cryptography.fernet import Fernet, InvalidToken

from odoo.tools import config

from .errors import DCIConfigurationError, _lt

ENCRYPTED = "fernet:"
PLAIN = "plain:"
MASK = "********"


def _fernet():
    secret = os.environ.get("SPP_DCI_SECRET_KEY") or config.get("dci_secret_key")
    if not secret:
        return None
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()))


def is_protected():
    return _fernet() is not None


def encrypt(value):
    """The stored form of a secret; False for an empty one."""
    if not value:
        return False
    fernet = _fernet()
    if fernet is None:
        return PLAIN + value
    return ENCRYPTED + fernet.encrypt(value.encode()).decode()


def decrypt(stored):
    """The plaintext of a stored secret; raises DCIConfigurationError if it cannot be read."""
    if not stored:
        return None
    if stored.startswith(PLAIN):
        return stored[len(PLAIN):]
    fernet = _fernet()
    if not stored.startswith(ENCRYPTED) or fernet is None:
        raise DCIConfigurationError(
            _lt("A stored secret cannot be decrypted: the server's dci_secret_key is missing or was changed.")
        )
    try:
        return fernet.decrypt(stored[len(ENCRYPTED):].encode()).decode()
    except InvalidToken as error:
        raise DCIConfigurationError(
            _lt("A stored secret cannot be decrypted: the server's dci_secret_key is missing or was changed.")
        ) from error
