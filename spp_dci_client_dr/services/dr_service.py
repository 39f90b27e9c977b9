"""DRService: disability status and Washington Group scores from a disability registry.

    from odoo.addons.spp_dci_client_dr.services.dr_service import DRService
    service = DRService(env, data_source_code="dr_main")
    status = service.get_disability_status(partner)   # dict, or None when the registry has no record

Washington Group Short Set scores run from 1 (no difficulty) to 4 (cannot do
at all); the usual WG disability identifier is at least one domain at 3 or 4.
Registry errors raise and leave the local cache as it was.
"""

from odoo.addons.spp_dci_client.services import bulk
from odoo.addons.spp_dci_client.services import constants as C
from odoo.addons.spp_dci_client.services.registry_service import RegistryService, reg_records

WG_DOMAINS = {
    "VIS_SS": "Vision",
    "HEAR_SS": "Hearing",
    "MOB_SS": "Mobility",
    "COG_SS": "Cognition",
    "SC_SS": "Self-Care",
    "COM_SS": "Communication",
}
WG_NAMES = {name.lower(): name for name in WG_DOMAINS.values()} | {
    "selfcare": "Self-Care",
    "self_care": "Self-Care",
    "self-care": "Self-Care",
    "seeing": "Vision",
    "walking": "Mobility",
    "walking or climbing steps": "Mobility",
    "remembering": "Cognition",
    "remembering or concentrating": "Cognition",
    "communicating": "Communication",
}
# The Washington Group answers (CD.COM.11), as the DR spec's impairment_level carries them.
WG_LEVELS = {"no difficulty": 1, "some difficulty": 2, "a lot of difficulty": 3, "cannot do at all": 4}
# disability_status values: the spec's Approved, and the other workflow tokens OpenSPP's parser knows.
APPROVED_STATUSES = {"approved", "registered"}
REJECTED_STATUSES = {"rejected", "denied"}
MAX_RECORDS = 100  # records read per identifier, across pages


def _wg_domain(name):
    return WG_DOMAINS.get(str(name).upper()) or WG_NAMES.get(str(name).strip().lower())


def _wg_score(value):
    score = WG_LEVELS.get(str(value).strip().lower())
    if score is None:
        try:
            score = int(value)
        except (TypeError, ValueError):
            return None
    return score if 1 <= score <= 4 else None


def functional_scores(record):
    """{domain name: score 1-4} from a DR record.

    The DR spec carries the Washington Group answers in disability_details
    (impairment_type a WG domain, impairment_level a WG answer); the older
    functional_limitations list (domain, severity) is read too.
    """
    scores = {}
    for entry in record.get("functional_limitations") or record.get("functional_scores") or []:
        if isinstance(entry, dict):
            name = _wg_domain(entry.get("domain") or entry.get("domain_name") or "")
            score = _wg_score(entry.get("severity", entry.get("score")))
            if name and score:
                scores[name] = score
    for detail in record.get("disability_details") or []:
        if isinstance(detail, dict):
            name = _wg_domain(detail.get("impairment_type") or "")
            score = _wg_score(detail.get("impairment_level"))
            if name and score:
                scores[name] = score
    return scores


def wg_disability(scores):
    """The Washington Group disability identifier: a domain at 'a lot of difficulty' or worse."""
    return any(score >= 3 for score in scores.values())


def disability_status(record, source_code):
    """has_disability: the registry's approval, or else the WG identifier; a rejection is final."""
    scores = functional_scores(record)
    status = str(record.get("disability_status") or "").strip().lower()
    has_disability = status not in REJECTED_STATUSES and (status in APPROVED_STATUSES or wg_disability(scores))
    return {
        "has_disability": has_disability,
        "disability_types": sorted(
            {
                detail.get("impairment_type")
                for detail in record.get("disability_details") or []
                if isinstance(detail, dict)
                and detail.get("impairment_type")
                and not _wg_domain(detail["impairment_type"])
            }
        ),
        "functional_scores": scores,
        "disability_level": record.get("disability_level"),
        "registry_status": record.get("disability_status"),
        "assessment_date": (record.get("last_updated") or record.get("registration_date") or "")[:10] or None,
        "source_registry": source_code,
    }


def _record(item):
    """The item's record; of several (every page of them), the one updated last."""
    return max(reg_records(item), key=_updated, default=None)


def _updated(record):
    return str(record.get("last_updated") or record.get("registration_date") or "")


def _query(identifier_type, identifier_value):
    return {
        "query_type": C.QUERY_IDTYPE_VALUE,
        "query": {"type": identifier_type, "value": identifier_value},
        "max_records": MAX_RECORDS,
    }


class DRService(RegistryService):
    """Disability status lookups, the PWD decision and the local status cache."""

    registry_type = C.REGISTRY_DR

    def __init__(self, env, data_source_code="dr_main", *, client=None):
        super().__init__(env, data_source_code, client=client)

    def get_functional_assessment(self, identifier_type, identifier_value):
        """Washington Group scores keyed Vision, Hearing, Mobility, Cognition, Self-Care, Communication."""
        record = _record(self.client.search_batch([_query(identifier_type, identifier_value)])[0])
        return functional_scores(record) if record else {}

    def get_disability_status(self, partner):
        """The registry's disability status of the partner (fresh, and cached), or None when it has no record."""
        return self._fetch(partner)[partner.id]

    def is_pwd(self, partner):
        """Person with disability, from the cache; a stale or missing cache entry is refreshed first."""
        cache = self.env["spp.dci.disability.status"].sudo()._for_partner(partner)
        if not cache or cache._is_stale():
            self._fetch(partner)
            cache = self.env["spp.dci.disability.status"].sudo()._for_partner(partner)
        return cache.is_pwd

    def sync_disability_data(self, partners):
        """Refresh the cache of many partners in batched requests; returns {partner id: status or None}.

        Beyond SYNC_LIMIT partners the refresh goes to the job queue instead,
        and the spp.dci.bulk.run record is returned (see start_sync_disability_data).
        """
        if len(partners) > bulk.SYNC_LIMIT:
            return self.start_sync_disability_data(partners)
        return self._fetch(partners)

    def start_sync_disability_data(self, partners, name=None):
        """sync_disability_data as a bulk run in the job queue; returns the spp.dci.bulk.run."""
        return self.env["spp.dci.bulk.run"]._start(
            self.data_source,
            "dr_sync",
            partners.ids,
            name or self.env._("Disability sync on %s", self.data_source.sudo().code),
        )

    def _fetch(self, partners):
        found = {}
        for partner_id, item in self._search_partners(
            partners, _query, self.env._("%s has no registry identifier to look up.")
        ):
            record = _record(item)
            if record and partner_id not in found:
                found[partner_id] = record
        results = {}
        cache = self.env["spp.dci.disability.status"].sudo()
        for partner in partners:
            record = found.get(partner.id)
            status = disability_status(record, self.data_source.sudo().code) if record else None
            cache._store(partner, self.data_source, status, record)
            results[partner.id] = status
        return results
