"""Plain rules of bulk runs: how items are cut into jobs and which errors a job retries."""

import itertools

from .errors import DCIConnectionError, DCIRejectedError, DCITimeoutError

SYNC_LIMIT = 10000
ENVELOPES_PER_JOB = 10
TOO_MANY_REQUESTS_DELAY = 30
SERVER_ERRORS = {502, 503, 504}


def batches(iterable, size):
    """Lists of at most ``size`` items, read lazily: a generator of a million items stays a generator."""
    iterator = iter(iterable)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def retry_delay(error):
    """How a job reacts to ``error``: None (final, report it per item), 0 (retry with the job's backoff)
    or the seconds a 429's Retry-After asks for."""
    if isinstance(error, DCIRejectedError) and error.response_status == 429:
        return getattr(error, "retry_after", None) or TOO_MANY_REQUESTS_DELAY
    if isinstance(error, DCIRejectedError) and error.response_status in SERVER_ERRORS:
        return 0
    if isinstance(error, DCITimeoutError) or (
        isinstance(error, DCIConnectionError) and getattr(error, "retryable", False)
    ):
        return 0
    return None


def item_outcome(item):
    """(state, reason code) of one search_response item."""
    if item.get("status") == "rjct":
        return "failed", item.get("status_reason_code") or "rjct"
    return "done", None
