from unittest.mock import patch

from psycopg2 import IntegrityError

from odoo import sql_db
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.job import Job
from odoo.addons.queue_job.tests.common import trap_jobs

from ..models import bulk_chunk
from .common import DCICase, population, unanswering_url


def brn_query(value):
    return {"query_type": "idtype-value", "query": {"type": "BRN", "value": value}, "page_size": 1}


@tagged("post_install", "-at_install")
class TestBulkRun(DCICase):
    """Bulk runs of DCI searches, with queue_job's own test helpers against the simulator over HTTP."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.data_source.max_batch_size = 2  # 20 items per job (10 envelopes of 2)
        cls.brns = [person.brn for person in population().persons if person.brn][:45]

    def start(self, values=None, data_source=None):
        values = values if values is not None else self.brns
        return self.env["spp.dci.bulk.run"].start_search(
            data_source or self.data_source, [brn_query(value) for value in values]
        )

    def items(self, run):
        self.env.invalidate_all()  # jobs write in cursors of their own
        return self.env["spp.dci.bulk.item"].search([("run_id", "=", run.id)])

    def sent_values(self):
        return [
            item["search_criteria"]["query"]["value"]
            for _role, path, envelope in self.sim.received
            if path == "/registry/sync/search"
            for item in envelope["message"]["search_request"]
        ]

    def test_split_into_jobs_of_bounded_envelopes_in_the_data_source_channel(self):
        with trap_jobs() as trap:
            run = self.start()
            trap.assert_jobs_count(3)
            self.assertEqual(run.chunk_ids.mapped("item_count"), [20, 20, 5])
            self.assertEqual(self.data_source.bulk_channel_id.complete_name, "root.dci.test_crvs")
            for chunk in run.chunk_ids:
                trap.assert_enqueued_job(
                    chunk._process,
                    properties={"channel": "root.dci.test_crvs", "identity_key": f"spp.dci.bulk.chunk,{chunk.id}"},
                )
            self.assertEqual((run.item_count, run.pending_count, run.progress, run.state), (45, 45, 0.0, "running"))
            self.assertEqual(self.sim.received, [], "nothing is sent inside the click")
            trap.perform_enqueued_jobs()
        self.env.invalidate_all()
        self.assertEqual((run.state, run.done_count, run.failed_count, run.progress), ("done", 45, 0, 100.0))
        self.assertTrue(run.finished_at)
        self.assertEqual(sorted(self.sent_values()), sorted(self.brns), "each item sent exactly once")
        self.assertEqual(len([1 for _r, path, _e in self.sim.received if path == "/registry/sync/search"]), 23)
        records = self.items(run).mapped(lambda item: item.result["data"]["reg_records"][0]["identifier"])
        for value, identifiers in zip(self.brns, records, strict=True):
            self.assertIn({"identifier_type": "BRN", "identifier_value": value}, identifiers)

    def test_identity_key_one_queued_job_per_chunk(self):
        run = self.start(self.brns[:25])
        jobs = self.env["queue.job"].search(
            [("identity_key", "like", "spp.dci.bulk.chunk,%"), ("model_name", "=", "spp.dci.bulk.chunk")]
        )
        self.assertEqual(len(jobs.filtered(lambda job: job.records.run_id == run)), 2)
        run.chunk_ids._enqueue()
        run.action_resume()
        jobs_after = self.env["queue.job"].search([("model_name", "=", "spp.dci.bulk.chunk")])
        self.assertEqual(len(jobs_after.filtered(lambda job: job.records.run_id == run)), 2)
        self.assertEqual(set(jobs_after.mapped("channel")), {"root.dci.test_crvs"})

    def perform_chunk(self, chunk):
        """Run the chunk's stored job as queue_job's runner would, minus the HTTP hop."""
        record = self.env["queue.job"].search([("identity_key", "=", chunk._identity_key()), ("state", "=", "pending")])
        self.assertEqual(len(record), 1)
        return Job.load(self.env, record.uuid).perform()

    def postponed(self, chunk):
        """The RetryableJobError of the chunk's job, caught without Odoo's assertRaises, which would
        roll back what the job committed before raising."""
        try:
            self.perform_chunk(chunk)
        except RetryableJobError as error:
            return error
        self.fail("the job was not postponed")

    def test_429_postpones_with_retry_after_and_keeps_what_was_done(self):
        run = self.start(self.brns[:20])
        self.sim.faults.add("latency", path="/registry/sync/search", seconds=0)
        self.sim.faults.add("status", path="/registry/sync/search", status=429, retry_after=7)
        self.assertEqual(self.postponed(run.chunk_ids).seconds, 7)
        self.assertEqual(self.items(run).mapped("state"), ["done"] * 2 + ["pending"] * 18)
        self.assertEqual(run.chunk_ids.done_count, 2)  # items() cleared the cache
        log_rows_before = self.env["spp.dci.transaction"].search_count([("data_source_id", "=", self.data_source.id)])
        self.perform_chunk(run.chunk_ids)
        self.assertEqual(self.items(run).mapped("state"), ["done"] * 20)
        sent = self.sent_values()
        self.assertEqual(
            sorted(sent), sorted(self.brns[:20] + self.brns[2:4]), "only the refused envelope is sent again"
        )
        log_rows = self.env["spp.dci.transaction"].search_count([("data_source_id", "=", self.data_source.id)])
        self.assertEqual(log_rows - log_rows_before, 9, "one log row per envelope sent by the retry")
        self.env.invalidate_all()
        self.assertEqual(run.state, "done")

    def test_server_errors_and_connection_errors_retry_with_the_job_backoff(self):
        for status in (502, 503, 504):
            with self.subTest(status=status):
                run = self.start(self.brns[:3])
                self.sim.faults.add("status", path="/registry/sync/search", status=status)
                self.assertIsNone(self.postponed(run.chunk_ids).seconds, "None: the job function's retry pattern")
                self.assertEqual(set(self.items(run).mapped("state")), {"pending"})
        with unanswering_url() as url:
            refused = self.make_data_source(code="test_refused", base_url=url, timeout=1)
            run = self.start(self.brns[:3], data_source=refused)
            self.assertIsNone(self.postponed(run.chunk_ids).seconds)
        record = self.env["queue.job"].search([("identity_key", "=", run.chunk_ids._identity_key())])
        job = Job.load(self.env, record.uuid)
        job.retry = 1
        self.assertEqual(job._get_retry_seconds(), 10)
        job.retry = 5
        self.assertEqual(job._get_retry_seconds(), 300)

    def test_rejections_and_bad_signatures_are_final_and_reported_per_item(self):
        run = self.start(self.brns[:8])
        self.sim.faults.add("header_rjct", path="/registry/sync/search", code="rjct.action.not_supported")
        self.sim.faults.add("item_rjct", path="/registry/sync/search", code="rjct.search_criteria.invalid")
        self.sim.faults.add("bad_signature", path="/registry/sync/search")
        self.perform_chunk(run.chunk_ids)
        items = self.items(run)
        self.assertEqual(items.mapped("state"), ["failed"] * 3 + ["done"] + ["failed"] * 2 + ["done"] * 2)
        self.assertEqual(
            items.mapped("reason_code"),
            ["rjct.action.not_supported"] * 2
            + ["rjct.search_criteria.invalid", False]
            + ["err.signature.invalid"] * 2
            + [False] * 2,
        )
        self.assertFalse(any(items.filtered(lambda item: item.state == "failed").mapped("result")))
        self.assertIn(
            {"identifier_type": "BRN", "identifier_value": self.brns[3]},
            items[3].result["data"]["reg_records"][0]["identifier"],
        )
        self.assertEqual((run.state, run.done_count, run.failed_count), ("done", 3, 5))
        self.assertEqual(len(self.sent_values()), 8, "no retry of a rejection")

    def test_cancel_and_resume(self):
        with trap_jobs() as trap:
            run = self.start()
            trap.assert_jobs_count(3)
        stored = self.start()
        stored.action_cancel()
        jobs = self.env["queue.job"].search([("identity_key", "in", [c._identity_key() for c in stored.chunk_ids])])
        self.assertEqual(set(jobs.mapped("state")), {"cancelled"})
        self.assertEqual(stored.chunk_ids[0]._process(), "run cancelled: nothing sent")
        self.assertEqual(self.sim.received, [])
        stored.action_resume()
        self.assertEqual(stored.state, "running")
        for chunk in stored.chunk_ids:
            self.perform_chunk(chunk)
        self.env.invalidate_all()
        self.assertEqual((stored.state, stored.done_count), ("done", 45))
        self.assertEqual(sorted(self.sent_values()), sorted(self.brns))
        del run

    def test_an_envelope_written_twice_counts_once(self):
        """A retried envelope's outcomes move only the items still pending: the chunk's counts do not double."""
        with trap_jobs():
            run = self.start(self.brns[:3])
        chunk, items = run.chunk_ids, self.items(run)
        outcomes = [("done", {"n": 1}, None), ("failed", None, "rjct.reference_id.invalid"), ("done", None, None)]
        chunk._write_outcomes(items.ids[:2], outcomes[:2])
        self.env.invalidate_all()
        self.assertEqual((chunk.done_count, chunk.failed_count, chunk.state, run.state), (1, 1, "pending", "running"))
        chunk._write_outcomes(items.ids, outcomes)
        chunk._write_outcomes(items.ids, [("failed", None, "late")] * 3)
        self.env.invalidate_all()
        self.assertEqual((chunk.done_count, chunk.failed_count, chunk.state), (2, 1, "done"))
        self.assertTrue(chunk.finished_at)
        self.assertEqual(items.mapped("reason_code"), [False, "rjct.reference_id.invalid", False])

    def test_cancel_stops_a_running_job_before_its_next_envelope(self):
        run = self.start(self.brns[:20])
        original = type(run)._bulk_process

        def cancel_after_first(records, client, payloads):
            outcomes = original(records, client, payloads)
            records.env.cr.execute("UPDATE spp_dci_bulk_run SET state = 'cancelled' WHERE id = %s", [records.id])
            return outcomes

        with patch.object(type(run), "_bulk_process", cancel_after_first):
            self.assertEqual(self.perform_chunk(run.chunk_ids), "run cancelled after 2 items")
        self.assertEqual(self.items(run).mapped("state"), ["done"] * 2 + ["pending"] * 18)

    def test_capacity_slots_hold_across_connections(self):
        self.data_source.bulk_capacity = 1
        run = self.start(self.brns[:2])
        other = sql_db.db_connect(self.env.cr.dbname).cursor()
        try:
            other.execute(
                "SELECT pg_advisory_lock(%s, %s)", [bulk_chunk.SLOT_LOCK, self.data_source.id * bulk_chunk.MAX_CAPACITY]
            )
            with patch.object(bulk_chunk, "SLOT_WAIT_SECONDS", 0.2):
                self.assertTrue(self.postponed(run.chunk_ids).ignore_retry)
            self.assertEqual(self.sim.received, [])
            self.data_source.bulk_capacity = 2
            self.perform_chunk(run.chunk_ids)
        finally:
            other.close()
        self.assertEqual(self.items(run).mapped("state"), ["done"] * 2)

    def test_users_without_rights(self):
        run = self.start(self.brns[:2])
        plain = new_test_user(self.env, "bulk_plain", groups="base.group_user")
        with self.assertRaises(AccessError):
            run.with_user(plain).read(["state"])
        with self.assertRaises(AccessError):
            self.items(run).with_user(plain).read(["result"])
        other = new_test_user(self.env, "bulk_other", groups="spp_dci_client.group_dci_user")
        self.assertFalse(self.env["spp.dci.bulk.run"].with_user(other).search([("id", "=", run.id)]))
        with self.assertRaises(AccessError):
            run.with_user(other).action_cancel()
        owner = new_test_user(self.env, "bulk_owner", groups="spp_dci_client.group_dci_user")
        mine = self.env["spp.dci.bulk.run"].with_user(owner).start_search(self.data_source, [brn_query("x")])
        with self.assertRaises(AccessError):
            self.items(mine).with_user(owner).write({"state": "done"})
        with self.assertRaises(AccessError):
            mine.with_user(owner).write({"state": "done"})
        mine.with_user(owner).action_cancel()
        self.assertEqual(mine.state, "cancelled")

    def test_capacity_and_channel_follow_the_data_source(self):
        self.data_source.code = "test_renamed"
        self.assertEqual(self.data_source.bulk_channel_id.complete_name, "root.dci.test_renamed")
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError), self.env.cr.savepoint():
            self.data_source.bulk_capacity = 0
            self.env.flush_all()
