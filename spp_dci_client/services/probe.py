"""The steps of a connection probe (DCIClient.probe), each timed and with its outcome.

A step is what the client did (ask for a token, send a search, check the
envelope, its signature, the answer's items), where (the URL), how long it
took, and what came of it: an outcome, or the DCIError that ended the probe.
Wording them for a user is the caller's job (Test Connection).
"""

import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

from .errors import DCIError

STEP_TOKEN = "token"  # noqa: S105
STEP_SEARCH = "search"
STEP_ENVELOPE = "envelope"
STEP_SIGNATURE = "signature"
STEP_ANSWER = "answer"

OUTCOME_ISSUED = "issued"  # a token was requested and issued now
OUTCOME_STORED = "stored"  # a token stored by another worker was used
OUTCOME_BEARER = "bearer"  # the data source's bearer token, nothing requested
OUTCOME_NO_AUTH = "none"  # no authentication configured
OUTCOME_VALID = "valid"  # the response signature was verified
OUTCOME_UNSIGNED = "unsigned"  # the response carried none, and the policy allows that
OUTCOME_NOT_CHECKED = "not_checked"  # the policy checks no response signature


@dataclass(frozen=True)
class ProbeStep:
    name: str
    ms: int
    url: str | None = None
    outcome: str | None = None
    detail: object = None  # the HTTP status of the search, the VerifiedSignature of the signature step
    error: DCIError | None = None

    @property
    def ok(self):
        return self.error is None


class ProbeSteps(list):
    """The ProbeSteps recorded so far, in order."""

    @contextmanager
    def step(self, name, url=None):
        """Time the block as step ``name``; the block may set "outcome" and "detail" in the dict it gets.

        A DCIError ends the step as failed and propagates.
        """
        values = {"url": url}
        started = time.monotonic()
        try:
            yield values
        except DCIError as error:
            self.append(ProbeStep(name, _ms_since(started), error=error, **values))
            raise
        self.append(ProbeStep(name, _ms_since(started), **values))


class _NoSteps:
    """What an ordinary call records: nothing."""

    @staticmethod
    def step(_name, _url=None):
        return nullcontext({})


NO_STEPS = _NoSteps()


def _ms_since(started):
    return int((time.monotonic() - started) * 1000)
