"""HTTP transport: one pooled httpx.Client, bounded reads, retries, error mapping.

Errors are mapped by exception type and HTTP status, never by message text.
Retries (connection errors, 429, 502/503/504) happen only for idempotent
calls, with exponential backoff and full jitter, honour Retry-After, and stop
at a bounded number of attempts and a bounded total time.
"""

import email.utils
import json
import logging
import random
import ssl
import time
from dataclasses import dataclass

import httpx

from . import constants as C
from .errors import (
    DCIAuthenticationError,
    DCIConnectionError,
    DCIProtocolError,
    DCIRejectedError,
    DCITimeoutError,
    _lt,
)

_logger = logging.getLogger(__name__)

RETRY_STATUSES = {429, 502, 503, 504}
DEFAULT_CODES = {
    400: C.ERR_REQUEST_BAD,
    401: C.ERR_UNAUTHORIZED,
    403: C.ERR_FORBIDDEN,
    404: C.ERR_NOT_FOUND,
    408: C.ERR_TIMEOUT,
    429: C.ERR_TOO_MANY_REQUESTS,
}


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    max_total_seconds: float = 30.0
    base_delay: float = 0.25
    max_delay: float = 8.0

    def delay(self, attempt, retry_after=None):
        if retry_after is not None:
            return retry_after
        return random.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))  # noqa: S311 jitter


NO_RETRY = RetryPolicy(max_attempts=1)


@dataclass(frozen=True)
class Response:
    status: int
    headers: httpx.Headers
    body: bytes

    def json(self):
        """The body as a JSON object; anything else is a protocol error."""
        if not self.body.strip():
            raise DCIProtocolError(_lt("The registry answered with an empty body (HTTP %s).", self.status),
                                   http_status=self.status)
        try:
            data = json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as error:
            kind = self.headers.get("content-type", "unknown").split(";")[0]
            raise DCIProtocolError(
                _lt("The registry answered with a body that is not JSON (HTTP %(status)s, %(type)s).",
                    status=self.status, type=kind),
                http_status=self.status,
            ) from error
        if not isinstance(data, dict):
            raise DCIProtocolError(_lt("The registry answered with JSON that is not an object."),
                                   http_status=self.status)
        return data


class Transport:
    """POSTs to one registry over a single keep-alive connection pool."""

    def __init__(self, base_url, *, timeout, verify=True, max_response_bytes=20 * 1024 * 1024,
                 retry=RetryPolicy(), user_agent="spp-dci-client"):
        self.base_url = base_url
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        self.retry = retry
        self._client = httpx.Client(
            base_url=base_url,
            timeout=httpx.Timeout(timeout),
            verify=verify,
            follow_redirects=False,
            headers={"User-Agent": user_agent},
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
        )

    def close(self):
        self._client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def get_json(self, url):
        """GET a JSON document (a JWKS, say), without retries."""
        status, headers, body = self._send(url, lambda: (None, {"Accept": "application/json"}), method="GET")
        response = Response(status, headers, body)
        if status >= 400:
            raise http_error(response)
        return response.json()

    def post(self, path, build, *, idempotent=True, retry=None):
        """POST ``build()`` to ``path`` and return the Response.

        ``build`` returns ``(content_bytes, headers)`` or ``(None, headers,
        form_data)``; it is called again for every attempt, so each retry
        carries a freshly built (and signed) message.
        """
        policy = (retry or self.retry) if idempotent else NO_RETRY
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                status, headers, body = self._send(path, build)
            except DCIConnectionError as error:
                if not getattr(error, "retryable", False):
                    raise
                delay = policy.delay(attempt)
                if not self._may_retry(policy, attempt, started, delay):
                    raise
                _logger.info("DCI %s: %s, retry %s in %.2fs", path, type(error).__name__, attempt, delay)
                time.sleep(delay)
                continue
            if status in RETRY_STATUSES:
                delay = policy.delay(attempt, _retry_after(headers))
                if self._may_retry(policy, attempt, started, delay):
                    _logger.info("DCI %s: HTTP %s, retry %s in %.2fs", path, status, attempt, delay)
                    time.sleep(delay)
                    continue
            result = Response(status, headers, body)
            if status >= 400:
                raise http_error(result)
            return result

    @staticmethod
    def _may_retry(policy, attempt, started, delay):
        if attempt >= policy.max_attempts:
            return False
        return time.monotonic() - started + delay <= policy.max_total_seconds

    def _send(self, path, build, method="POST"):
        content, headers, *form = build()
        try:
            with self._client.stream(method, path, content=content, data=form[0] if form else None,
                                     headers=headers) as response:
                return response.status_code, response.headers, self._read_bounded(response)
        except httpx.TimeoutException as error:
            raise _connection_error(DCITimeoutError, _lt("The registry did not answer within the timeout."),
                                    retryable=isinstance(error, (httpx.ConnectTimeout, httpx.PoolTimeout)),
                                    code=C.ERR_TIMEOUT) from error
        except httpx.ConnectError as error:
            if _is_tls_error(error):
                raise _connection_error(
                    DCIConnectionError,
                    _lt("The registry's TLS certificate could not be verified."),
                    retryable=False,
                ) from error
            raise _connection_error(
                DCIConnectionError,
                _lt("The registry could not be reached (connection failed or host unknown)."),
                retryable=True,
            ) from error
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as error:
            raise _connection_error(
                DCIConnectionError, _lt("The connection to the registry was dropped."), retryable=True
            ) from error
        except httpx.HTTPError as error:
            raise _connection_error(DCIConnectionError, _lt("The request to the registry failed."),
                                    retryable=False) from error

    def _read_bounded(self, response):
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_response_bytes:
            raise _too_large(self.max_response_bytes, response.status_code)
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self.max_response_bytes:
                raise _too_large(self.max_response_bytes, response.status_code)
            chunks.append(chunk)
        return b"".join(chunks)


def _too_large(limit, status):
    return DCIProtocolError(_lt("The registry's response is larger than the %s bytes allowed.", limit),
                            http_status=status)


def _connection_error(cls, message, retryable, code=None):
    error = cls(message, code=code or C.ERR_SERVICE_UNAVAILABLE)
    error.retryable = retryable
    return error


def _is_tls_error(error):
    cause = error
    while cause is not None:
        if isinstance(cause, ssl.SSLError):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def _retry_after(headers):
    """Seconds from a Retry-After header (delta or HTTP date), or None."""
    value = headers.get("retry-after")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def _error_list(body):
    """The ``errors`` of a DCI error body ({"errors": [{code, message}]}), or []."""
    try:
        errors = json.loads(body).get("errors")
    except (ValueError, UnicodeDecodeError, AttributeError):
        return []
    return [error for error in errors if isinstance(error, dict)] if isinstance(errors, list) else []


def http_error(response):
    """The typed error for an HTTP error status, with the DCI code when given."""
    code, message = None, None
    errors = _error_list(response.body)
    if errors:
        code, message = errors[0].get("code"), errors[0].get("message")
    status = response.status
    code = code if isinstance(code, str) else DEFAULT_CODES.get(status, C.ERR_SERVICE_UNAVAILABLE)
    if status in (401, 403):
        return DCIAuthenticationError(
            _lt("The registry refused the credentials (HTTP %(status)s, %(code)s).", status=status, code=code),
            code=code, http_status=status,
        )
    error = DCIRejectedError(
        _lt("The registry answered HTTP %(status)s (%(code)s).", status=status, code=code),
        code=code, http_status=status, registry_message=message,
    )
    error.retry_after = _retry_after(response.headers)
    return error
