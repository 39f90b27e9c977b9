import json
from datetime import date

from markupsafe import Markup, escape

from odoo import fields, models
from odoo.tools.misc import format_date

from odoo.addons.spp_dci_client_crvs.services.crvs_service import birth_result, first_record

KINDS = [
    ("birth", "Birth verification (CRVS)"),
    ("enrolment", "Other enrolments (IBR)"),
    ("disability", "Disability (DR)"),
]
ASYNC_DONE = "spp_dci_demo/async_check_done"
OUTCOMES = [
    ("verified", "Verified"),
    ("mismatch", "Does not match"),
    ("not_found", "Not registered"),
    ("clear", "Not enrolled elsewhere"),
    ("duplicate", "Enrolled elsewhere"),
    ("pwd", "Person with disability"),
    ("no_disability", "No disability recorded"),
    ("pending", "Waiting for the registry"),
    ("error", "Registry error"),
]


def compare_birth(request, birth):
    """Field-by-field comparison of what was declared with the registered birth.

    Each row holds the raw values (ISO dates, selection keys) under ``key``;
    they are formatted for the reader when shown.
    """
    declared = {
        "name": (request.declared_name or "").strip(),
        "birth_date": request.declared_birth_date.isoformat() if request.declared_birth_date else "",
        "sex": request.declared_sex or "",
    }
    registered = {"name": birth["person_name"], "birth_date": birth["birth_date"] or "", "sex": birth["sex"]}
    declared["vital_status"] = "alive"
    registered["vital_status"] = "deceased" if birth["is_deceased"] else "alive"
    env = request.env
    labels = {
        "name": env._("Name"),
        "birth_date": env._("Date of birth"),
        "sex": env._("Sex"),
        "vital_status": env._("Vital status"),
    }
    rows = [
        {
            "key": name,
            "field": labels[name],
            "declared": declared[name],
            "registered": registered[name],
            "match": declared[name].casefold() == registered[name].casefold(),
        }
        for name in declared
    ]
    return ("verified" if all(row["match"] for row in rows) else "mismatch"), rows


def format_value(env, key, value):
    """A compared value as the form shows its field: dates as the web client shows them (Mar 15, 2024, in the
    user's language), selections by label."""
    if not value:
        return value
    if key == "birth_date":
        try:
            return format_date(env, date.fromisoformat(value), date_format="medium")
        except ValueError:
            return value
    labels = {
        "sex": dict(env["spp.dci.demo.enrollment"]._fields["declared_sex"]._description_selection(env)),
        "vital_status": {"alive": env._("Alive"), "deceased": env._("Deceased")},
    }.get(key, {})
    return labels.get(str(value).casefold(), value)


class DciDemoCheck(models.Model):
    """The result of one registry check of an enrollment request.

    Only server code creates or completes these (users have read access), and
    the request's outcomes are computed from them: they cannot be forged by
    writing fields over RPC.
    """

    _name = "spp.dci.demo.check"
    _description = "Enrollment Registry Check"
    _order = "id desc"

    request_id = fields.Many2one("spp.dci.demo.enrollment", required=True, ondelete="cascade", index=True)
    kind = fields.Selection(KINDS, string="Check", required=True)
    outcome = fields.Selection(OUTCOMES, required=True)
    mode = fields.Selection(
        [("sync", "Synchronous"), ("async", "Asynchronous (callback)")], default="sync", required=True
    )
    transaction_id = fields.Char(string="Transaction ID", index=True)
    details = fields.Text(help="JSON: the field-by-field comparison or the registry's answer.")
    message = fields.Char(string="Note")
    user_id = fields.Many2one("res.users", string="Checked by", default=lambda self: self.env.user)
    check_date = fields.Datetime(string="Checked on", default=fields.Datetime.now)
    subject = fields.Char(readonly=True, help="Fingerprint of the request's checked values when this check ran.")
    details_html = fields.Html(compute="_compute_details_html", sanitize=True)

    def _compute_details_html(self):
        for check in self:
            rows = json.loads(check.details or "[]")
            if check.kind != "birth" or not isinstance(rows, list) or not rows:
                check.details_html = False
                continue
            lines = Markup("").join(
                Markup("<tr class='%s'><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>")
                % (
                    "" if row["match"] else "table-danger",
                    escape(row["field"]),
                    escape(format_value(self.env, row.get("key"), row["declared"])),
                    escape(format_value(self.env, row.get("key"), row["registered"])),
                    "✔" if row["match"] else "✘",
                )
                for row in rows
            )
            check.details_html = Markup(
                "<table class='table table-sm o_dci_comparison'><thead><tr><th>%s</th><th>%s</th>"
                "<th>%s</th><th></th></tr></thead><tbody>%s</tbody></table>"
            ) % (self.env._("Field"), self.env._("Declared"), self.env._("Registered (civil registry)"), lines)

    def _complete_async_birth(self, message):
        """Finish a pending async birth check from the on-search callback message, and tell its user."""
        for check in self.filtered(lambda check: check.outcome == "pending"):
            request = check.request_id
            birth = birth_result(first_record(message["search_response"][0]), "BRN", request.birth_identifier)
            outcome, rows, text = request._birth_outcome(birth)
            check.sudo().write({"outcome": outcome, "details": json.dumps(rows), "message": text})
            check.user_id._bus_send(ASYNC_DONE, {"model": request._name, "id": request.id})
