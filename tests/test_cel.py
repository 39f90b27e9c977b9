"""The CEL-subset translator: a table of cases, and properties checked against an evaluator of our own.

The oracle evaluates the generated expression tree directly (it never reads
the CEL text) and the produced predicate list by the spec's reading (items
joined by and; each item one comparison, its negation, or two joined by and
or or); both must agree on every record. Every translation is also validated,
inside a whole search envelope, against the SPDCI YAML.
"""

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from odoo.exceptions import ValidationError

from odoo.addons.spp_dci_client.services import constants as C
from odoo.addons.spp_dci_client.services import envelope as E
from odoo.addons.spp_dci_client.services.cel import to_predicate
from odoo.addons.spp_dci_client.services.errors import DCIError, DCIQueryError
from odoo.addons.spp_dci_client.tests.spec import request_errors


def expression(name, operator, value):
    return {"attribute_name": name, "operator": operator, "attribute_value": value}


TABLE = [
    ('sex == "female"', [{"seq_num": 1, "expression1": expression("sex", "eq", "female")}]),
    (
        'birth_date >= "2020-01-01" && sex == "female"',
        [
            {
                "seq_num": 1,
                "expression1": expression("birth_date", "ge", "2020-01-01"),
                "condition": "and",
                "expression2": expression("sex", "eq", "female"),
            }
        ],
    ),
    ("person.age >= 18", [{"seq_num": 1, "expression1": expression("person.age", "ge", 18)}]),
    ("18 <= person.age", [{"seq_num": 1, "expression1": expression("person.age", "ge", 18)}]),
    ("score < -2.5", [{"seq_num": 1, "expression1": expression("score", "lt", -2.5)}]),
    ('birth_date > date("2024-02-29")', [{"seq_num": 1, "expression1": expression("birth_date", "gt", "2024-02-29")}]),
    (
        'updated <= timestamp("2024-01-31T10:00:00Z")',
        [{"seq_num": 1, "expression1": expression("updated", "le", "2024-01-31T10:00:00Z")}],
    ),
    ("active == true", [{"seq_num": 1, "expression1": expression("active", "eq", True)}]),
    ("name == 'O\\'Brien'", [{"seq_num": 1, "expression1": expression("name", "eq", "O'Brien")}]),
    ('sex != "male"', [{"seq_num": 1, "expression1": expression("sex", "eq", "male"), "condition": "not"}]),
    (
        '!(sex == "male" || sex == "other")',
        [
            {"seq_num": 1, "expression1": expression("sex", "eq", "male"), "condition": "not"},
            {"seq_num": 2, "expression1": expression("sex", "eq", "other"), "condition": "not"},
        ],
    ),
    (
        'sex in ["female", "other"]',
        [
            {
                "seq_num": 1,
                "expression1": expression("sex", "eq", "female"),
                "condition": "or",
                "expression2": expression("sex", "eq", "other"),
            }
        ],
    ),
    ('sex in ["female"]', [{"seq_num": 1, "expression1": expression("sex", "eq", "female")}]),
    (
        "(a == 1 && b == 2) || c == 3",
        [
            {
                "seq_num": 1,
                "expression1": expression("a", "eq", 1),
                "condition": "or",
                "expression2": expression("c", "eq", 3),
            },
            {
                "seq_num": 2,
                "expression1": expression("b", "eq", 2),
                "condition": "or",
                "expression2": expression("c", "eq", 3),
            },
        ],
    ),
    (
        "a == 1 && a == 1 && b == 2",
        [
            {
                "seq_num": 1,
                "expression1": expression("a", "eq", 1),
                "condition": "and",
                "expression2": expression("b", "eq", 2),
            }
        ],
    ),
    (
        "x == 1 && (y == 2 || z == 3) && w == 4",
        [
            {
                "seq_num": 1,
                "expression1": expression("y", "eq", 2),
                "condition": "or",
                "expression2": expression("z", "eq", 3),
            },
            {
                "seq_num": 2,
                "expression1": expression("x", "eq", 1),
                "condition": "and",
                "expression2": expression("w", "eq", 4),
            },
        ],
    ),
]

ERRORS = [
    ("a == 1 || b == 2 || c == 3", "a == 1 || b == 2 || c == 3", "more than two"),
    ("a != 1 || b == 2", "!(a == 1) || b == 2", "negation inside an 'or'"),
    ('x in ["a", "b", "c"]', "x == 'a' || x == 'b' || x == 'c'", "more than two"),
    ("size(name) > 3", "size", "function size()"),
    ("name.startsWith('A')", "name.startsWith", "function"),
    ("a == null", "null", "null is not supported"),
    ("a + 1 == 2", "+ 1", "unexpected character"),
    ("a == b", "a == b", "one attribute and one literal"),
    ("1 == 1", "1 == 1", "one attribute and one literal"),
    ('d == date("2024-02-30")', "date", "date() needs YYYY-MM-DD"),
    ('t == timestamp("2024-01-01T10:00:00")', "timestamp", "time zone"),
    ("a == 1e999", "1e999", "out of range"),
    ("a ==", "the end", "a literal"),
    ("(a == 1", "the end", "expected ')'"),
    ("a == 1)", ")", "unexpected text"),
    ('a == "unterminated', '"unterminated', "unexpected character"),
    ("a in []", "]", "a literal"),
    ("a", "the end", "comparison operator"),
    ("", "''", "non-empty"),
    ("(" * 40 + "a == 1" + ")" * 40, "(", "nested more than"),
    (" && ".join(f"a{i} == 1" for i in range(101)), "a100", "more than 100"),
    (" || ".join(f"(a{i} == 1 && b{i} == 2)" for i in range(7)), "whole expression", "too many combinations"),
]


@pytest.mark.parametrize(("text", "expected"), TABLE)
def test_translation_table(text, expected):
    assert to_predicate(text) == expected


@pytest.mark.parametrize(("text", "part", "reason"), ERRORS)
def test_unsupported_parts_are_named(text, part, reason):
    with pytest.raises(DCIQueryError) as error:
        to_predicate(text)
    assert part in error.value.part
    assert reason in str(error.value)
    assert isinstance(error.value, ValidationError)
    assert isinstance(error.value, DCIError)


@pytest.mark.parametrize("value", [None, 42, ["a == 1"], {"a": 1}])
def test_non_strings_are_refused(value):
    with pytest.raises(DCIQueryError):
        to_predicate(value)


# The oracle: comparison semantics shared by both sides of the property, written here from the spec.


def compare(left, operator, right):
    if left is None:
        return False
    if isinstance(left, bool) or isinstance(right, bool):
        return operator == "eq" and isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, str) != isinstance(right, str):
        return False
    return {"eq": left == right, "lt": left < right, "le": left <= right, "gt": left > right, "ge": left >= right}[
        operator
    ]


def evaluate_tree(tree, record):
    kind = tree[0]
    if kind == "cmp":
        return compare(record.get(tree[1]), tree[2], tree[3])
    if kind == "ne":
        return not compare(record.get(tree[1]), "eq", tree[2])
    if kind == "in":
        return any(compare(record.get(tree[1]), "eq", value) for value in tree[2])
    if kind == "not":
        return not evaluate_tree(tree[1], record)
    if kind == "and":
        return evaluate_tree(tree[1], record) and evaluate_tree(tree[2], record)
    return evaluate_tree(tree[1], record) or evaluate_tree(tree[2], record)


def evaluate_items(items, record):
    def holds(expression):
        return compare(record.get(expression["attribute_name"]), expression["operator"], expression["attribute_value"])

    result = True
    for item in items:
        condition = item.get("condition")
        if condition == "not":
            value = not holds(item["expression1"])
        elif condition == "and":
            value = holds(item["expression1"]) and holds(item["expression2"])
        elif condition == "or":
            value = holds(item["expression1"]) or holds(item["expression2"])
        else:
            assert "expression2" not in item
            value = holds(item["expression1"])
        result = result and value
    return result


SYMBOLS = {"eq": "==", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


def literal(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


def render(tree):
    kind = tree[0]
    if kind == "cmp":
        return f"{tree[1]} {SYMBOLS[tree[2]]} {literal(tree[3])}"
    if kind == "ne":
        return f"{tree[1]} != {literal(tree[2])}"
    if kind == "in":
        return f"{tree[1]} in [{', '.join(map(literal, tree[2]))}]"
    if kind == "not":
        return f"!({render(tree[1])})"
    return f"({render(tree[1])} {'&&' if kind == 'and' else '||'} {render(tree[2])})"


NAMES = st.sampled_from(["sex", "birth_date", "person.age", "score", "active"])
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=12).filter(
    lambda text: text.strip() == text
)
DATES = st.dates().map(lambda day: day.isoformat())
FRACTIONS = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6).filter(
    lambda number: not number.is_integer()
)


def trees(values):
    comparisons = st.one_of(
        st.tuples(st.just("cmp"), NAMES, st.sampled_from(list(SYMBOLS)), values),
        st.tuples(st.just("ne"), NAMES, values),
        st.tuples(st.just("in"), NAMES, st.lists(values, min_size=1, max_size=3)),
    )
    return st.recursive(
        comparisons,
        lambda children: st.one_of(
            st.tuples(st.just("not"), children),
            st.tuples(st.sampled_from(["and", "or"]), children, children),
        ),
        max_leaves=6,
    )


SCHEMA_VALUES = st.one_of(TEXT, DATES, FRACTIONS, st.booleans())
ALL_VALUES = st.one_of(SCHEMA_VALUES, st.integers(min_value=-1000, max_value=1000))
RECORDS = st.fixed_dictionaries(
    {},
    optional={
        "sex": ALL_VALUES,
        "birth_date": ALL_VALUES,
        "person.age": ALL_VALUES,
        "score": ALL_VALUES,
        "active": ALL_VALUES,
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees(ALL_VALUES), st.lists(RECORDS, min_size=1, max_size=8))
def test_translation_means_what_the_expression_means(tree, records):
    try:
        items = to_predicate(render(tree))
    except DCIQueryError as error:
        assert error.part
        return
    assert [item["seq_num"] for item in items] == list(range(1, len(items) + 1))
    for record in records:
        assert evaluate_items(items, record) == evaluate_tree(tree, record), (render(tree), items, record)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees(SCHEMA_VALUES))
def test_translations_are_valid_against_the_spec(tree):
    try:
        items = to_predicate(render(tree))
    except DCIQueryError:
        return
    item = E.search_item(C.QUERY_PREDICATE, items, reg_type=C.REGISTRY_CIVIL)
    envelope = {
        "header": E.header(C.ACTION_SEARCH, sender_id="openspp.test"),
        "message": E.search_message(E.new_id(), [item]),
    }
    assert request_errors("crvs", "/registry/sync/search", envelope) == []


def test_integer_literals_meet_the_spec_oneof_ambiguity():
    """The spec's attribute_value is oneOf string/integer/number/boolean: an integer matches two of them.

    A known spec problem (dci-protocol.md): integers are sent as integers,
    and only this oneOf complaint is tolerated.
    """
    item = E.search_item(C.QUERY_PREDICATE, to_predicate("person.age >= 18"), reg_type=C.REGISTRY_CIVIL)
    envelope = {
        "header": E.header(C.ACTION_SEARCH, sender_id="openspp.test"),
        "message": E.search_message(E.new_id(), [item]),
    }
    errors = request_errors("crvs", "/registry/sync/search", envelope)
    assert errors
    assert all(
        "attribute_value" in error or "is not valid under any of the given schemas" in error for error in errors
    ), errors


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.sampled_from([*"ab_.1 2\"'()[]!&|<>=,-", "&&", "||", "==", "true", " in ", "date(", "null"]), max_size=30
    ).map("".join)
)
def test_any_text_translates_or_raises_the_typed_error(text):
    try:
        items = to_predicate(text)
    except DCIQueryError as error:
        assert error.part
        return
    for item in items:
        for key in ("expression1", "expression2"):
            if key in item:
                value = item[key]["attribute_value"]
                assert not isinstance(value, float) or math.isfinite(value)
