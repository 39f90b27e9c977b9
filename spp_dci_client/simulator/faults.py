"""Fault injection for the simulated registry, configured per run.

    registry.faults.add("status", status=429, retry_after=1, times=2)
    registry.faults.add("bad_signature", path="/registry/sync/search")

Kinds: latency (seconds), status (status, retry_after, code), drop,
malformed_json, html, empty, huge (bytes), wrong_reference, item_rjct (code),
header_rjct (code), no_signature, bad_signature, expired_signature,
unknown_kid, replay, expire_tokens; on the token endpoint: status, drop,
token_reject, lifetime (lifetime). A fault without a path applies to the
registry endpoints, or to the token endpoint for token_reject and lifetime.
"""

import threading
from dataclasses import dataclass, field

KINDS = {"latency", "status", "drop", "malformed_json", "html", "empty", "huge", "wrong_reference", "item_rjct",
         "header_rjct", "no_signature", "bad_signature", "expired_signature", "unknown_kid", "replay",
         "expire_tokens", "token_reject", "lifetime"}
TOKEN_KINDS = {"token_reject", "lifetime"}
TOKEN_PATH = "/oauth2/client/token"  # noqa: S105


@dataclass
class Fault:
    kind: str
    path: str | None = None
    times: int | None = 1
    params: dict = field(default_factory=dict)


class FaultPlan:
    def __init__(self):
        self._faults = []
        self._lock = threading.Lock()

    def add(self, kind, path=None, times=1, **params):
        """Inject ``kind`` into the next ``times`` requests to ``path`` (None: any path; times None: forever)."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
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
        return (fault.kind in TOKEN_KINDS) == (path == TOKEN_PATH)
