"""IBRService: is this person already a beneficiary elsewhere?

    from odoo.addons.spp_dci_client_ibr.services.ibr_service import IBRService
    service = IBRService(env["spp.dci.data.source"].get_by_code("ibr_main"), env)
    result = service.check_duplication(partner)   # {"is_duplicate", "matched_programs", "raw_response"}

Note the constructor shape: (data_source, env), record first. The check fails
closed: when the registry cannot answer for an identifier, it raises; it never
reports "not a duplicate" on an error.
"""

from dataclasses import asdict, dataclass, field

from odoo.api import Environment

from odoo.addons.spp_dci_client.services import bulk
from odoo.addons.spp_dci_client.services import constants as C
from odoo.addons.spp_dci_client.services import envelope as E
from odoo.addons.spp_dci_client.services.registry_service import RegistryService, reg_records

ENROLLED_STATUSES = ("Active", "Suspended", "1", "4", 1, 4)
PAGE_SIZE = 100
MAX_RECORDS = 1000  # enrolments read per identifier, across pages


@dataclass
class DuplicationResult:
    is_duplicate: bool
    matched_programs: list
    raw_response: object = None

    def to_dict(self):
        return asdict(self)


@dataclass
class BeneficiaryInfo:
    identifier_type: str
    identifier_value: str
    name: str
    programs: list = field(default_factory=list)
    metadata: dict = field(default_factory=dict)

    def to_dict(self):
        return asdict(self)


def _programme(record):
    """(identifier, name, status, enrolment date) of one beneficiary record."""
    enrolment = record.get("programme_identifier") or {}
    programme = enrolment.get("programme") or enrolment.get("program") or {}
    return (
        programme.get("programme_identifier"),
        programme.get("programme_name"),
        enrolment.get("enrolment_status"),
        enrolment.get("enrolment_date"),
    )


def _name(record):
    member = record.get("member") or record.get("group") or {}
    name = (member.get("demographic_info") or member).get("name") or {}
    if isinstance(name, dict):
        return " ".join(part for part in (name.get("given_name"), name.get("surname")) if part)
    return str(name)


class IBRService(RegistryService):
    """Duplicate-enrolment checks and beneficiary lookups against an integrated beneficiary registry."""

    registry_type = C.REGISTRY_IBR

    def __init__(self, data_source, env, *, client=None):  # pylint: disable=super-init-not-called
        """OpenSPP's shape, the record first (RegistryService's is env first)."""
        shape = "IBRService(data_source, env): the spp.dci.data.source record first, then the environment"
        if isinstance(data_source, Environment) or not isinstance(env, Environment):
            raise TypeError(f"{shape}. IBRService(env, code) is the CRVS/DR shape and does not apply here.")
        if getattr(data_source, "_name", None) != "spp.dci.data.source":
            raise TypeError(f"{shape}; got {type(data_source).__name__} as data_source.")
        self._bind(env, data_source, client)

    def search_beneficiary(self, identifier_type, identifier_value):
        """The registry's beneficiary records for one identifier, as BeneficiaryInfo dicts."""
        item = self.client.search_batch([self._query(identifier_type, identifier_value)])[0]
        return [info.to_dict() for info in self._beneficiaries(item, identifier_type, identifier_value)]

    @staticmethod
    def _query(identifier_type, identifier_value):
        """One identifier's enrolments, every page of them up to MAX_RECORDS."""
        return {
            "query_type": C.QUERY_IDTYPE_VALUE,
            "query": E.idtype_value_query(identifier_type, identifier_value),
            "page_size": PAGE_SIZE,
            "max_records": MAX_RECORDS,
        }

    @staticmethod
    def _beneficiaries(item, identifier_type, identifier_value):
        by_person = {}
        for record in reg_records(item):
            code, name, status, enrolled = _programme(record)
            info = by_person.setdefault(
                _name(record),
                BeneficiaryInfo(identifier_type, str(identifier_value), _name(record), [], {"enrolments": []}),
            )
            if name and name not in info.programs:
                info.programs.append(name)
            info.metadata["enrolments"].append(
                {
                    "programme_identifier": code,
                    "programme_name": name,
                    "enrolment_status": status,
                    "enrolment_date": enrolled,
                }
            )
        return list(by_person.values())

    def check_duplication(self, partner, exclude_programs=None):
        """Is the partner enrolled in another programme? All its identifiers go in one request.

        ``exclude_programs``: programme identifiers or names run by the caller's
        own system, which do not count. Returns DuplicationResult.to_dict()
        and stores an audit record of the check.
        """
        return self.check_duplications(partner, exclude_programs)[partner.id]

    def check_duplications(self, partners, exclude_programs=None):
        """check_duplication for many partners in batched requests: {partner id: result dict}.

        Beyond SYNC_LIMIT partners the checks go to the job queue instead, and
        the spp.dci.bulk.run record is returned (see start_check_duplications).
        """
        if len(partners) > bulk.SYNC_LIMIT:
            return self.start_check_duplications(partners, exclude_programs)
        found = self._search_partners(
            partners,
            self._query,
            self.env._("%s has no registry identifier: add one (UIN, BRN, ...) before checking other enrolments."),
        )
        excluded = set(exclude_programs or ())
        results = {}
        for partner in partners:
            mine = [item for partner_id, item in found if partner_id == partner.id]
            matched = set()
            for item in mine:
                for info in self._beneficiaries(item, "", ""):
                    for enrolment in info.metadata["enrolments"]:
                        code, name = enrolment["programme_identifier"], enrolment["programme_name"]
                        if enrolment["enrolment_status"] in ENROLLED_STATUSES and not excluded & {code, name}:
                            matched.add(name or code)
            result = DuplicationResult(bool(matched), sorted(matched), mine)
            self.env["spp.dci.ibr.check"].sudo().create(
                {
                    "partner_id": partner.id,
                    "data_source_id": self.data_source.id,
                    "is_duplicate": result.is_duplicate,
                    "matched_programs": ", ".join(result.matched_programs),
                    "user_id": self.env.uid,
                }
            )
            results[partner.id] = result.to_dict()
        return results

    def get_enrollment_status(self, identifier_type, identifier_value):
        """{"enrolled", "programs", "beneficiary_info"} for one identifier.

        Only enrolments that are current (Active or Suspended) count: a
        Graduated or Deceased enrolment is history, not an enrolment. Registry
        errors raise; they never read as "not enrolled".
        """
        infos = self.search_beneficiary(identifier_type, identifier_value)
        programs = sorted(
            {
                enrolment["programme_name"] or enrolment["programme_identifier"]
                for info in infos
                for enrolment in info["metadata"]["enrolments"]
                if enrolment["enrolment_status"] in ENROLLED_STATUSES
                and (enrolment["programme_name"] or enrolment["programme_identifier"])
            }
        )
        return {"enrolled": bool(programs), "programs": programs, "beneficiary_info": infos[0] if infos else None}

    def start_check_duplications(self, partners, exclude_programs=None, name=None):
        """check_duplications as a bulk run in the job queue; returns the spp.dci.bulk.run.

        Each item's result is check_duplication's dict without raw_response;
        the audit records are stored as the jobs go.
        """
        return self.env["spp.dci.bulk.run"]._start(
            self.data_source,
            "ibr_duplication",
            partners.ids,
            name or self.env._("Duplication checks on %s", self.data_source.sudo().code),
            options={"exclude_programs": list(exclude_programs or ())},
        )

    def is_enrolled(self, identifier_type, identifier_value):
        """The registry's yes/no answer (/registry/sync/enrolled): is this person enrolled anywhere?"""
        transaction_id = E.new_id()
        message = {
            "transaction_id": transaction_id,
            "enrolled_criteria": {
                "query_type": C.QUERY_IDTYPE_VALUE,
                "response_entity": "Member",
                "query": {
                    "identifier_type": E.check_token(identifier_type, "identifier_type"),
                    "identifier_value": E.check_value(identifier_value, "identifier_value"),
                },
            },
        }
        _envelope, items = self.client.post_sync(
            C.PATH_SYNC_ENROLLED, C.ACTION_SEARCH, message, list_key="enrolled_response", reference_ids=[transaction_id]
        )
        return str(items[transaction_id].get("enrolled_status")).lower() in ("yes", "true", "1", "enrolled")
