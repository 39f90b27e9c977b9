import json
import logging
import time
from datetime import timedelta

import psycopg2

from odoo import api, fields, models
from odoo.tools import SQL, create_index

from ..services import constants as C
from ..services import envelope as E
from ..services import secrets
from ..services.errors import DCICallbackRefused, DCIError, _lt

_logger = logging.getLogger(__name__)

DEFAULT_RETENTION_DAYS = 90
ACTION_LABELS = {
    C.ACTION_SEARCH: _lt("Search"),
    C.ACTION_ON_SEARCH: _lt("Search results"),
    C.ACTION_SUBSCRIBE: _lt("Subscribe"),
    C.ACTION_ON_SUBSCRIBE: _lt("Subscription answer"),
    C.ACTION_UNSUBSCRIBE: _lt("Unsubscribe"),
    C.ACTION_ON_UNSUBSCRIBE: _lt("Unsubscription answer"),
    C.ACTION_NOTIFY: _lt("Event notification"),
    C.ACTION_TXN_STATUS: _lt("Transaction status"),
    C.ACTION_TXN_ON_STATUS: _lt("Transaction status answer"),
}


class DciTransaction(models.Model):
    """One row per DCI message sent or callback received.

    Holds ids, codes and timings only: no identifiers, names or other personal
    data in clear. The result of an async callback is kept encrypted for the
    code that waits for it. Rows are written in their own cursor, so a failed
    call is logged even when the caller's transaction rolls back.
    """

    _name = "spp.dci.transaction"
    _description = "DCI Message Log"
    _order = "id desc"
    _rec_name = "transaction_id"

    data_source_id = fields.Many2one("spp.dci.data.source", index=True, ondelete="set null", readonly=True)
    direction = fields.Selection(
        [("out", "Sent"), ("in", "Callback received")], required=True, default="out", readonly=True
    )
    action = fields.Char(
        string="DCI Action",
        required=True,
        readonly=True,
        help="The action of the DCI message header, e.g. search or on-search.",
    )
    action_label = fields.Char(string="Message", compute="_compute_action_label")
    transaction_id = fields.Char(string="Transaction ID", index=True, readonly=True)
    correlation_id = fields.Char(string="Correlation ID", readonly=True)
    reference_ids = fields.Text(
        string="Reference IDs", readonly=True, help="JSON list of the request items' reference ids."
    )
    item_count = fields.Integer(string="Items", readonly=True)
    state = fields.Selection(
        [
            ("pending", "Waiting for callback"),
            ("done", "Done"),
            ("error", "Error"),
        ],
        string="Status",
        required=True,
        readonly=True,
        index=True,
    )
    error_percent = fields.Integer(
        string="Error Rate (%)",
        readonly=True,
        default=0,
        aggregator="avg",
        help="100 for a message that failed, 0 otherwise: its average over messages is their error rate.",
    )
    http_status = fields.Integer(string="HTTP Status", readonly=True, aggregator=None)
    reason_code = fields.Char(readonly=True, help="The DCI reason or error code the registry gave, or ours.")
    error_type = fields.Char(readonly=True, help="The kind of failure, e.g. DCITimeoutError.")
    duration_ms = fields.Integer(string="Duration (ms)", readonly=True, aggregator="avg")
    user_id = fields.Many2one("res.users", string="Called by", readonly=True, ondelete="set null")
    origin = fields.Char(readonly=True, help="The record the call was made for, as model,id.")
    callback_date = fields.Datetime(string="Callback Received", readonly=True)
    result_stored = fields.Text(groups="base.group_system")

    def init(self):
        create_index(self.env.cr, "spp_dci_transaction_create_date_index", self._table, ["create_date"])
        self.env.cr.execute(
            SQL(
                "UPDATE spp_dci_transaction SET error_percent = 100 "
                "WHERE state = 'error' AND error_percent IS DISTINCT FROM 100"
            )
        )

    @api.depends("action")
    def _compute_action_label(self):
        for message in self:
            label = ACTION_LABELS.get(message.action)
            message.action_label = str(label) if label else message.action

    @api.model
    def _log_message(self, config, uid, values):
        """Record one message before the caller gets its answer; never fails the caller.

        The row is committed in a cursor of its own, so neither the caller's
        rollback nor a killed worker loses it.
        """
        write_log_row(self.env.registry, log_row(config.data_source_id, uid, values))

    def _store_result(self, payload):
        """Keep a callback's message, encrypted, and mark the transaction done."""
        self.ensure_one()
        self.sudo().write(
            {
                "state": "done",
                "error_percent": 0,
                "callback_date": fields.Datetime.now(),
                "result_stored": secrets.encrypt(json.dumps(payload)),
            }
        )

    def _get_result(self):
        """The stored callback message of this transaction (a dict), or None."""
        self.ensure_one()
        stored = self.sudo().result_stored
        return json.loads(secrets.decrypt(stored)) if stored else None

    @api.model
    def _receive_callback(self, envelope, callback_token=None, http_signature=None):
        """Accept one callback envelope; return the correlation id to acknowledge.

        The data source's registry must have signed it (in the body, or in
        ``http_signature``, the HTTP Signature header), or ``callback_token``
        must be the token we issued (see spp.dci.data.source
        _authenticate_callback); that is checked before anything is looked at
        beyond the ids, so an unauthenticated message learns nothing. The
        transaction row is locked while the callback is applied, so two
        workers cannot both apply one.
        """
        head, message = envelope["header"], envelope["message"]
        if head["action"] == C.ACTION_NOTIFY:
            data_source = (
                self.env["spp.dci.data.source"]
                .sudo()
                .search([("receiver_id", "=", _callback_id(head, "sender_id"))], limit=1)
            )
            if not data_source:
                raise DCICallbackRefused("The sender is not a configured registry.", C.ERR_SENDER_ID_INVALID)
            data_source._authenticate_callback(envelope, callback_token, http_signature)
            transaction = self.sudo().create(
                {
                    "data_source_id": data_source.id,
                    "direction": "in",
                    "action": head["action"],
                    "transaction_id": _callback_id(message, "transaction_id"),
                    "state": "done",
                    "callback_date": fields.Datetime.now(),
                }
            )
        else:
            transaction = self.sudo().search(
                [
                    ("transaction_id", "=", _callback_id(message, "transaction_id")),
                    ("direction", "=", "out"),
                    ("data_source_id", "!=", False),
                ],
                limit=1,
            )
            if not transaction:
                raise DCICallbackRefused("No transaction of ours has this transaction_id.", C.ERR_NOT_FOUND)
            data_source = transaction.data_source_id
            data_source._authenticate_callback(envelope, callback_token, http_signature)
            if transaction._lock_state() != "pending":
                raise DCICallbackRefused("This transaction was already answered.", C.RJCT_MESSAGE_ID_DUPLICATE)
            if head["action"] == C.ACTION_ON_SEARCH:
                try:
                    E.check_response_items(
                        envelope, "search_response", json.loads(transaction.reference_ids), strict=False
                    )
                except DCIError as error:
                    raise DCICallbackRefused(
                        "The answer does not match the request.", error.code or C.RJCT_REFERENCE_ID_INVALID
                    ) from error
            transaction._store_result(message)
        _logger.info(
            "DCI callback %s for transaction %s of %s accepted",
            head["action"],
            transaction.transaction_id,
            data_source.code,
        )
        transaction._handle_callback(data_source, envelope)
        return transaction.correlation_id or head["message_id"]

    def _lock_state(self):
        """The row's state, read under a row lock held until the transaction ends.

        A worker that applied a callback first and committed makes this raise
        a serialization failure (REPEATABLE READ), on which Odoo retries the
        request, which then sees the state it left.
        """
        self.ensure_one()
        self.env.cr.execute(SQL("SELECT state FROM spp_dci_transaction WHERE id = %s FOR UPDATE", self.id))
        return self.env.cr.fetchone()[0]

    def _handle_callback(self, data_source, envelope):
        """Hook for other addons: act on an accepted callback (notify events, subscriptions)."""

    @api.model
    def _callback_results(self, transaction_ids):
        """{transaction_id: (state, stored callback message)} of our outgoing messages."""
        rows = self.sudo().search([("transaction_id", "in", list(transaction_ids)), ("direction", "=", "out")])
        return {row.transaction_id: (row.state, row._get_result()) for row in rows}

    @api.model
    def _wait_for_callbacks(self, transaction_ids, timeout):
        """Wait up to ``timeout`` seconds for the callbacks of these transactions.

        Reads in fresh cursors: the caller's transaction took its snapshot
        before the callbacks were committed (REPEATABLE READ) and would never
        see them. Returns what _callback_results returns.
        """
        deadline = time.monotonic() + timeout
        while True:
            with self.env.registry.cursor() as cr:
                results = self.with_env(self.env(cr=cr))._callback_results(transaction_ids)
            if all(state != "pending" for state, _message in results.values()) or time.monotonic() >= deadline:
                return results
            time.sleep(0.1)

    @api.autovacuum
    def _gc_old_messages(self):
        days = int(
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("spp_dci_client.message_log_retention_days", DEFAULT_RETENTION_DAYS)
        )
        limit = fields.Datetime.now() - timedelta(days=days)
        self.sudo().search([("create_date", "<", limit)]).unlink()


def _callback_id(values, name):
    """An id of a callback (transaction_id, sender_id) as a plain, printable string, or a refusal."""
    value = values.get(name)
    if not isinstance(value, str) or not value or len(value) > E.MAX_TRANSACTION_ID or not value.isprintable():
        raise DCICallbackRefused(f"The {name} is not a valid id.", C.ERR_REQUEST_BAD)
    return value


LOG_COLUMNS = (
    "data_source_id",
    "direction",
    "action",
    "transaction_id",
    "correlation_id",
    "reference_ids",
    "item_count",
    "state",
    "http_status",
    "reason_code",
    "error_type",
    "duration_ms",
    "user_id",
    "origin",
    "error_percent",
)
INTEGER_COLUMNS = {"data_source_id", "item_count", "http_status", "duration_ms", "user_id", "error_percent"}
LINK_COLUMNS = ("data_source_id", "user_id")
STATES = {"pending", "done", "error"}
MAX_TEXT = 256
ATTEMPTS = 3
LOCK_TIMEOUT = "2s"
SET_ROW_SETTINGS = "SET LOCAL lock_timeout = %s; SET LOCAL synchronous_commit = off"
# Column names are the constants above; values are parameters. create_uid and write_uid stay
# empty: user_id says who called, and each foreign key would cost every row another check.
INSERT_ROW = (
    f"INSERT INTO spp_dci_transaction ({', '.join(LOG_COLUMNS)}, create_date, write_date) "  # noqa: S608
    f"VALUES ({', '.join(['%s'] * len(LOG_COLUMNS))}, now() at time zone 'UTC', now() at time zone 'UTC')"
)


def _text(value):
    """Any value as a short, NUL-free string: registries may send objects where codes belong."""
    if value is None or value is False:
        return None
    if not isinstance(value, str):
        try:
            value = json.dumps(value, default=str, sort_keys=True)
        except (TypeError, ValueError, RecursionError):
            value = type(value).__name__
    return value.replace("\x00", "")[:MAX_TEXT]


def _integer(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = int(value)
    except (ValueError, OverflowError):
        return None
    return number if -(2**31) <= number < 2**31 else None


def log_row(data_source_id, uid, values):
    """The message-log row of one message, every value coerced to its column's type."""
    raw = dict(
        values,
        data_source_id=data_source_id,
        user_id=uid,
        direction="out",
        reference_ids=[_text(ref) for ref in values.get("reference_ids") or []],
    )
    row = {}
    for name in LOG_COLUMNS:
        if name in INTEGER_COLUMNS:
            row[name] = _integer(raw.get(name))
        elif name == "reference_ids":
            row[name] = json.dumps(raw[name])
        else:
            row[name] = _text(raw.get(name))
    if row["state"] not in STATES:
        row["state"] = "error"
    row["action"] = row["action"] or "unknown"
    row["error_percent"] = 100 if row["state"] == "error" else 0
    return row


def write_log_row(registry, row):
    """Insert and commit one row: retried, then without its links, and at worst written to the server log.

    A row the table refuses for good still reaches the server log in full
    (ids, codes and timings only), so no message goes unrecorded.
    """
    for attempt in range(ATTEMPTS):
        try:
            _insert(registry, row)
            return
        except psycopg2.IntegrityError as error:
            _logger.info("DCI message log: row kept without its links (%s)", type(error).__name__)
            row = dict(row, **dict.fromkeys(LINK_COLUMNS))
        except psycopg2.Error as error:
            _logger.info("DCI message log: attempt %d failed (%s)", attempt + 1, type(error).__name__)
            time.sleep(0.2 * (attempt + 1))
    _logger.error("DCI message log: row not stored in the table: %s", json.dumps(row))


def _insert(registry, row):
    """One row in a cursor of its own, committed before the call returns.

    synchronous_commit off: the commit returns once PostgreSQL has the row (a
    killed worker loses nothing) without waiting for the disk flush, which
    would cost every call a WAL fsync; only a crash of the database server
    itself could lose the last fraction of a second of log rows.
    """
    values = tuple(row[name] for name in LOG_COLUMNS)
    with registry.cursor() as cr:
        cr.execute(f"{SET_ROW_SETTINGS}; {INSERT_ROW}", (LOCK_TIMEOUT, *values), log_exceptions=False)
