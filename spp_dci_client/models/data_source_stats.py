from datetime import timedelta

from odoo import fields, models

STATS_HOURS = 24


class DciDataSource(models.Model):
    """The figures of the DCI overview: traffic of the last 24 hours, callbacks awaited, bulk runs running.

    Computed in three grouped queries for every data source shown, not per record.
    """

    _inherit = "spp.dci.data.source"  # pylint: disable=consider-merging-classes-inherited

    call_count = fields.Integer(string="Calls (24 h)", compute="_compute_overview_stats")
    error_count = fields.Integer(string="Errors (24 h)", compute="_compute_overview_stats")
    error_rate = fields.Float(string="Error Rate (24 h, %)", compute="_compute_overview_stats", digits=(16, 1))
    average_latency_ms = fields.Integer(string="Average Latency (24 h, ms)", compute="_compute_overview_stats")
    pending_callback_count = fields.Integer(string="Callbacks Awaited", compute="_compute_overview_stats")
    running_bulk_run_count = fields.Integer(string="Bulk Runs Running", compute="_compute_overview_stats")

    def _compute_overview_stats(self):
        ids = [record_id for record_id in self.ids if isinstance(record_id, int)]
        since = fields.Datetime.now() - timedelta(hours=STATS_HOURS)
        messages = self.env["spp.dci.transaction"].sudo()
        traffic = {}
        for source, state, count, latency in messages._read_group(
            [("data_source_id", "in", ids), ("create_date", ">=", since), ("direction", "=", "out")],
            ["data_source_id", "state"],
            ["__count", "duration_ms:avg"],
        ):
            traffic.setdefault(source.id, {})[state] = (count, latency or 0)
        pending = {
            source.id: count
            for source, count in messages._read_group(
                [("data_source_id", "in", ids), ("state", "=", "pending")], ["data_source_id"], ["__count"]
            )
        }
        running = {
            source.id: count
            for source, count in self.env["spp.dci.bulk.run"]
            .sudo()
            ._read_group([("data_source_id", "in", ids), ("state", "=", "running")], ["data_source_id"], ["__count"])
        }
        for record in self:
            states = traffic.get(record.id, {})
            calls = sum(count for count, _latency in states.values())
            errors = states.get("error", (0, 0))[0]
            answered = calls - states.get("pending", (0, 0))[0]
            record.call_count = calls
            record.error_count = errors
            record.error_rate = 100.0 * errors / answered if answered else 0.0
            record.average_latency_ms = (
                round(sum(count * latency for count, latency in states.values()) / calls) if calls else 0
            )
            record.pending_callback_count = pending.get(record.id, 0)
            record.running_bulk_run_count = running.get(record.id, 0)

    def action_open_message_log(self):
        """The message log of this data source, its failures first when it has any."""
        self.ensure_one()
        self.check_access("read")
        action = self.env["ir.actions.act_window"]._for_xml_id("spp_dci_client.spp_dci_transaction_action")
        action["domain"] = [("data_source_id", "=", self.id)]
        action["context"] = {"search_default_last_24h": 1, "search_default_errors": int(bool(self.error_count))}
        action["display_name"] = self.env._("Message Log: %s", self.name)
        return action
