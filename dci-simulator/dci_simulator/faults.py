"""Fault injection, configured per run, and what each fault does to a reply.

    registry.faults.add("status", status=429, retry_after=1, times=2)
    registry.faults.add(FaultKind.BAD_SIGNATURE, path="/registry/sync/search")

A fault without a path applies to the registry endpoints, or to the token
endpoint for the token kinds (token_reject, lifetime).
"""

import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum

from .protocol import ERR_SERVICE_UNAVAILABLE, PATH_TOKEN, STATUS_CODES
from .replies import Reply, http_error


class FaultKind(StrEnum):
    # before the request is read
    LATENCY = "latency"  # seconds
    STATUS = "status"  # status, retry_after, code; also on the token endpoint
    DROP = "drop"  # the connection is closed unanswered; also on the token endpoint
    EXPIRE_TOKENS = "expire_tokens"
    # the answer's body
    MALFORMED_JSON = "malformed_json"
    HTML = "html"
    EMPTY = "empty"
    HUGE = "huge"  # bytes
    # the answer's content
    WRONG_REFERENCE = "wrong_reference"
    ITEM_RJCT = "item_rjct"  # code
    HEADER_RJCT = "header_rjct"  # code
    # the answer's signature
    NO_SIGNATURE = "no_signature"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED_SIGNATURE = "expired_signature"
    UNKNOWN_KID = "unknown_kid"
    REPLAY = "replay"
    # the token endpoint
    TOKEN_REJECT = "token_reject"  # noqa: S105 - a fault kind, not a password
    LIFETIME = "lifetime"  # lifetime


TOKEN_KINDS = {FaultKind.TOKEN_REJECT, FaultKind.LIFETIME}


@dataclass
class Fault:
    kind: FaultKind
    path: str | None = None
    times: int | None = 1
    params: dict = field(default_factory=dict)


class FaultPlan:
    def __init__(self):
        self._faults = []
        self._lock = threading.Lock()

    def add(self, kind, path=None, times=1, **params):
        """Inject ``kind`` into the next ``times`` requests to ``path`` (None: any path; times None: forever)."""
        try:
            kind = FaultKind(kind)
        except ValueError:
            raise ValueError(f"unknown fault kind {kind!r}") from None
        with self._lock:
            self._faults.append(Fault(kind, path, times, params))

    def clear(self):
        with self._lock:
            self._faults.clear()

    def take(self, path):
        """The first fault for ``path``, counted as used; None when there is none."""
        with self._lock:
            for fault in self._faults:
                if not self._applies(fault, path):
                    continue
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                return fault
        return None

    @staticmethod
    def _applies(fault, path):
        if fault.path is not None:
            return fault.path == path
        return (fault.kind in TOKEN_KINDS) == (path == PATH_TOKEN)


def kind_of(fault):
    return fault.kind if fault else None


def status_reply(fault, code=None):
    """The error answer of a "status" fault, with its Retry-After."""
    status = fault.params["status"]
    reply = http_error(
        status, code or fault.params.get("code") or STATUS_CODES.get(status, ERR_SERVICE_UNAVAILABLE), "injected fault"
    )
    if fault.params.get("retry_after") is not None:
        reply.headers["Retry-After"] = str(fault.params["retry_after"])
    return reply


def before_reading(fault, expire_tokens):
    """Apply a fault that strikes before the request is read: (the reply it forces or None, the fault left)."""
    kind = kind_of(fault)
    if kind == FaultKind.LATENCY:
        time.sleep(fault.params.get("seconds", 1))
    elif kind == FaultKind.STATUS:
        return status_reply(fault), None
    elif kind == FaultKind.DROP:
        return Reply(200, drop=True), None
    elif kind == FaultKind.EXPIRE_TOKENS:
        expire_tokens()
    else:
        return None, fault
    return None, None


def body_reply(envelope, fault):
    """The reply carrying ``envelope``, or what a body fault puts in its place; None: send it as it is."""
    kind = kind_of(fault)
    if kind == FaultKind.MALFORMED_JSON:
        return Reply(200, b'{"header": {"status": "succ", ')
    if kind == FaultKind.HTML:
        return Reply(200, b"<html><body><h1>502 Bad Gateway</h1></body></html>", {"Content-Type": "text/html"})
    if kind == FaultKind.EMPTY:
        return Reply(200, b"")
    if kind == FaultKind.HUGE:
        return Reply.json(dict(envelope, padding="x" * fault.params.get("bytes", 30 * 1024 * 1024)))
    return None
