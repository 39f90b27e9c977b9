from odoo import fields, models

ITEM_STATES = [("pending", "Pending"), ("done", "Done"), ("failed", "Failed")]


class DciBulkItem(models.Model):
    """One item of a bulk run: what to ask (payload) and, once answered, the result or why it failed."""

    _name = "spp.dci.bulk.item"
    _description = "DCI Bulk Run Item"
    _order = "run_id, sequence"
    _rec_name = "sequence"

    run_id = fields.Many2one("spp.dci.bulk.run", required=True, ondelete="cascade", index=True, readonly=True)
    chunk_id = fields.Many2one("spp.dci.bulk.chunk", required=True, ondelete="cascade", index=True, readonly=True)
    sequence = fields.Integer(readonly=True)
    payload = fields.Json(readonly=True)
    state = fields.Selection(ITEM_STATES, required=True, default="pending", readonly=True)
    result = fields.Json(readonly=True)
    reason_code = fields.Char(readonly=True, help="The registry's reason code, or the error type, of a failed item.")
