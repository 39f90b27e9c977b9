"""Subscribe filters, the pagination helpers and predicate checks, as plain functions."""

import copy

import pytest

from odoo.addons.spp_dci_client.services import constants as C
from odoo.addons.spp_dci_client.services import envelope as E
from odoo.addons.spp_dci_client.services.errors import DCIConfigurationError
from odoo.addons.spp_dci_client.tests.spec import schema_errors


@pytest.mark.parametrize(
    ("filter_query", "expected"),
    [
        ({"type": "ns:org:QueryType:expression", "value": {"expression": {}}}, "expression"),
        ({"type": "BRN", "value": "BR-2024-0042"}, "idtype-value"),
        (
            [
                {
                    "seq_num": 1,
                    "expression1": {"attribute_name": "birth_date", "operator": "ge", "attribute_value": "2024-01-01"},
                }
            ],
            "predicate",
        ),
    ],
)
def test_subscribe_filter_type_follows_the_filter(filter_query, expected):
    message = E.subscribe_message(
        "T-1",
        reg_type=C.REGISTRY_CIVIL,
        event_type="live_birth",
        filter_query=filter_query,
        notify_record_type="ns:org:RegistryRecordType:Person",
    )
    criteria = message["subscribe_request"][0]["subscribe_criteria"]
    assert criteria["filter_type"] == expected
    assert schema_errors("crvs", "SubscribeRequest", message) == []


def item(records, total, status="succ"):
    return {
        "status": status,
        "data": {"reg_records": records},
        "pagination": {"page_size": 2, "page_number": 1, "total_count": total},
    }


def test_has_more_records_trusts_neither_a_lying_total_nor_a_missing_one():
    assert E.has_more_records(item([1, 2], 5), limit=10)
    assert not E.has_more_records(item([1, 2], 5), limit=2)
    assert not E.has_more_records(item([1, 2], 2), limit=10)
    assert not E.has_more_records(item([1, 2], "5"), limit=10)
    assert not E.has_more_records(item([1, 2], True), limit=10)
    assert not E.has_more_records(item([], 5), limit=10)
    assert not E.has_more_records(item({"one": "record"}, 5), limit=10)
    assert not E.has_more_records(item([1, 2], 5, status="rjct"), limit=10)
    assert not E.has_more_records({"status": "succ", "data": {"reg_records": [1]}}, limit=10)


def test_merge_page_stops_at_the_limit_and_on_empty_pages():
    held = item([1, 2], 100)
    assert E.merge_page(held, item([3, 4], 100), limit=3)
    assert held["data"]["reg_records"] == [1, 2, 3]
    assert not E.merge_page(held, item([], 100), limit=10)
    assert not E.merge_page(held, item([5], 100, status="rjct"), limit=10)
    assert held["data"]["reg_records"] == [1, 2, 3]


@pytest.mark.parametrize("limit", [0, -1, 1.5, "10", True, E.MAX_RECORD_LIMIT + 1])
def test_record_limit_is_checked(limit):
    with pytest.raises(DCIConfigurationError):
        E.check_record_limit(limit)


def test_check_predicate_does_not_change_its_input():
    predicate = [
        {"expression1": {"attribute_name": "sex", "operator": "eq", "attribute_value": "female"}},
        {
            "seq_num": 7,
            "expression1": {"attribute_name": "birth_date", "operator": "ge", "attribute_value": "2020-01-01"},
        },
    ]
    given = copy.deepcopy(predicate)
    checked = E.check_predicate(predicate)
    assert predicate == given
    assert [item["seq_num"] for item in checked] == [1, 7]
    item = E.search_item(C.QUERY_PREDICATE, predicate, reg_type=C.REGISTRY_CIVIL)
    assert predicate == given
    assert item["search_criteria"]["query"][0]["seq_num"] == 1
