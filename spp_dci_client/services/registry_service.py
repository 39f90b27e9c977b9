"""RegistryService: what CRVSService, IBRService and DRService share.

Construction (argument checks with TypeErrors naming the right shape, the
data source lookup, its registry type), the client (the data source's, or one
given), context management, and reading search answers.

    with DRService(env, "dr_main") as service:
        status = service.get_disability_status(partner)

A caller that already holds a client (a bulk job, whose client makes no
retries of its own) passes it: ``DRService(env, "dr_main", client=client)``;
the service then leaves closing it to that caller.
"""

from odoo.api import Environment
from odoo.exceptions import UserError

from .errors import DCIValidationError


class RegistryService:
    registry_type = None  # the spec's registry type (constants.REGISTRY_*) the data source must serve

    def __init__(self, env, data_source_code, *, client=None):
        """The (env, data_source_code) shape of CRVSService and DRService."""
        shape = f"{type(self).__name__}(env, data_source_code='...')"
        if not isinstance(env, Environment):
            raise TypeError(f"{shape}: the first argument must be the Odoo environment, got {type(env).__name__}")
        if not isinstance(data_source_code, str):
            raise TypeError(
                f"{shape}: data_source_code must be the data source's code (a string), "
                f"got {type(data_source_code).__name__}"
            )
        self._bind(env, env["spp.dci.data.source"].get_by_code(data_source_code), client)

    def _bind(self, env, data_source, client=None):
        """Use ``data_source`` (DCIValidationError unless it serves registry_type) through ``client`` or its own."""
        data_source.ensure_one()
        if data_source.sudo().registry_type != self.registry_type:
            raise DCIValidationError(
                env._(
                    "Data source %(code)s is not a %(kind)s registry.",
                    code=data_source.sudo().code,
                    kind=self.registry_type,
                )
            )
        self.env = env
        self.data_source = data_source
        self._owns_client = client is None
        self.client = client or data_source._dci_client()

    def close(self):
        if self._owns_client:
            self.client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def _search_partners(self, partners, query, no_identifier_message):
        """Search every identifier of every partner in batched envelopes: [(partner id, search_response item)].

        ``query(identifier_type, identifier_value)`` is the search of one
        identifier; a partner without identifiers raises UserError with
        ``no_identifier_message`` (with %s, the partner's name) before
        anything is sent.
        """
        pairs = []
        for partner in partners:
            identifiers = partner._get_dci_identifiers()
            if not identifiers:
                raise UserError(no_identifier_message % partner.display_name)
            pairs.extend((partner.id, kind, value) for kind, value in identifiers)
        items = self.client.search_batch([query(kind, value) for _partner_id, kind, value in pairs])
        return [(partner_id, item) for (partner_id, _kind, _value), item in zip(pairs, items, strict=True)]


def reg_records(item):
    """The records of one search_response item, as a list of dicts (a single record or none included)."""
    records = (item.get("data") or {}).get("reg_records") or []
    if isinstance(records, dict):
        records = [records]
    return [record for record in records if isinstance(record, dict)] if isinstance(records, list) else []
