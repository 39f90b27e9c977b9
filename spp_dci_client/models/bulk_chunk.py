import json
import logging
import time
import zlib

from odoo import fields, models
from odoo.tools import SQL

from odoo.addons.queue_job.exception import RetryableJobError

from ..services import bulk
from ..services.errors import DCIError
from ..services.transport import NO_RETRY

_logger = logging.getLogger(__name__)

CHUNK_LOCK = zlib.crc32(b"spp.dci.bulk.chunk") & 0x7FFFFFFF
SLOT_LOCK = zlib.crc32(b"spp.dci.data.source slot") & 0x7FFFFFFF
MAX_CAPACITY = 1024
SLOT_WAIT_SECONDS = 10
BUSY_RETRY_SECONDS = 5
MAX_RETRIES = 10


class DciBulkChunk(models.Model):
    """A slice of a bulk run that one queue job works through, envelope by envelope."""

    _name = "spp.dci.bulk.chunk"
    _description = "DCI Bulk Run Chunk"
    _order = "run_id, sequence"

    run_id = fields.Many2one("spp.dci.bulk.run", required=True, ondelete="cascade", index=True, readonly=True)
    sequence = fields.Integer(readonly=True)
    item_count = fields.Integer(readonly=True)
    done_count = fields.Integer(readonly=True)
    failed_count = fields.Integer(readonly=True)
    state = fields.Selection(
        [("pending", "Pending"), ("done", "Done")], required=True, default="pending", readonly=True, index=True
    )
    finished_at = fields.Datetime(readonly=True)

    def _identity_key(self):
        """One queued job per chunk: enqueuing it again while a job waits adds nothing."""
        self.ensure_one()
        return f"spp.dci.bulk.chunk,{self.id}"

    def _enqueue(self):
        for chunk in self:
            source = chunk.run_id.data_source_id
            chunk.with_delay(
                channel=source._bulk_channel_name(),
                identity_key=chunk._identity_key(),
                max_retries=MAX_RETRIES,
                description=self.env._(
                    "%(run)s: items %(first)s-%(last)s",
                    run=chunk.run_id.name,
                    first=chunk.sequence * chunk.run_id.items_per_job + 1,
                    last=chunk.sequence * chunk.run_id.items_per_job + chunk.item_count,
                ),
            )._process()

    def _cancel_jobs(self):
        jobs = (
            self.env["queue.job"]
            .sudo()
            .search(
                [
                    ("identity_key", "in", [chunk._identity_key() for chunk in self]),
                    ("state", "in", ("wait_dependencies", "pending", "enqueued")),
                ]
            )
        )
        jobs.button_cancelled()

    def _process(self):
        """The job: send the chunk's pending items, one envelope at a time, each envelope's results
        committed with it. Returns a summary for the job's result."""
        self.ensure_one()
        run = self.run_id
        if run.state != "running":
            return f"run {run.state}: nothing sent"
        if not self._try_lock(CHUNK_LOCK, self.id):
            raise RetryableJobError(
                "Another job is working on this chunk.", seconds=BUSY_RETRY_SECONDS, ignore_retry=True
            )
        self._acquire_slot(run.data_source_id)
        # (id, payload) rows read as they are: the ORM would copy every payload it hands out
        self.env.cr.execute(
            SQL(
                "SELECT id, payload FROM spp_dci_bulk_item WHERE chunk_id = %s AND state = 'pending' ORDER BY sequence",
                self.id,
            )
        )
        pending = self.env.cr.fetchall()
        size = run.data_source_id.sudo().max_batch_size
        sent = 0
        with run.data_source_id._dci_client(retry=NO_RETRY) as client:
            for start in range(0, len(pending), size):
                items = pending[start : start + size]
                if not self._send_envelope(client, [item_id for item_id, _ in items], [load for _, load in items]):
                    return f"run cancelled after {sent} items"
                sent += len(items)
        self._finish()
        return f"{sent} items sent"

    def _send_envelope(self, client, item_ids, payloads):
        """Process the items in a cursor of their own and commit their results; False if the run was cancelled."""
        with self.env.registry.cursor() as cr:
            env = self.env(cr=cr)
            chunk, run = self.with_env(env), self.run_id.with_env(env)
            cr.execute(SQL("SELECT state FROM spp_dci_bulk_run WHERE id = %s", run.id))
            if cr.fetchone()[0] != "running":
                return False
            try:
                outcomes = run._bulk_process(client, payloads)
            except DCIError as error:
                delay = bulk.retry_delay(error)
                if delay is not None:
                    raise RetryableJobError(
                        f"{type(error).__name__} (HTTP {error.response_status}, {error.code}); "
                        f"{len(item_ids)} items wait for the retry",
                        seconds=delay or None,
                    ) from error
                _logger.info(
                    "DCI bulk run %s: %d items failed: %s %s",
                    run.id,
                    len(item_ids),
                    type(error).__name__,
                    error.code,
                )
                outcomes = [("failed", None, error.code or type(error).__name__)] * len(item_ids)
            chunk._write_outcomes(item_ids, outcomes)
        return True

    def _write_outcomes(self, item_ids, outcomes):
        rows = json.dumps(
            [
                {"id": item_id, "state": state, "result": result, "code": code}
                for item_id, (state, result, code) in zip(item_ids, outcomes, strict=True)
            ]
        )
        self.env.cr.execute(
            SQL(
                """UPDATE spp_dci_bulk_item AS item
                  SET state = outcome.state, result = outcome.result, reason_code = outcome.code,
                      write_date = now() at time zone 'UTC'
                 FROM jsonb_to_recordset(%s::jsonb) AS outcome(id integer, state varchar, result jsonb, code varchar)
                WHERE item.id = outcome.id AND item.state = 'pending'
            RETURNING item.state""",
                rows,
            )
        )
        updated = [state for (state,) in self.env.cr.fetchall()]
        # counted from the items this statement moved out of pending, so a retried envelope counts once
        answered = len(updated)
        self.env.cr.execute(
            SQL(
                """UPDATE spp_dci_bulk_chunk
                      SET done_count = COALESCE(done_count, 0) + %s, failed_count = COALESCE(failed_count, 0) + %s,
                          state = CASE WHEN COALESCE(done_count, 0) + COALESCE(failed_count, 0) + %s >= item_count
                                       THEN 'done' ELSE 'pending' END,
                          finished_at = CASE WHEN COALESCE(done_count, 0) + COALESCE(failed_count, 0) + %s >= item_count
                                             THEN now() at time zone 'UTC' END
                    WHERE id = %s""",
                updated.count("done"),
                updated.count("failed"),
                answered,
                answered,
                self.id,
            )
        )
        self.invalidate_recordset()

    def _finish(self):
        with self.env.registry.cursor() as cr:
            self.run_id.with_env(self.env(cr=cr))._check_finished()

    def _try_lock(self, namespace, key):
        self.env.cr.execute(SQL("SELECT pg_try_advisory_xact_lock(%s, %s)", namespace, key))
        return self.env.cr.fetchone()[0]

    def _acquire_slot(self, data_source):
        """Hold one of the data source's ``bulk_capacity`` slots until the job's transaction ends.

        The slots are PostgreSQL advisory locks, so the capacity holds across
        every worker and server on the database, whatever the job runner's
        channel configuration.
        """
        capacity = data_source.sudo().bulk_capacity
        deadline = time.monotonic() + SLOT_WAIT_SECONDS
        while True:
            for slot in range(capacity):
                if self._try_lock(SLOT_LOCK, data_source.id * MAX_CAPACITY + slot):
                    return slot
            if time.monotonic() >= deadline:
                raise RetryableJobError(
                    f"All {capacity} request slots of {data_source.sudo().code} are busy.",
                    seconds=BUSY_RETRY_SECONDS,
                    ignore_retry=True,
                )
            time.sleep(0.05)
