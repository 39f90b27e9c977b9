import hashlib
import json

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from odoo.addons.spp_dci_client.services.errors import DCIError
from odoo.addons.spp_dci_client_crvs.services.crvs_service import CRVSService
from odoo.addons.spp_dci_client_dr.services.dr_service import DRService
from odoo.addons.spp_dci_client_ibr.services.ibr_service import IBRService

from .enrollment_check import KINDS, OUTCOMES, compare_birth

SERVER_ONLY_FIELDS = {
    "state",
    "approved_by",
    "enrolled_date",
    "birth_outcome",
    "enrolment_outcome",
    "disability_outcome",
    "disability_top_up",
    "check_ids",
    "reject_reason",
    "rejected_by",
    "rejected_date",
}
CHECKED_FIELDS = {"child_id", "program_id", "declared_name", "declared_birth_date", "declared_sex"}
APPROVER_GROUP = "spp_dci_demo.group_enrollment_approver"


class DciDemoEnrollment(models.Model):
    """A household's request to enroll a child in the Child Benefit programme.

    Draft -> checks done -> approved or rejected -> enrolled. Outcomes are
    computed from the check records, and the state only moves through the
    actions below, which check the user's group: approving is a human
    decision, never automatic, and only possible when every check answered and
    the birth is verified.
    """

    _name = "spp.dci.demo.enrollment"
    _inherit = ["mail.thread"]
    _description = "Child Benefit Enrollment Request"
    _order = "id desc"

    name = fields.Char(compute="_compute_name", store=True)
    program_id = fields.Many2one(
        "spp.dci.demo.program",
        string="Programme",
        required=True,
        tracking=True,
        default=lambda self: self.env.ref("spp_dci_demo.program_child_benefit", raise_if_not_found=False),
    )
    household_id = fields.Many2one(
        "res.partner", tracking=True, domain=[("is_company", "=", True), ("child_ids", "!=", False)]
    )
    child_id = fields.Many2one("res.partner", required=True, tracking=True)
    declared_name = fields.Char(string="Name (declared)", required=True, tracking=True)
    declared_birth_date = fields.Date(string="Date of Birth (declared)", required=True, tracking=True)
    declared_sex = fields.Selection(
        [("female", "Female"), ("male", "Male")], string="Sex (declared)", required=True, tracking=True
    )
    birth_identifier = fields.Char(string="Birth Registration Number", compute="_compute_birth_identifier")
    state = fields.Selection(
        [
            ("draft", "Draft"),
            ("checked", "Checks done"),
            ("approved", "Approved"),
            ("rejected", "Rejected"),
            ("enrolled", "Enrolled"),
        ],
        string="Status",
        default="draft",
        required=True,
        readonly=True,
        copy=False,
        index=True,
        tracking=True,
    )
    check_ids = fields.One2many("spp.dci.demo.check", "request_id", string="Checks", readonly=True)
    birth_outcome = fields.Selection(OUTCOMES, string="Birth (CRVS)", compute="_compute_outcomes", store=True)
    enrolment_outcome = fields.Selection(
        OUTCOMES, string="Other Enrolments (IBR)", compute="_compute_outcomes", store=True
    )
    disability_outcome = fields.Selection(OUTCOMES, string="Disability (DR)", compute="_compute_outcomes", store=True)
    birth_details_html = fields.Html(string="Birth Comparison", compute="_compute_latest_details")
    matched_programs = fields.Char(
        string="Enrolled in",
        compute="_compute_latest_details",
        help="Programmes the beneficiary registry lists for this child, other than "
        "this one (matched on the programme's registry identifier).",
    )
    disability_top_up = fields.Boolean(string="Disability Top-up", compute="_compute_outcomes", store=True)
    approved_by = fields.Many2one("res.users", string="Approved by", readonly=True, copy=False, tracking=True)
    enrolled_date = fields.Date(readonly=True, copy=False)
    reject_reason = fields.Text(string="Reason for Rejection", readonly=True, copy=False)
    rejected_by = fields.Many2one("res.users", string="Rejected by", readonly=True, copy=False)
    rejected_date = fields.Datetime(string="Rejected on", readonly=True, copy=False)

    @api.depends("child_id", "program_id")
    def _compute_name(self):
        for request in self:
            request.name = f"{request.program_id.name or ''}: {request.child_id.name or ''}"

    @api.depends("child_id.dci_identifier_ids.identifier_type", "child_id.dci_identifier_ids.value")
    def _compute_birth_identifier(self):
        for request in self:
            brn = request.child_id.dci_identifier_ids.filtered(lambda identifier: identifier.identifier_type == "BRN")
            request.birth_identifier = brn[:1].value

    @api.onchange("child_id")
    def _onchange_child_id(self):
        """The declared name starts as the chosen child's name, and the household as the child's."""
        if self.child_id:
            self.declared_name = self.child_id.name
            if self.child_id.parent_id.is_company:
                self.household_id = self.child_id.parent_id

    @api.onchange("household_id")
    def _onchange_household_id(self):
        if self.household_id and self.child_id and self.child_id.parent_id != self.household_id:
            self.child_id = False

    def _checked_subject(self):
        """A fingerprint of everything the checks looked at: a check counts only while it still matches."""
        self.ensure_one()
        subject = [
            self.child_id.id,
            self.birth_identifier or "",
            (self.declared_name or "").strip(),
            self.declared_birth_date.isoformat() if self.declared_birth_date else "",
            self.declared_sex or "",
            self.program_id.code or "",
        ]
        return hashlib.sha256(json.dumps(subject).encode()).hexdigest()

    def _latest_checks(self):
        self.ensure_one()
        subject = self._checked_subject()
        current = self.check_ids.filtered(lambda check: check.subject == subject)
        return {kind: current.filtered(lambda check, kind=kind: check.kind == kind)[:1] for kind, _label in KINDS}

    @api.depends(
        "check_ids.outcome",
        "check_ids.subject",
        "child_id",
        "program_id.code",
        "declared_name",
        "declared_birth_date",
        "declared_sex",
        "child_id.dci_identifier_ids.value",
        "child_id.dci_identifier_ids.identifier_type",
    )
    def _compute_outcomes(self):
        for request in self:
            latest = request._latest_checks()
            request.birth_outcome = latest["birth"].outcome
            request.enrolment_outcome = latest["enrolment"].outcome
            request.disability_outcome = latest["disability"].outcome
            request.disability_top_up = latest["disability"].outcome == "pwd"

    @api.depends(
        "check_ids.outcome",
        "check_ids.details",
        "check_ids.message",
        "check_ids.subject",
        "child_id",
        "program_id.code",
        "declared_name",
        "declared_birth_date",
        "declared_sex",
        "child_id.dci_identifier_ids.value",
    )
    def _compute_latest_details(self):
        for request in self:
            latest = request._latest_checks()
            request.birth_details_html = latest["birth"].details_html
            request.matched_programs = (
                latest["enrolment"].message if latest["enrolment"].outcome == "duplicate" else False
            )

    def _check_server_only(self, vals, new=False):
        """Users never set the state, the decision or the checks, on create, copy or write alike."""
        if self.env.su:
            return
        forced = SERVER_ONLY_FIELDS & vals.keys()
        if new:
            forced = {name for name in forced if vals[name] and not (name == "state" and vals[name] == "draft")}
        if forced:
            raise AccessError(
                self.env._("The state and check results of an enrollment request only change through its buttons.")
            )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_server_only(vals, new=True)
        return super().create(vals_list)

    def write(self, vals):
        self._check_server_only(vals)
        if CHECKED_FIELDS & vals.keys():
            decided = self.filtered(lambda request: request.state in ("rejected", "enrolled"))
            if decided:
                raise UserError(self.env._("%s is decided: what was checked can no longer change.", decided[0].name))
        result = super().write(vals)
        if CHECKED_FIELDS & vals.keys():
            self.filtered(lambda request: request.state in ("checked", "approved")).sudo().write(
                {"state": "draft", "approved_by": False}
            )
        return result

    # checks

    def _add_check(self, kind, run):
        """Run one check and record its outcome; a registry error is recorded, not hidden."""
        self.ensure_one()
        try:
            with self.env.cr.savepoint():
                outcome, details, message = run()
        except DCIError as error:
            outcome, details, message = "error", [], str(error)
        self.env["spp.dci.demo.check"].sudo().create(
            {
                "request_id": self.id,
                "kind": kind,
                "outcome": outcome,
                "details": json.dumps(details),
                "message": message,
                "user_id": self.env.uid,
                "subject": self._checked_subject(),
            }
        )
        return outcome

    def _require_identifier(self):
        if not self.birth_identifier:
            raise UserError(self.env._("%s has no birth registration number (BRN).", self.child_id.display_name))

    def action_verify_birth(self):
        self.check_access("write")
        for request in self:
            request._require_identifier()
        service = CRVSService(self.env, "crvs_main")
        try:
            for request in self:
                request._add_check(
                    "birth",
                    lambda request=request: request._birth_outcome(
                        service.verify_birth("BRN", request.birth_identifier)
                    ),
                )
                request._mark_checked()
        finally:
            service.close()
        return True

    def _birth_outcome(self, birth):
        """The outcome of a birth check from the registry's birth; a verified birth dates the child."""
        if birth is None:
            return "not_found", [], self.env._("The registry has no birth with this number.")
        outcome, rows = compare_birth(self, birth)
        if outcome == "verified" and birth["birth_date"]:
            self.child_id.sudo().dci_birth_date = birth["birth_date"]
        return outcome, rows, False

    def action_verify_birth_async(self):
        """The same check in DCI async mode: the result arrives at our callback."""
        self.ensure_one()
        self.check_access("write")
        self._require_identifier()
        service = CRVSService(self.env, "crvs_main")
        try:
            ack = service.client.search_async(
                "idtype-value", {"type": "BRN", "value": self.birth_identifier}, origin=f"{self._name},{self.id}"
            )
        finally:
            service.close()
        self.env["spp.dci.demo.check"].sudo().create(
            {
                "request_id": self.id,
                "kind": "birth",
                "outcome": "pending",
                "mode": "async",
                "transaction_id": ack["transaction_id"],
                "user_id": self.env.uid,
                "subject": self._checked_subject(),
            }
        )
        return True

    def action_refresh_async(self):
        """Pick up async results that arrived while this request was being saved."""
        self.check_access("write")
        pending = self.check_ids.filtered(lambda check: check.outcome == "pending")
        transactions = (
            self.env["spp.dci.transaction"]
            .sudo()
            .search([("transaction_id", "in", pending.mapped("transaction_id")), ("state", "=", "done")])
        )
        for transaction in transactions:
            pending.filtered(
                lambda check, txn=transaction: check.transaction_id == txn.transaction_id
            )._complete_async_birth(transaction._get_result())
        self._mark_checked()
        return True

    def action_check_enrolments(self):
        self.check_access("write")
        service = IBRService(self.env["spp.dci.data.source"].get_by_code("ibr_main"), self.env)
        try:
            for request in self:
                request._add_check(
                    "enrolment",
                    lambda request=request: request._enrolment_outcome(
                        service.check_duplication(request.child_id, exclude_programs=[request.program_id.code])
                    ),
                )
                request._mark_checked()
        finally:
            service.close()
        return True

    @staticmethod
    def _enrolment_outcome(result):
        if result["is_duplicate"]:
            return "duplicate", result["matched_programs"], ", ".join(result["matched_programs"])
        return "clear", [], False

    def action_check_disability(self):
        self.check_access("write")
        service = DRService(self.env, "dr_main")
        try:
            for request in self:
                request._add_check(
                    "disability",
                    lambda request=request: request._disability_outcome(
                        service.get_disability_status(request.child_id)
                    ),
                )
                request._mark_checked()
        finally:
            service.close()
        return True

    @staticmethod
    def _disability_outcome(status):
        if status is None:
            return "no_disability", [], False
        details = {"types": status["disability_types"], "scores": status["functional_scores"]}
        return ("pwd" if status["has_disability"] else "no_disability"), details, False

    def action_run_checks(self):
        self.action_verify_birth()
        self.action_check_enrolments()
        self.action_check_disability()
        return True

    def _mark_checked(self):
        for request in self.filtered(lambda request: request.state == "draft"):
            if (
                request.birth_outcome
                and request.enrolment_outcome
                and request.disability_outcome
                and "pending" not in (request.birth_outcome,)
            ):
                request.sudo().state = "checked"

    # decisions

    def _blocking_reasons(self):
        self.ensure_one()
        reasons = []
        if self.birth_outcome != "verified":
            reasons.append(
                self.env._(
                    "the birth is not verified (%s)", dict(OUTCOMES).get(self.birth_outcome, self.env._("not checked"))
                )
            )
        if self.enrolment_outcome != "clear":
            reasons.append(
                self.env._(
                    "other enrolments: %s", dict(OUTCOMES).get(self.enrolment_outcome, self.env._("not checked"))
                )
            )
        if self.disability_outcome in (False, "error", "pending"):
            reasons.append(self.env._("the disability check did not answer"))
        return reasons

    def action_approve(self):
        self._check_approver(self.env._("Only a Child Benefit approver can approve enrollment requests."))
        for request in self:
            if request.state != "checked":
                raise UserError(self.env._("Run the checks before approving %s.", request.name))
            reasons = request._blocking_reasons()
            if reasons:
                raise UserError(
                    self.env._(
                        "%(name)s cannot be approved: %(reasons)s.", name=request.name, reasons="; ".join(reasons)
                    )
                )
            request.sudo().write({"state": "approved", "approved_by": self.env.uid})
        return True

    def _check_approver(self, message):
        if not self.env.user.has_group(APPROVER_GROUP):
            raise AccessError(message)

    def action_reject(self):
        """Ask for the reason of the rejection (spp.dci.demo.reject records it)."""
        self._check_approver(self.env._("Only a Child Benefit approver can reject enrollment requests."))
        requests = self.filtered(lambda request: request.state in ("draft", "checked"))
        if not requests:
            raise UserError(self.env._("Only a request that is not yet decided can be rejected."))
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Reject"),
            "res_model": "spp.dci.demo.reject",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {"default_request_ids": [(6, 0, requests.ids)]},
        }

    @api.private
    def reject(self, reason):
        """Reject these requests for ``reason``: who and when are recorded, and the reason is posted."""
        self._check_approver(self.env._("Only a Child Benefit approver can reject enrollment requests."))
        reason = (reason or "").strip()
        if not reason:
            raise UserError(self.env._("Say why the request is rejected."))
        decided = self.filtered(lambda request: request.state not in ("draft", "checked"))
        if decided:
            raise UserError(self.env._("%s is already decided.", decided[0].name))
        self.sudo().write(
            {
                "state": "rejected",
                "reject_reason": reason,
                "rejected_by": self.env.uid,
                "rejected_date": fields.Datetime.now(),
            }
        )
        for request in self:
            request.message_post(body=self.env._("Rejected: %s", reason))
        return True

    def action_enroll(self):
        self.check_access("write")
        for request in self:
            if request.state != "approved":
                raise UserError(self.env._("Only an approved request can be enrolled."))
            reasons = request._blocking_reasons()
            if reasons:
                raise UserError(
                    self.env._(
                        "%(name)s cannot be enrolled: %(reasons)s.", name=request.name, reasons="; ".join(reasons)
                    )
                )
            request.sudo().write({"state": "enrolled", "enrolled_date": fields.Date.today()})
        return True

    # bulk

    @api.model
    def action_bulk_verify_births(self, requests=None):
        """Ask to verify the births of many requests (default: every draft); the work runs as a bulk run."""
        self.check_access("write")
        requests = requests if requests is not None else self.search([("state", "=", "draft")])
        requests.check_access("write")
        requests = requests.filtered("birth_identifier")
        if not requests:
            raise UserError(self.env._("No request with a birth registration number to verify."))
        wizard = self.env["spp.dci.demo.bulk.verify"].create({"request_ids": [(6, 0, requests.ids)]})
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Verify Births"),
            "res_model": "spp.dci.demo.bulk.verify",
            "res_id": wizard.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
        }

    def action_bulk_verify_selected(self):
        return self.action_bulk_verify_births(self)

    def _start_birth_run(self):
        """The bulk run verifying these requests' births, queued in crvs_main's channel."""
        self.check_access("write")
        data_source = self.env["spp.dci.data.source"].get_by_code("crvs_main")
        return self.env["spp.dci.bulk.run"]._start(
            data_source, "demo_birth", self.ids, self.env._("Birth checks of %s enrollment requests", len(self))
        )
