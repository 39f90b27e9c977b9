import json
from datetime import timedelta

from odoo import api, fields, models

from ..services.dr_service import DRService

TTL_PARAM = "spp_dci_client_dr.cache_ttl_hours"
DEFAULT_TTL_HOURS = 24
SCORE_FIELDS = {
    "Vision": "score_vision",
    "Hearing": "score_hearing",
    "Mobility": "score_mobility",
    "Cognition": "score_cognition",
    "Self-Care": "score_self_care",
    "Communication": "score_communication",
}
SCORES = [
    ("1", "1: no difficulty"),
    ("2", "2: some difficulty"),
    ("3", "3: a lot of difficulty"),
    ("4", "4: cannot do at all"),
]


class DciDisabilityStatus(models.Model):
    """The disability registry's answer for one registrant, cached for a configurable time."""

    _name = "spp.dci.disability.status"
    _description = "Disability Status (cached from the disability registry)"
    _rec_name = "partner_id"

    partner_id = fields.Many2one(
        "res.partner", string="Registrant", required=True, ondelete="cascade", index=True, readonly=True
    )
    data_source_id = fields.Many2one(
        "spp.dci.data.source", string="Source", required=True, ondelete="cascade", readonly=True
    )
    state = fields.Selection(
        [("found", "In the registry"), ("not_found", "Not in the registry")],
        string="Registry Record",
        required=True,
        readonly=True,
    )
    last_sync = fields.Datetime(string="Last Checked", required=True, readonly=True)
    has_disability = fields.Boolean(readonly=True)
    is_pwd = fields.Boolean(string="Person with Disability", readonly=True)
    disability_types = fields.Char(readonly=True)
    disability_level = fields.Char(readonly=True)
    registry_status = fields.Char(string="Status in the Registry", readonly=True)
    assessment_date = fields.Date(readonly=True)
    score_vision = fields.Selection(SCORES, string="Vision", readonly=True)
    score_hearing = fields.Selection(SCORES, string="Hearing", readonly=True)
    score_mobility = fields.Selection(SCORES, string="Mobility", readonly=True)
    score_cognition = fields.Selection(SCORES, string="Cognition", readonly=True)
    score_self_care = fields.Selection(SCORES, string="Self-Care", readonly=True)
    score_communication = fields.Selection(SCORES, string="Communication", readonly=True)
    is_stale = fields.Boolean(
        string="Needs Refresh",
        compute="_compute_is_stale",
        help="Older than the cache time: the next check or the nightly refresh asks again.",
    )
    raw_data = fields.Text(string="Registry Data", groups="spp_dci_client.group_dci_admin", readonly=True)

    _partner_unique = models.Constraint("UNIQUE(partner_id)", "One cached disability status per registrant.")

    @api.model
    def _ttl(self):
        hours = self.env["ir.config_parameter"].sudo().get_param(TTL_PARAM, DEFAULT_TTL_HOURS)
        return timedelta(hours=float(hours))

    @api.depends("last_sync")
    def _compute_is_stale(self):
        for status in self:
            status.is_stale = status._is_stale()

    def _is_stale(self):
        self.ensure_one()
        return self.last_sync + self._ttl() < fields.Datetime.now()

    @api.model
    def _for_partner(self, partner):
        return self.search([("partner_id", "=", partner.id)], limit=1)

    @api.model
    def _store(self, partner, data_source, status, record):
        values = {
            "data_source_id": data_source.id,
            "state": "found" if status else "not_found",
            "last_sync": fields.Datetime.now(),
            "has_disability": bool(status and status["has_disability"]),
            "is_pwd": bool(status and status["has_disability"]),
            "disability_types": ", ".join(status["disability_types"]) if status else False,
            "disability_level": str(status["disability_level"]) if status and status["disability_level"] else False,
            "registry_status": status["registry_status"] if status else False,
            "assessment_date": status["assessment_date"] if status else False,
            "raw_data": json.dumps(record) if record else False,
        }
        scores = status["functional_scores"] if status else {}
        values.update(
            {name: str(scores[domain]) if domain in scores else False for domain, name in SCORE_FIELDS.items()}
        )
        existing = self._for_partner(partner)
        if existing:
            existing.write(values)
            return existing
        return self.create(dict(values, partner_id=partner.id))

    @api.model
    def _cron_refresh_stale(self, batch_size=200):
        """Refresh stale entries, per data source, in batches; each batch is committed as progress."""
        stale = self.search([("last_sync", "<", fields.Datetime.now() - self._ttl())])
        for data_source in stale.mapped("data_source_id"):
            partners = stale.filtered(lambda status, source=data_source: status.data_source_id == source)
            partners = partners.mapped("partner_id")
            service = DRService(self.env, data_source.code)
            try:
                for start in range(0, len(partners), batch_size):
                    batch = partners[start : start + batch_size]
                    service.sync_disability_data(batch)
                    self.env["ir.cron"]._commit_progress(len(batch), remaining=len(partners) - start - len(batch))
            finally:
                service.close()
