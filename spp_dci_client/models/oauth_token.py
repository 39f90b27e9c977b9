import logging
import threading
import time

from psycopg2 import errors as pg_errors

from odoo import SUPERUSER_ID, api, fields, models

from ..services import secrets
from ..services.errors import DCIAuthenticationError
from ..services.oauth import Token, request_token

_logger = logging.getLogger(__name__)

RENEW_MARGIN = 30
LOCK_NAMESPACE = 0x5D0C1
_memory = {}
_memory_lock = threading.Lock()
_fetch_locks = {}


def _fetch_lock(key):
    with _memory_lock:
        return _fetch_locks.setdefault(key, threading.Lock())


class DciOauthToken(models.Model):
    """The OAuth2 access token of each data source, shared by every worker.

    Each process keeps the token in memory; on a miss it opens its own cursor,
    takes a transaction-level advisory lock on the data source, and either
    reads the token another worker stored or requests a new one. So concurrent
    workers request one token, and the caller's transaction is never written
    to. data_source_id is a plain integer so that this cursor never waits on
    the caller's uncommitted rows.
    """

    _name = "spp.dci.oauth.token"
    _description = "DCI OAuth2 Access Token"
    _log_access = False

    data_source_id = fields.Integer(required=True, index=True)
    access_token_stored = fields.Char(groups="base.group_system")
    expires_at = fields.Float(help="Expiry, in seconds since the epoch.")

    _data_source_unique = models.Constraint("UNIQUE(data_source_id)", "One token per data source.")

    @api.model
    def _token_provider(self, config):
        return TokenProvider(self.env.registry, self.env.cr.dbname, config)

    @api.model
    def _forget(self, data_source_ids):
        with _memory_lock:
            for key in [key for key in _memory if key[0] == self.env.cr.dbname and key[1] in data_source_ids]:
                del _memory[key]
        self.search([("data_source_id", "in", data_source_ids)]).unlink()


class TokenProvider:
    """Hands out the data source's token; safe to share between threads.

    It never touches the caller's environment: the stored token is read and
    written through cursors of its own.
    """

    def __init__(self, registry, dbname, config):
        self.registry = registry
        self.key = (dbname, config.data_source_id)
        self.config = config

    @staticmethod
    def _usable(token, rejected):
        return token and token.access_token != rejected and token.expires_at - RENEW_MARGIN > time.time()

    def get(self, transport, rejected=None):
        token = _memory.get(self.key)
        if self._usable(token, rejected):
            return token.access_token
        with _fetch_lock(self.key):
            token = _memory.get(self.key)
            if not self._usable(token, rejected):
                token = self._renew(transport, rejected)
                _memory[self.key] = token
        return token.access_token

    def _renew(self, transport, rejected):
        """Renew under an advisory lock taken in a cursor of its own, before the cursor that reads the
        stored token starts: that one's snapshot then sees a token another worker stored meanwhile."""
        config, settings = self.config, self.config.oauth2
        with self.registry.cursor() as lock_cr:
            lock_cr.execute("SET LOCAL lock_timeout = %s", (f"{int(transport.timeout * 1000) + 5000}ms",))
            try:
                lock_cr.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_NAMESPACE, config.data_source_id))
            except pg_errors.LockNotAvailable as error:
                raise DCIAuthenticationError(
                    api.Environment(lock_cr, SUPERUSER_ID, {})._(
                        "Another worker is renewing the token of %s; try again.", config.code)
                ) from error
            with self.registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                tokens = env["spp.dci.oauth.token"]
                row = tokens.search([("data_source_id", "=", config.data_source_id)], limit=1)
                stored = Token(secrets.decrypt(row.access_token_stored), row.expires_at) \
                    if row.access_token_stored else None
                if self._usable(stored, rejected):
                    return stored
                started = time.monotonic()
                token = request_token(transport, settings.token_url, settings.client_id, settings.client_secret,
                                      settings.scope, settings.style)
                _logger.info("DCI %s: new OAuth2 token in %d ms, valid %d s", config.code,
                             (time.monotonic() - started) * 1000, token.expires_at - time.time())
                values = {"access_token_stored": secrets.encrypt(token.access_token),
                          "expires_at": token.expires_at}
                if row:
                    row.write(values)
                else:
                    tokens.create(dict(values, data_source_id=config.data_source_id))
        return token
