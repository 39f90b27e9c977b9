import logging
import threading
import time

import psycopg2
from psycopg2 import errors as pg_errors

from odoo import api, fields, models

from ..services import secrets
from ..services.errors import DCIAuthenticationError, _lt
from ..services.oauth import Token, request_token

_logger = logging.getLogger(__name__)

RENEW_MARGIN = 30  # seconds before expiry a token is renewed, so none expires in flight
# The first key of the token's advisory lock (the data source id is the second): any constant no other
# lock of the database uses; 0x5D0C1 reads "SDCI".
LOCK_NAMESPACE = 0x5D0C1
# The lock is awaited a little longer than the token request holding it may take (its timeout).
LOCK_WAIT_BEYOND_TIMEOUT_MS = 5000
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
        return self.fetch(transport, rejected=rejected)[0]

    def fetch(self, transport, rejected=None, force=False):
        """(access token, whether it was requested now); ``force`` asks the token endpoint in any case."""
        token = _memory.get(self.key)
        if not force and self._usable(token, rejected):
            return token.access_token, False
        with _fetch_lock(self.key):
            token = _memory.get(self.key)
            requested = False
            if force or not self._usable(token, rejected):
                token, requested = self._renew(transport, rejected, force)
                _memory[self.key] = token
        return token.access_token, requested

    def _renew(self, transport, rejected, force):
        """Under the data source's advisory lock: the token another worker stored, or a new one.

        The lock is held by one cursor and the token read and written through
        a second one opened once the lock is granted, so that its snapshot
        includes what the previous holder committed.
        """
        config = self.config
        lock_timeout = f"{int(transport.timeout * 1000) + LOCK_WAIT_BEYOND_TIMEOUT_MS}ms"
        with self.registry.cursor() as lock_cr:
            lock_cr.execute("SET LOCAL lock_timeout = %s", (lock_timeout,))
            try:
                lock_cr.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_NAMESPACE, config.data_source_id))
            except pg_errors.LockNotAvailable as error:
                raise DCIAuthenticationError(
                    _lt("Another worker is renewing the token of %s; try again.", config.code)
                ) from error
            with self.registry.cursor() as cr:
                stored = self._read(cr)
                if not force and self._usable(stored, rejected):
                    return stored, False
                token = self._request(transport)
                self._store(cr, token, lock_timeout)
        return token, True

    def _read(self, cr):
        cr.execute(
            "SELECT access_token_stored, expires_at FROM spp_dci_oauth_token WHERE data_source_id = %s",
            (self.config.data_source_id,),
        )
        row = cr.fetchone()
        return Token(secrets.decrypt(row[0]), row[1]) if row and row[0] else None

    def _request(self, transport):
        settings = self.config.oauth2
        started = time.monotonic()
        token = request_token(
            transport, settings.token_url, settings.client_id, settings.client_secret, settings.scope, settings.style
        )
        _logger.info(
            "DCI %s: new OAuth2 token in %d ms, valid %d s",
            self.config.code,
            (time.monotonic() - started) * 1000,
            token.expires_at - time.time(),
        )
        return token

    def _store(self, cr, token, lock_timeout):
        """Share the token with the other workers; a failure here costs them a token request, nothing more."""
        try:
            with cr.savepoint():
                cr.execute("SET LOCAL lock_timeout = %s", (lock_timeout,))
                cr.execute(
                    """
                    INSERT INTO spp_dci_oauth_token (data_source_id, access_token_stored, expires_at)
                    VALUES (%s, %s, %s)
                    ON CONFLICT (data_source_id)
                    DO UPDATE SET access_token_stored = EXCLUDED.access_token_stored,
                                  expires_at = EXCLUDED.expires_at
                """,
                    (self.config.data_source_id, secrets.encrypt(token.access_token), token.expires_at),
                )
        except psycopg2.Error as error:
            _logger.warning("DCI %s: the new OAuth2 token was not stored (%s)", self.config.code, type(error).__name__)
