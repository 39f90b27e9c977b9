"""Build DCI request envelopes and check the envelopes that come back.

Shapes follow the SPDCI v1.0.0 OpenAPI files (header, message, signature).
Builders validate caller input and raise DCIValidationError naming the
faulty argument, so no request leaves with garbage in it.
"""

import json
import math
import re
import uuid
from datetime import UTC, date, datetime

from . import constants as C
from .errors import DCIProtocolError, DCIValidationError, _lt, rejected

MAX_VALUE_LENGTH = 256
MAX_TRANSACTION_ID = 99
MAX_RECORD_LIMIT = 100_000
_TOKEN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LOCALE = re.compile(r"^[a-z]{3}$")


def json_bytes(envelope):
    return json.dumps(envelope, separators=(",", ":")).encode()


def new_id():
    return str(uuid.uuid4())


def timestamp(now=None):
    """ISO 8601 with time zone, as the spec's DateTime requires."""
    return (now or datetime.now(UTC)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _invalid(argument, reason):
    return DCIValidationError(_lt("Invalid %(argument)s: %(reason)s.", argument=argument, reason=reason))


def check_token(value, argument):
    """A code-like value: identifier types, attribute names, event types."""
    if not isinstance(value, str) or not value:
        raise _invalid(argument, "a non-empty string is required")
    if len(value) > MAX_VALUE_LENGTH or not _TOKEN.match(value):
        raise _invalid(argument, "only letters, digits and _ . : / - are allowed")
    return value


def check_value(value, argument):
    """A free value, such as an identifier: text without control characters."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _invalid(argument, "a string is required")
    value = str(value).strip()
    if not value:
        raise _invalid(argument, "the value is empty")
    if len(value) > MAX_VALUE_LENGTH:
        raise _invalid(argument, f"longer than {MAX_VALUE_LENGTH} characters")
    if _CONTROL.search(value):
        raise _invalid(argument, "control characters are not allowed")
    return value


def check_locale(locale):
    if not isinstance(locale, str) or not _LOCALE.match(locale):
        raise _invalid("locale", "an ISO 639-3 code such as 'eng' is required")
    return locale


def check_page(page, page_size):
    for name, number in (("page", page), ("page_size", page_size)):
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            raise _invalid(name, "a positive integer is required")
    if page_size > 1000:
        raise _invalid("page_size", "at most 1000")


def check_record_limit(limit):
    """``max_records`` of a paged search: None (first page only) or a positive integer."""
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_RECORD_LIMIT:
        raise _invalid("max_records", f"a positive integer up to {MAX_RECORD_LIMIT} is required")
    return limit


def _records(item):
    data = item.get("data") if isinstance(item, dict) else None
    records = data.get("reg_records") if isinstance(data, dict) else None
    return records if isinstance(records, list) else None


def has_more_records(item, limit):
    """Does the item's pagination announce more records than it holds, and does ``limit`` allow them?"""
    records = _records(item)
    pagination = item.get("pagination")
    if item.get("status") != C.STATUS_SUCCESS or not records or not isinstance(pagination, dict):
        return False
    total = pagination.get("total_count")
    if isinstance(total, bool) or not isinstance(total, int):
        return False
    return len(records) < min(total, limit)


def merge_page(item, page, limit):
    """Append the records of the next ``page`` to ``item``, up to ``limit``; False when it brought none."""
    records = _records(page)
    if page.get("status") != C.STATUS_SUCCESS or not records:
        return False
    held = _records(item)
    held.extend(records[: limit - len(held)])
    return True


def record_type(value):
    """The spec's record type for a short name OpenSPP code uses (PERSON, GROUP, ...) or a namespaced value."""
    if isinstance(value, str) and value.upper() in C.RECORD_TYPE_ALIASES:
        return C.RECORD_TYPE_ALIASES[value.upper()]
    if not isinstance(value, str) or ":" not in value:
        raise _invalid("record_type", f"one of {', '.join(C.RECORD_TYPE_ALIASES)} or a namespaced type is required")
    return check_token(value, "record_type")


def event_type(value):
    """The spec's event type for OpenSPP's names (BIRTH, DEATH, ...) or an event type as the registry names it."""
    if isinstance(value, str) and value.upper() in C.EVENT_TYPE_ALIASES:
        return C.EVENT_TYPE_ALIASES[value.upper()]
    return check_token(value, "event_type")


def registry_type(value):
    found = C.registry_type(value)
    if not found:
        raise _invalid(
            "registry_type", f"one of {', '.join(C.REGISTRY_TYPE_ALIASES)} or a spec registry type is required"
        )
    return found


def iso_date(value, argument):
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(value).isoformat()
    except (TypeError, ValueError):
        raise _invalid(argument, "a date or an ISO date string (YYYY-MM-DD) is required") from None


def iso_date_or_time(value, argument):
    """An ISO date, or an ISO date-time with a time zone (kept as given)."""
    if isinstance(value, str) and "T" in value:
        try:
            aware = datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None
        except ValueError:
            aware = False
        if not aware:
            raise _invalid(argument, "an ISO date-time needs a time zone, e.g. 2024-01-31T00:00:00Z")
        return check_value(value, argument)
    return iso_date(value, argument)


def idtype_value_query(identifier_type, identifier_value):
    return {
        "type": check_token(identifier_type, "identifier_type"),
        "value": check_value(identifier_value, "identifier_value"),
    }


def check_predicate(predicate):
    """A checked copy of a predicate query: a list of {seq_num, expression1, condition?, expression2?}.

    Items without a seq_num get their position; the caller's list is left as it was.
    """
    if not isinstance(predicate, list) or not predicate:
        raise _invalid("predicate", "a non-empty list of predicate items is required")
    checked = []
    for position, given in enumerate(predicate, start=1):
        if not isinstance(given, dict) or "expression1" not in given:
            raise _invalid("predicate", f"item {position} needs an expression1")
        item = dict(given, seq_num=given.get("seq_num", position))
        checked.append(item)
        for key in ("expression1", "expression2"):
            if key in item:
                _check_predicate_expression(item[key], f"predicate item {position} {key}")
        if "condition" in item and item["condition"] not in C.PREDICATE_CONDITIONS:
            raise _invalid("predicate", f"item {position} condition must be one of {C.PREDICATE_CONDITIONS}")
    return checked


def _check_predicate_expression(expression, argument):
    if not isinstance(expression, dict):
        raise _invalid(argument, "an object is required")
    check_token(expression.get("attribute_name"), f"{argument} attribute_name")
    if expression.get("operator") not in C.PREDICATE_OPERATORS:
        raise _invalid(argument, f"operator must be one of {C.PREDICATE_OPERATORS}")
    value = expression.get("attribute_value")
    values = value if isinstance(value, list) else [value]
    for item in values:
        if isinstance(item, str):
            check_value(item, f"{argument} attribute_value")
        elif not isinstance(item, (bool, int, float)) or (isinstance(item, float) and not math.isfinite(item)):
            raise _invalid(argument, "attribute_value must be a string, a number, a boolean or a list of them")


def search_item(
    query_type,
    query,
    *,
    reg_type,
    record_type=None,
    event_type=None,
    page=1,
    page_size=10,
    sort=None,
    consent=None,
    locale=C.DEFAULT_LOCALE,
    reference_id=None,
    now=None,
):
    """One search_request item with its search_criteria."""
    if query_type not in C.QUERY_TYPES:
        raise _invalid("query_type", f"one of {C.QUERY_TYPES} is required")
    if query_type == C.QUERY_PREDICATE:
        query = check_predicate(query)
    elif not isinstance(query, dict) or not query:
        raise _invalid("query", "a non-empty object is required")
    elif query_type == C.QUERY_IDTYPE_VALUE:
        query = idtype_value_query(query.get("type"), query.get("value"))
    check_page(page, page_size)
    criteria = {
        "version": C.DCI_VERSION,
        "reg_type": reg_type,
        "query_type": query_type,
        "query": query,
        "pagination": {"page_size": page_size, "page_number": page},
    }
    if record_type:
        criteria["reg_record_type"] = check_token(record_type, "record_type")
    if event_type:
        criteria["reg_event_type"] = check_token(event_type, "event_type")
    if sort:
        criteria["sort"] = sort
    if consent:
        criteria["consent"] = consent
    return {
        "reference_id": reference_id or new_id(),
        "timestamp": timestamp(now),
        "search_criteria": criteria,
        "locale": check_locale(locale),
    }


def header(action, *, sender_id, receiver_id=None, total_count=1, sender_uri=None, message_id=None, now=None):
    result = {
        "version": C.DCI_VERSION,
        "message_id": message_id or new_id(),
        "message_ts": timestamp(now),
        "action": action,
        "sender_id": sender_id,
        "total_count": total_count,
        "is_msg_encrypted": False,
    }
    if sender_uri:
        result["sender_uri"] = sender_uri
    if receiver_id:
        result["receiver_id"] = receiver_id
    return result


def check_transaction_id(transaction_id):
    if not isinstance(transaction_id, str) or not transaction_id or len(transaction_id) > MAX_TRANSACTION_ID:
        raise _invalid("transaction_id", f"a string of 1 to {MAX_TRANSACTION_ID} characters is required")
    return transaction_id


def search_message(transaction_id, items):
    return {"transaction_id": check_transaction_id(transaction_id), "search_request": items}


def filter_type(filter_query):
    """The query type of a subscribe filter: a {type, value} pair with a plain value is idtype-value."""
    if isinstance(filter_query, list):
        return C.QUERY_PREDICATE
    value = filter_query.get("value")
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return C.QUERY_IDTYPE_VALUE
    return C.QUERY_EXPRESSION


def subscribe_message(
    transaction_id,
    *,
    reg_type,
    event_type,
    filter_query,
    notify_record_type,
    frequency=None,
    locale=C.DEFAULT_LOCALE,
    now=None,
):
    criteria = {
        "version": C.DCI_VERSION,
        "reg_type": reg_type,
        "reg_event_type": check_token(event_type, "event_type"),
        "filter_type": filter_type(filter_query),
        "filter": filter_query,
        "notify_record_type": check_token(notify_record_type, "notify_record_type"),
    }
    if frequency:
        criteria["frequency"] = frequency
    item = {
        "reference_id": new_id(),
        "timestamp": timestamp(now),
        "subscribe_criteria": criteria,
        "locale": check_locale(locale),
    }
    return {"transaction_id": check_transaction_id(transaction_id), "subscribe_request": [item]}


def unsubscribe_message(transaction_id, subscription_codes, now=None):
    if isinstance(subscription_codes, str):
        subscription_codes = [subscription_codes]
    if not isinstance(subscription_codes, (list, tuple)) or not subscription_codes:
        raise _invalid("subscription_codes", "a non-empty list of codes is required")
    codes = [check_token(code, "subscription_codes") for code in subscription_codes]
    return {
        "transaction_id": check_transaction_id(transaction_id),
        "timestamp": timestamp(now),
        "subscription_codes": codes,
    }


TXN_ATTRIBUTE_TYPES = ("transaction_id", "reference_id_list", "correlation_id", "subscription_code_list")
TXN_TYPES = ("search", "subscribe", "unsubscribe")


def txn_status_message(
    transaction_id, attribute_value, attribute_type="transaction_id", txn_type="search", locale=C.DEFAULT_LOCALE
):
    if attribute_type not in TXN_ATTRIBUTE_TYPES:
        raise _invalid("attribute_type", f"one of {TXN_ATTRIBUTE_TYPES} is required")
    if txn_type not in TXN_TYPES:
        raise _invalid("txn_type", f"one of {TXN_TYPES} is required")
    if attribute_type.endswith("_list"):
        values = [attribute_value] if isinstance(attribute_value, str) else attribute_value
        if not isinstance(values, (list, tuple)) or not values:
            raise _invalid("attribute_value", "a non-empty list is required")
        attribute_value = [check_value(value, "attribute_value") for value in values]
    else:
        attribute_value = check_value(attribute_value, "attribute_value")
    return {
        "transaction_id": check_transaction_id(transaction_id),
        "txnstatus_request": {
            "reference_id": new_id(),
            "txn_type": txn_type,
            "attribute_type": attribute_type,
            "attribute_value": attribute_value,
            "locale": check_locale(locale),
        },
    }


def _protocol_error(reason):
    return DCIProtocolError(_lt("The registry's response is not a valid DCI message: %s.", reason))


def check_envelope(envelope):
    """The envelope is a dict with a header and message; header.status rjct raises."""
    if not isinstance(envelope, dict):
        raise _protocol_error("the body is not a JSON object")
    head, message = envelope.get("header"), envelope.get("message")
    if not isinstance(head, dict) or not isinstance(message, dict):
        raise _protocol_error("header or message is missing")
    if head.get("status") == C.STATUS_REJECTED:
        raise rejected(head.get("status_reason_code"), head.get("status_reason_message"))
    return envelope


def check_response_items(envelope, list_key, reference_ids, strict=True):
    """Match each item of ``message[list_key]`` to a request reference_id.

    Returns {reference_id: item}. A missing, unknown or repeated reference_id
    is a protocol error; with ``strict``, an item with status rjct raises
    DCIRejectedError.
    """
    message = envelope["message"]
    items = message.get(list_key)
    if not isinstance(items, list):
        raise _protocol_error(f"message.{list_key} is missing")
    expected = set(reference_ids)
    by_reference = {}
    for item in items:
        reference_id = item.get("reference_id") if isinstance(item, dict) else None
        if not isinstance(reference_id, str) or reference_id not in expected or reference_id in by_reference:
            raise DCIProtocolError(
                _lt("The registry answered with a reference_id that matches no request item."),
                code=C.RJCT_REFERENCE_ID_INVALID,
            )
        by_reference[reference_id] = item
    missing = expected - by_reference.keys()
    if missing:
        raise DCIProtocolError(
            _lt("The registry did not answer %s of the request items.", len(missing)),
            code=C.RJCT_REFERENCE_ID_INVALID,
        )
    for reference_id, item in by_reference.items():
        if strict and item.get("status") == C.STATUS_REJECTED:
            raise rejected(item.get("status_reason_code"), item.get("status_reason_message"), reference_id=reference_id)
    return by_reference


def check_ack(body):
    """An ACK body: {"message": {"ack_status": ...}}; NACK and ERR raise."""
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, dict) or message.get("ack_status") not in (C.ACK, C.NACK, C.ERR):
        raise _protocol_error("the acknowledgement has no ack_status")
    if message["ack_status"] != C.ACK:
        error = message.get("error") if isinstance(message.get("error"), dict) else {}
        raise rejected(error.get("code") or message["ack_status"].lower(), error.get("message"))
    return body


def ack(correlation_id=None, now=None):
    return {"message": {"ack_status": C.ACK, "timestamp": timestamp(now), "correlation_id": correlation_id or new_id()}}


def err(code, message, now=None):
    return {
        "message": {
            "ack_status": C.ERR,
            "timestamp": timestamp(now),
            "error": {"code": code, "message": message},
            "correlation_id": new_id(),
        }
    }
