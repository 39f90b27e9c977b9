import logging
from datetime import timedelta

import psycopg2

from odoo import api, fields, models
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

MAX_REFUSALS = 30
WINDOW_SECONDS = 60


class DciCallbackThrottle(models.Model):
    """Refused callbacks per caller address, in the database so that every worker sees the same count.

    An address refused MAX_REFUSALS times within WINDOW_SECONDS is answered
    429 without its body being read until the window ends.
    """

    _name = "spp.dci.callback.throttle"
    _description = "DCI Callback Throttle"
    _log_access = False

    address = fields.Char(required=True)
    window_start = fields.Datetime(required=True)
    refusals = fields.Integer(required=True, default=0)

    _address_unique = models.Constraint("UNIQUE(address)", "One counter per address.")

    @api.model
    def _is_blocked(self, address):
        self.env.cr.execute(
            SQL(
                "SELECT 1 FROM spp_dci_callback_throttle WHERE address = %s AND refusals >= %s AND window_start > %s",
                address,
                MAX_REFUSALS,
                self._window_opened_after(),
            )
        )
        return bool(self.env.cr.fetchone())

    @api.model
    def _record_refusal(self, address):
        """Count one refusal, in a cursor of its own: the count must outlive the refused request's transaction."""
        now, opened_after = fields.Datetime.now(), self._window_opened_after()
        try:
            with self.env.registry.cursor() as cr:
                cr.execute(
                    SQL(
                        "INSERT INTO spp_dci_callback_throttle AS t (address, window_start, refusals) "
                        "VALUES (%(address)s, %(now)s, 1) ON CONFLICT (address) DO UPDATE SET "
                        "refusals = CASE WHEN t.window_start > %(opened)s THEN t.refusals + 1 ELSE 1 END, "
                        "window_start = CASE WHEN t.window_start > %(opened)s THEN t.window_start ELSE %(now)s END",
                        address=address,
                        now=now,
                        opened=opened_after,
                    )
                )
        except psycopg2.errors.SerializationFailure:
            _logger.info("DCI callback throttle: a concurrent refusal of the same address was not counted")

    @api.model
    def _window_opened_after(self):
        return fields.Datetime.now() - timedelta(seconds=WINDOW_SECONDS)

    @api.autovacuum
    def _gc_old_counters(self):
        self.env.cr.execute(
            SQL("DELETE FROM spp_dci_callback_throttle WHERE window_start < %s", self._window_opened_after())
        )
