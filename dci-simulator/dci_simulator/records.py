"""Registry records in the spec's shapes, and the queries that select them."""

from datetime import date

# Washington Group domains and answers, as the DR spec's disability_details carries them.
WG_NAMES = {
    "VIS_SS": "Seeing",
    "HEAR_SS": "Hearing",
    "MOB_SS": "Walking",
    "COG_SS": "Remembering",
    "SC_SS": "Self-care",
    "COM_SS": "Communicating",
}
WG_LEVELS = {1: "No difficulty", 2: "Some difficulty", 3: "A lot of difficulty", 4: "Cannot do at all"}
ENROLMENT_STATUS = {1: "Active", 2: "Deceased", 3: "Graduated", 4: "Suspended"}


class QueryError(ValueError):
    """A query the registry cannot run; answered with rjct.search_criteria.invalid."""


def identifier(kind, value):
    return {"identifier_type": kind, "identifier_value": value}


def crvs_record(person, spelling="birth_date"):
    record = {
        "identifier": [identifier(kind, value) for kind, value in person.identifiers()],
        "name": {"given_name": person.given_name, "surname": person.surname},
        "sex": person.sex,
        spelling: person.birth_date.isoformat(),
        "birth_place": {"name": person.birth_place},
        "death_date": person.death_date.isoformat() if person.death_date else "",
    }
    if person.parent1_uin:
        record["parent1_identifier"] = identifier("UIN", person.parent1_uin)
    if person.parent2_uin:
        record["parent2_identifier"] = identifier("UIN", person.parent2_uin)
    return record


def ibr_records(person):
    """One beneficiary record per programme enrolment."""
    return [
        {
            "member": {
                "member_identifier": [identifier(kind, value) for kind, value in person.identifiers()],
                "demographic_info": {
                    "name": {"given_name": person.given_name, "surname": person.surname},
                    "sex": person.sex,
                    "birth_date": person.birth_date.isoformat(),
                },
            },
            "programme_identifier": {
                "programme": {
                    "programme_identifier": enrolment["programme_identifier"],
                    "programme_name": enrolment["programme_name"],
                },
                "enrolment_date": enrolment["enrolment_date"],
                "enrolment_status": ENROLMENT_STATUS[enrolment["enrolment_status"]],
                "benefits": {"benefit_type": "Cash", "benefit_frequency": "Monthly"},
            },
        }
        for enrolment in person.enrolments
    ]


def dr_record(person):
    disability = person.disability
    return {
        "personal_details": {
            "identifier": [identifier(kind, value) for kind, value in person.identifiers()],
            "name": {"first_name": person.given_name, "last_name": person.surname},
            "date_of_birth": person.birth_date.isoformat(),
            "gender": person.sex,
        },
        "disability_status": disability["status"],
        "disability_level": disability["level"],
        "disability_details": [
            {"impairment_type": kind, "impairment_level": "Severe impairment or difficulty"}
            for kind in disability["impairments"]
        ]
        + [
            {"impairment_type": WG_NAMES[domain], "impairment_level": WG_LEVELS[score]}
            for domain, score in disability["scores"].items()
        ],
        "registration_date": disability["assessed"],
        "last_updated": disability["assessed"],
    }


def attribute(person, name):
    """A person's attribute as a comparable value, by the names queries use."""
    values = {
        "birth_date": person.birth_date.isoformat(),
        "birthdate": person.birth_date.isoformat(),
        "death_date": person.death_date.isoformat() if person.death_date else None,
        "sex": person.sex,
        "given_name": person.given_name,
        "surname": person.surname,
        "birth_place": person.birth_place,
    }
    if name not in values:
        raise QueryError(f"unknown attribute {name!r}")
    return values[name]


def compare(left, operator, right):
    if operator == "in":
        return left in (right if isinstance(right, list) else [right])
    if left is None:
        return False
    if isinstance(right, (int, float)) or isinstance(left, date):
        left, right = str(left), str(right)
    try:
        return {"eq": left == right, "gt": left > right, "lt": left < right, "ge": left >= right, "le": left <= right}[
            operator
        ]
    except KeyError:
        raise QueryError(f"unknown operator {operator!r}") from None
    except TypeError:
        raise QueryError("values of different types cannot be compared") from None


def match_predicate(person, predicate):
    result = None
    for item in sorted(predicate, key=lambda entry: entry.get("seq_num", 0)):
        first = _expression(person, item.get("expression1"))
        condition = item.get("condition")
        if condition == "not":
            value = not first
        elif condition in ("and", "or"):
            second = _expression(person, item.get("expression2"))
            value = (first and second) if condition == "and" else (first or second)
        else:
            value = first
        result = value if result is None else (result and value)
    return bool(result)


def _expression(person, expression):
    if not isinstance(expression, dict):
        raise QueryError("a predicate expression must be an object")
    return compare(
        attribute(person, expression.get("attribute_name")),
        expression.get("operator"),
        expression.get("attribute_value"),
    )


def match_expression(person, expression):
    """Mongo-like expressions: {"$and": [...]}, {"$or": [...]}, {field: {"$eq": value}}.

    identifier.type and identifier.value match one identifier together when
    combined under $and (the OpenCRVS lookup shape).
    """
    if not isinstance(expression, dict) or not expression:
        raise QueryError("an expression must be a non-empty object")
    if "$and" in expression:
        parts = expression["$and"]
        wanted = _identifier_pair(parts)
        if wanted:
            rest = [part for part in parts if not _is_identifier_part(part)]
            return wanted in person.identifiers() and all(match_expression(person, part) for part in rest)
        return all(match_expression(person, part) for part in parts)
    if "$or" in expression:
        return any(match_expression(person, part) for part in expression["$or"])
    for field, condition in expression.items():
        if isinstance(condition, dict) and condition.get("type") == "range":
            if not _in_range(attribute(person, field), condition):
                return False
            continue
        if not isinstance(condition, dict) or len(condition) != 1:
            raise QueryError(f"condition on {field!r} must be one operator")
        operator, value = next(iter(condition.items()))
        if not compare(attribute(person, field), operator.lstrip("$"), value):
            return False
    return True


def _in_range(value, condition):
    """OpenCRVS's range condition: {"type": "range", "gte"|"gt": low, "lte"|"lt": high}."""
    bounds = {key: bound for key, bound in condition.items() if key != "type"}
    if not bounds or set(bounds) - {"gte", "gt", "lte", "lt"}:
        raise QueryError("a range needs gte, gt, lte or lt bounds only")
    operators = {"gte": "ge", "gt": "gt", "lte": "le", "lt": "lt"}
    return all(compare(value, operators[key], str(bound)[:10]) for key, bound in bounds.items())


def _is_identifier_part(part):
    return isinstance(part, dict) and len(part) == 1 and next(iter(part)) in ("identifier.type", "identifier.value")


def _identifier_pair(parts):
    if not isinstance(parts, list):
        raise QueryError("$and takes a list")
    found = {}
    for part in parts:
        if _is_identifier_part(part):
            field, condition = next(iter(part.items()))
            found[field] = condition.get("$eq") if isinstance(condition, dict) else condition
    if len(found) == 2:
        return found["identifier.type"], found["identifier.value"]
    return None
