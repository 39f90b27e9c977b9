import json
import logging

import psycopg2

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

from ..services import bulk
from ..services.errors import DCIConfigurationError

_logger = logging.getLogger(__name__)


class DciBulkRun(models.Model):
    """Bulk DCI work (many checks against one data source), carried out by queue jobs.

    The items are cut into chunks of a bounded number of envelopes, one job
    each, in the data source's channel. Jobs write results envelope by
    envelope, so a run of any size costs a worker one chunk of memory, and a
    retried or resumed job only sends what is still pending. Addons plug in
    their kind of run with a selection value and _bulk_process.
    """

    _name = "spp.dci.bulk.run"
    _description = "DCI Bulk Run"
    _order = "id desc"

    name = fields.Char(required=True, readonly=True)
    kind = fields.Selection([("search", "DCI searches")], required=True, readonly=True)
    data_source_id = fields.Many2one(
        "spp.dci.data.source", required=True, readonly=True, ondelete="restrict", index=True
    )
    state = fields.Selection(
        [("running", "Running"), ("cancelled", "Cancelled"), ("done", "Done")],
        required=True,
        default="running",
        readonly=True,
        index=True,
    )
    options = fields.Json(readonly=True, help="Arguments of the kind of run shared by every item.")
    item_count = fields.Integer(string="Items", readonly=True)
    done_count = fields.Integer(string="Answered", compute="_compute_counts")
    failed_count = fields.Integer(string="Failed", compute="_compute_counts")
    pending_count = fields.Integer(string="Waiting", compute="_compute_counts")
    progress = fields.Float(compute="_compute_counts", help="Percentage of the items answered or failed.")
    items_per_job = fields.Integer(readonly=True)
    started_at = fields.Datetime(readonly=True, default=fields.Datetime.now)
    finished_at = fields.Datetime(readonly=True)
    user_id = fields.Many2one("res.users", string="Started by", readonly=True, default=lambda self: self.env.uid)
    chunk_ids = fields.One2many("spp.dci.bulk.chunk", "run_id", readonly=True)

    def _compute_counts(self):
        totals = {run.id: {"done": 0, "failed": 0} for run in self}
        for run, done, failed in (
            self.env["spp.dci.bulk.chunk"]
            .sudo()
            ._read_group([("run_id", "in", self.ids)], ["run_id"], ["done_count:sum", "failed_count:sum"])
        ):
            totals[run.id] = {"done": done, "failed": failed}
        for run in self:
            done, failed = totals[run.id]["done"], totals[run.id]["failed"]
            run.done_count, run.failed_count = done, failed
            run.pending_count = run.item_count - done - failed
            run.progress = 100.0 * (done + failed) / run.item_count if run.item_count else 100.0

    @api.model
    def _start(self, data_source, kind, payloads, name, options=None):
        """A run over ``payloads`` (any iterable of JSON values, read lazily), its jobs enqueued.

        Internal: services call it after their own argument checks.
        """
        data_source.ensure_one()
        source = data_source.sudo()
        per_job = bulk.ENVELOPES_PER_JOB * source.max_batch_size
        run = self.sudo().create(
            {
                "name": name,
                "kind": kind,
                "data_source_id": source.id,
                "options": options,
                "items_per_job": per_job,
                "user_id": self.env.uid,
            }
        )
        total = 0
        for sequence, batch in enumerate(bulk.batches(payloads, per_job)):
            chunk = (
                self.env["spp.dci.bulk.chunk"]
                .sudo()
                .create({"run_id": run.id, "sequence": sequence, "item_count": len(batch)})
            )
            run._insert_items(chunk, total, batch)
            total += len(batch)
        if not total:
            raise DCIConfigurationError(self.env._("A bulk run needs at least one item."))
        run.item_count = total
        run.chunk_ids._enqueue()
        _logger.info(
            "DCI bulk run %s (%s, %s): %d items in %d jobs", run.id, kind, source.code, total, len(run.chunk_ids)
        )
        return run.with_env(self.env)

    def _insert_items(self, chunk, first_sequence, payloads):
        """One statement for a chunk's items: the payloads travel as one JSON array, not as SQL per item.

        No create_uid or write_uid: the run says who started it, and each would cost every row a
        foreign-key check.
        """
        self.env.cr.execute(
            SQL(
                """INSERT INTO spp_dci_bulk_item
                          (run_id, chunk_id, sequence, payload, state, create_date, write_date)
                   SELECT %s, %s, %s + item.position - 1, item.payload, 'pending',
                          now() at time zone 'UTC', now() at time zone 'UTC'
                     FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS item(payload, position)""",
                self.id,
                chunk.id,
                first_sequence,
                json.dumps(payloads),
            )
        )

    def _check_manager(self):
        if not (
            self.env.user.has_group("spp_dci_client.group_dci_admin")
            or all(run.user_id == self.env.user for run in self)
        ):
            raise AccessError(
                self.env._("Only the user who started a bulk run, or a DCI administrator, may cancel or resume it.")
            )

    def action_cancel(self):
        """Stop the run: queued jobs are cancelled, a running job stops before its next envelope."""
        self._check_manager()
        running = self.filtered(lambda run: run.state == "running")
        running.sudo().write({"state": "cancelled"})
        running.sudo().chunk_ids._cancel_jobs()
        return True

    def action_resume(self):
        """Continue a cancelled (or stalled) run: the chunks with pending items get a job again."""
        self._check_manager()
        for run in self.filtered(lambda run: run.state != "done"):
            run.sudo().write({"state": "running", "finished_at": False})
            run.sudo().chunk_ids.filtered(lambda chunk: chunk.state == "pending")._enqueue()
            run._check_finished()
        return True

    @api.model
    @api.private
    def start_search(self, data_source, queries, name=None):
        """DCIClient.search_batch for any number of queries, as a bulk run; returns the run.

        Each item's result is its search_response item; rejected items are
        failed items with their reason code.
        """
        return self._start(
            data_source,
            "search",
            (dict(query) for query in queries),
            name or self.env._("DCI searches on %s", data_source.sudo().code),
        )

    def action_view_items(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Items of %s", self.name),
            "res_model": "spp.dci.bulk.item",
            "view_mode": "list,form",
            "domain": [("run_id", "=", self.id)],
        }

    def _check_finished(self):
        """Mark the run done once no chunk has pending items (idempotent; safe from concurrent jobs)."""
        for run in self:
            try:
                with self.env.cr.savepoint():
                    self.env.cr.execute(
                        SQL(
                            """UPDATE spp_dci_bulk_run SET state = 'done', finished_at = now() at time zone 'UTC'
                            WHERE id = %s AND state = 'running' AND NOT EXISTS (
                                SELECT 1 FROM spp_dci_bulk_chunk WHERE run_id = %s AND state = 'pending')""",
                            run.id,
                            run.id,
                        )
                    )
            except psycopg2.errors.SerializationFailure:
                continue  # another job's check marked it at the same moment
        self.invalidate_recordset(["state", "finished_at"])

    def _bulk_process(self, client, payloads):
        """The outcome of one envelope's worth of items: [(state, result, reason_code)] in payload order.

        ``client`` is the job's DCIClient, without retries of its own (the job
        engine retries). Registry errors raise; the job decides what they mean.
        Each kind of run extends this.
        """
        self.ensure_one()
        if self.kind != "search":
            raise NotImplementedError(f"no bulk processing for runs of kind {self.kind}")
        results = []
        for item in client.search_batch(payloads, strict=False):
            state, code = bulk.item_outcome(item)
            results.append((state, item if state == "done" else None, code))
        return results

    def _partner_outcomes(self, partner_ids, fetch):
        """_bulk_process's outcomes for runs over partners.

        ``fetch(partners)`` returns {partner id: result} for the partners that
        have identifiers; a deleted partner or one without identifiers fails
        with its reason.
        """
        partners = self.env["res.partner"].browse(partner_ids).exists()
        checkable = partners.filtered(lambda partner: partner._get_dci_identifiers())
        results = fetch(checkable) if checkable else {}
        outcomes = []
        for partner_id in partner_ids:
            if partner_id not in partners.ids:
                outcomes.append(("failed", None, "partner_deleted"))
            elif partner_id not in results:
                outcomes.append(("failed", None, "no_identifier"))
            else:
                outcomes.append(("done", results[partner_id], None))
        return outcomes
