"""Read a CRVS person record, whichever shape the registry sends.

Accepted: the SPDCI shape (name {given_name, surname}, birth_date or the
older birthdate, identifier [{identifier_type, identifier_value}]) and the
OpenCRVS/FHIR shape (name [{given: [...], family}], birthDate, gender,
identifier [{type, value}]), and OpenCRVS's DCI records (given_name,
middle_name and family_name at the top, parents as {identifier_type,
identifier}).
"""

from datetime import date


def _iso_date(value):
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        return None


def _names(record):
    name = record.get("name")
    if isinstance(name, list) and name and isinstance(name[0], dict):
        given = name[0].get("given")
        given = " ".join(given) if isinstance(given, list) else given
        family = name[0].get("family")
        family = " ".join(family) if isinstance(family, list) else family
        return given or "", family or ""
    if isinstance(name, dict):
        given = name.get("given_name") or name.get("first_name") or ""
        second = name.get("second_name") or ""
        family = name.get("surname") or name.get("last_name") or ""
        return " ".join(part for part in (given, second) if part), family
    if isinstance(name, str):
        return name, ""
    given = " ".join(part for part in (record.get("given_name"), record.get("middle_name")) if part)
    return given, record.get("family_name") or record.get("surname") or ""


def person_name(record):
    """The full name of a person record or of a name object, "" when it has none."""
    if not isinstance(record, dict):
        return str(record or "")
    given, family = _names(record if "name" in record or "given_name" in record else {"name": record})
    return " ".join(part for part in (given, family) if part)


def _identifier(value):
    if isinstance(value, dict):
        kind = value.get("identifier_type") or value.get("type")
        number = value.get("identifier_value") or value.get("value") or value.get("identifier")
        if kind and number:
            return {"identifier_type": str(kind), "identifier_value": str(number)}
    return None


def identifiers(record):
    found = record.get("identifier") or record.get("identifiers") or []
    found = found if isinstance(found, list) else [found]
    return [pair for pair in map(_identifier, found) if pair]


def parse_person(record):
    given, family = _names(record)
    birth_place = record.get("birth_place") or record.get("place_of_birth")
    if isinstance(birth_place, dict):
        birth_place = birth_place.get("name")
    death_date = _iso_date(record.get("death_date") or record.get("deathdate") or record.get("deceasedDateTime"))
    deceased = (
        bool(death_date)
        or record.get("deceasedBoolean") is True
        or any(pair["identifier_type"] == "DRN" for pair in identifiers(record))
    )
    sex = record.get("sex") or record.get("gender") or ""
    return {
        "person_name": " ".join(part for part in (given, family) if part),
        "given_name": given,
        "family_name": family,
        "birth_date": _iso_date(record.get("birth_date") or record.get("birthdate") or record.get("birthDate")),
        "sex": str(sex).lower(),
        "place_of_birth": birth_place or "",
        "parent1_identifier": _identifier(record.get("parent1_identifier")),
        "parent2_identifier": _identifier(record.get("parent2_identifier")),
        "identifiers": identifiers(record),
        "is_deceased": deceased,
        "death_date": death_date,
    }
