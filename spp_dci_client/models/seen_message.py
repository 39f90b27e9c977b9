from datetime import UTC, datetime

from odoo import api, fields, models
from odoo.tools import SQL

from ..services import constants as C
from ..services.errors import DCISignatureError, _lt


class DciSeenMessage(models.Model):
    """The message_ids of callbacks already accepted, per data source, while they could be replayed.

    Shared by every worker and kept across restarts. A row is written in the
    transaction that applies the callback: a second worker inserting the same
    id waits on the unique index until the first commits, then is refused.
    """

    _name = "spp.dci.seen.message"
    _description = "DCI Message Already Received"
    _log_access = False

    data_source_id = fields.Many2one("spp.dci.data.source", required=True, ondelete="cascade")
    message_id = fields.Char(required=True)
    expires_at = fields.Datetime(
        required=True, index=True, help="Past this moment the message would be refused anyway, so the row can go."
    )

    _message_unique = models.Constraint(
        "UNIQUE(data_source_id, message_id)", "A message id is remembered once per data source."
    )

    @api.model
    def _claim(self, data_source_id, message_id, accepted_until):
        """Remember ``message_id`` until ``accepted_until`` (epoch seconds); refuse it if it was seen."""
        expires_at = datetime.fromtimestamp(accepted_until, UTC).replace(tzinfo=None)
        self.env.cr.execute(
            SQL(
                "INSERT INTO spp_dci_seen_message (data_source_id, message_id, expires_at) VALUES (%s, %s, %s) "
                "ON CONFLICT (data_source_id, message_id) DO NOTHING RETURNING id",
                data_source_id,
                message_id,
                expires_at,
            )
        )
        if not self.env.cr.fetchone():
            raise DCISignatureError(
                _lt("This message_id was already received (replayed message)."), code=C.RJCT_MESSAGE_ID_DUPLICATE
            )

    @api.autovacuum
    def _gc_expired(self):
        self.env.cr.execute(SQL("DELETE FROM spp_dci_seen_message WHERE expires_at < %s", fields.Datetime.now()))
