"""HTTP transport: one pooled httpx.Client, bounded reads, retries, error mapping.

Errors are mapped by exception type and HTTP status, never by message text.
Retries (connection errors, 429, 502/503/504) happen only for idempotent
calls, with exponential backoff and full jitter, honour Retry-After, and stop
at a bounded number of attempts and a bounded total time. A call that is not
idempotent is retried only when the request surely did not reach the
registry (no connection, or 429).

Every attempt has a deadline (connect, send and read together, within the
call's own deadline): each socket operation waits at most until then, so a
registry dripping a byte at a time cannot hold a call past its timeout.
Responses are limited in bytes after decompression.
"""

import email.utils
import functools
import json
import logging
import random
import re
import ssl
import threading
import time
import zlib
from dataclasses import dataclass

import httpcore
import httpx

from . import constants as C
from .errors import (
    MAX_MESSAGE_LENGTH,
    DCIAuthenticationError,
    DCIConnectionError,
    DCIProtocolError,
    DCIRejectedError,
    DCITimeoutError,
    _lt,
    registry_text,
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
            raise DCIProtocolError(
                _lt("The registry answered with an empty body (HTTP %s).", self.status), response_status=self.status
            )
        try:
            data = parse_json(self.body)
        except DCIProtocolError as error:
            kind = registry_text(self.headers.get("content-type", "unknown").split(";")[0])
            raise DCIProtocolError(
                _lt(
                    "The registry answered with a body that is not JSON (HTTP %(status)s, %(type)s).",
                    status=self.status,
                    type=kind,
                ),
                response_status=self.status,
            ) from error
        if not isinstance(data, dict):
            raise DCIProtocolError(
                _lt("The registry answered with JSON that is not an object."), response_status=self.status
            )
        return data


def parse_json(body, max_depth=None):
    """JSON from outside: DCIProtocolError for anything but standard, finite JSON.

    Python's parser accepts NaN and 1e999 (as infinity) and ends deep nesting
    in RecursionError; none of that is DCI. With ``max_depth`` (for bodies
    from unauthenticated callers, which code walks and encodes again), deeper
    nesting is refused before parsing.
    """
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")
    if max_depth and _nested_too_deep(body, max_depth):
        raise DCIProtocolError(_lt("The JSON is nested more than %s levels deep.", max_depth))
    try:
        return _DECODER.decode(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError, TypeError) as error:
        raise DCIProtocolError(_lt("The body is not valid JSON.")) from error


def _nested_too_deep(body, max_depth):
    """Whether the brackets of ``body`` nest deeper than ``max_depth``.

    Each pass removes the innermost bracket pairs (at C speed). Brackets
    inside strings may leave unpaired ones behind: a pass that removes
    nothing ends the check, and the parser's own recursion limit still holds.
    """
    brackets = body.translate(None, _NOT_BRACKETS)
    if brackets.count(b"[") + brackets.count(b"{") <= max_depth:
        return False
    for _level in range(max_depth):
        reduced = _INNERMOST_PAIRS.sub(b"", brackets)
        if not reduced or reduced == brackets:
            return False
        brackets = reduced
    return True


_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")
_INNERMOST_PAIRS = re.compile(rb"[\[{][\]}]")


def _refuse_constant(name):
    raise ValueError(f"{name} is not JSON")


def _finite_float(text):
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError("number out of range")
    return value


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)


class _Deadline(threading.local):
    moment = None

    def clamp(self, timeout, error_class):
        """``timeout`` cut to the time left before the deadline; error_class once it has passed."""
        if self.moment is None:
            return timeout
        left = self.moment - time.monotonic()
        if left <= 0:
            raise error_class("the call's deadline has passed")
        return left if timeout is None else min(timeout, left)


_deadline = _Deadline()


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream):
        self._stream = stream

    def read(self, max_bytes, timeout=None):  # pylint: disable=method-required-super
        return self._stream.read(max_bytes, _deadline.clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer, timeout=None):  # pylint: disable=method-required-super
        self._stream.write(buffer, _deadline.clamp(timeout, httpcore.WriteTimeout))

    def close(self):
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        timeout = _deadline.clamp(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info):
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's socket backend, each operation waiting no longer than the calling thread's deadline."""

    def __init__(self):
        self._backend = httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        timeout = _deadline.clamp(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._backend.connect_tcp(host, port, timeout, local_address, socket_options))

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        timeout = _deadline.clamp(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._backend.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds):
        self._backend.sleep(seconds)


@functools.cache
def _ssl_context(verify):
    """One TLS context per process and setting: loading the CA bundle costs tens of milliseconds of CPU."""
    return httpx.create_ssl_context(verify=verify)


class _DeadlineTransport(httpx.HTTPTransport):
    def __init__(self, verify, limits):
        context = _ssl_context(verify)
        super().__init__(verify=context, limits=limits)
        self._pool = httpcore.ConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_DeadlineBackend(),
        )


_insecure_warned = set()


class Transport:
    """POSTs to one registry over a single keep-alive connection pool.

    Requests go straight to httpx's transport (the connection pool), not
    through httpx.Client, whose cookie jar, auth and redirect machinery this
    client has no use for (no cookies are kept, redirects are never followed)
    and which cost about 300 us of CPU per request, more than signing it.
    """

    def __init__(
        self,
        base_url,
        *,
        timeout,
        verify=True,
        max_response_bytes=20 * 1024 * 1024,
        retry=RetryPolicy(),
        user_agent="spp-dci-client",
    ):
        self.base_url = base_url
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        self.retry = retry
        if not verify and base_url not in _insecure_warned:
            _insecure_warned.add(base_url)
            _logger.warning(
                "DCI: TLS certificates of %s are not verified (verify_ssl is off): anyone on the "
                "network path can read and change this traffic",
                registry_text(base_url, 200),
            )
        self._base_url = httpx.URL(base_url if base_url.endswith("/") else base_url + "/")
        self._urls = {}
        self._headers = {
            "Accept": "*/*",
            "Accept-Encoding": "gzip, deflate",
            "Connection": "keep-alive",
            "User-Agent": user_agent,
        }
        self._transport = _DeadlineTransport(verify, httpx.Limits(max_connections=32, max_keepalive_connections=16))

    def close(self):
        self._transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def get_json(self, url):
        """GET a JSON document (a JWKS, say), without retries."""
        status, headers, body = self._send(
            url, lambda: (None, {"Accept": "application/json"}), time.monotonic() + self.timeout, method="GET"
        )
        response = Response(status, headers, body)
        if status >= 400:
            raise http_error(response)
        return response.json()

    def post(self, path, build, *, idempotent=True, retry=None):
        """POST ``build()`` to ``path`` and return the Response.

        ``build`` returns ``(content_bytes, headers)`` or ``(None, headers,
        form_data)``; it is called again for every attempt, so each retry
        carries a freshly built (and signed) message. A call that is not
        ``idempotent`` is retried only when the registry cannot have received it.
        """
        policy = retry or self.retry
        started = time.monotonic()
        call_deadline = started + max(policy.max_total_seconds, self.timeout)
        attempt = 0
        while True:
            attempt += 1
            try:
                status, headers, body = self._send(path, build, min(time.monotonic() + self.timeout, call_deadline))
            except DCIConnectionError as error:
                retryable = error.retryable if idempotent else not error.reached_registry
                if not retryable:
                    raise
                delay = policy.delay(attempt)
                if not self._may_retry(policy, attempt, started, delay, call_deadline):
                    raise
                _logger.info("DCI %s: %s, retry %s in %.2fs", path, type(error).__name__, attempt, delay)
                time.sleep(delay)
                continue
            if status in RETRY_STATUSES and (idempotent or status == 429):
                delay = policy.delay(attempt, _retry_after(headers))
                if self._may_retry(policy, attempt, started, delay, call_deadline):
                    _logger.info("DCI %s: HTTP %s, retry %s in %.2fs", path, status, attempt, delay)
                    time.sleep(delay)
                    continue
            result = Response(status, headers, body)
            if status >= 400:
                raise http_error(result)
            return result

    @staticmethod
    def _may_retry(policy, attempt, started, delay, call_deadline):
        if attempt >= policy.max_attempts:
            return False
        return (
            time.monotonic() + delay < call_deadline and time.monotonic() - started + delay <= policy.max_total_seconds
        )

    def _url(self, path):
        """``path`` under the base URL, joined as httpx's base_url does, or an absolute URL as it is."""
        url = self._urls.get(path)
        if url is None:
            url = httpx.URL(path)
            if url.is_relative_url:
                url = self._base_url.copy_with(raw_path=self._base_url.raw_path + url.raw_path.lstrip(b"/"))
                self._urls[path] = url  # the data source's endpoints: a handful
        return url

    def _send(self, path, build, deadline, method="POST"):
        content, extra_headers, *form = build()
        timeout = httpx.Timeout(max(0.001, min(self.timeout, deadline - time.monotonic())))
        headers = httpx.Headers(self._headers)
        headers.update(extra_headers)
        _deadline.moment = deadline
        try:
            request = httpx.Request(
                method,
                self._url(path),
                content=content,
                data=form[0] if form else None,
                headers=headers,
                extensions={"timeout": timeout.as_dict()},
            )
            response = self._transport.handle_request(request)
            try:
                return response.status_code, response.headers, self._read_bounded(response)
            finally:
                response.close()
        except httpx.TimeoutException as error:
            raise _connection_error(
                DCITimeoutError,
                _lt("The registry did not answer within the timeout."),
                retryable=isinstance(error, (httpx.ConnectTimeout, httpx.PoolTimeout)),
                reached=not isinstance(error, (httpx.ConnectTimeout, httpx.PoolTimeout)),
                code=C.ERR_TIMEOUT,
            ) from error
        except httpx.ConnectError as error:
            if _is_tls_error(error):
                raise _connection_error(
                    DCIConnectionError,
                    _lt("The registry's TLS certificate could not be verified."),
                    retryable=False,
                    reached=False,
                ) from error
            raise _connection_error(
                DCIConnectionError,
                _lt("The registry could not be reached (connection failed or host unknown)."),
                retryable=True,
                reached=False,
            ) from error
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as error:
            raise _connection_error(
                DCIConnectionError,
                _lt("The connection to the registry was dropped."),
                retryable=True,
                reached=True,
            ) from error
        except httpx.HTTPError as error:
            raise _connection_error(
                DCIConnectionError, _lt("The request to the registry failed."), retryable=False, reached=True
            ) from error
        finally:
            _deadline.moment = None

    def _read_bounded(self, response):
        """The body, decompressed, refused as soon as it passes max_response_bytes."""
        limit = self.max_response_bytes
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise _too_large(limit, response.status_code)
        decoder = _decoder(response.headers.get("content-encoding", ""), response.status_code)
        chunks, size = [], 0
        for raw in response.stream:  # the raw bytes, as the pool hands them over
            for chunk in decoder(raw, limit - size + 1):
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit, response.status_code)
                chunks.append(chunk)
        return b"".join(chunks)


def _decoder(content_encoding, status):
    """A function (raw bytes, most bytes wanted) -> decoded chunks, for the response's Content-Encoding.

    zlib is asked for at most the bytes still allowed, so a small compressed
    body cannot expand in memory beyond the response limit.
    """
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        return lambda raw, _most: [raw]
    if encoding not in ("gzip", "deflate"):
        raise DCIProtocolError(
            _lt("The registry's response uses an unsupported encoding (%s).", registry_text(encoding)),
            response_status=status,
        )
    decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16 if encoding == "gzip" else zlib.MAX_WBITS)

    def decode(raw, most):
        try:
            return [decompressor.decompress(raw, most)]
        except zlib.error as error:
            raise DCIProtocolError(
                _lt("The registry's compressed response is corrupt."), response_status=status
            ) from error

    return decode


def _too_large(limit, status):
    return DCIProtocolError(
        _lt("The registry's response is larger than the %s bytes allowed.", limit), response_status=status
    )


def _connection_error(cls, message, retryable, reached, code=None):
    """``retryable``: worth retrying an idempotent call; ``reached``: the registry may have received it."""
    error = cls(message, code=code or C.ERR_SERVICE_UNAVAILABLE)
    error.retryable = retryable
    error.reached_registry = reached
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
        errors = parse_json(body).get("errors")
    except (DCIProtocolError, AttributeError):
        return []
    return [error for error in errors if isinstance(error, dict)] if isinstance(errors, list) else []


def http_error(response):
    """The typed error for an HTTP error status, with the DCI code when given."""
    code, message = None, None
    errors = _error_list(response.body)
    if errors:
        code, message = (
            registry_text(errors[0].get("code")),
            registry_text(errors[0].get("message"), MAX_MESSAGE_LENGTH),
        )
    status = response.status
    code = code or DEFAULT_CODES.get(status, C.ERR_SERVICE_UNAVAILABLE)
    if status in (401, 403) and code.startswith(C.ERR_SIGNATURE_PREFIX):
        error = DCIAuthenticationError(
            _lt("The registry refused our request's signature (HTTP %(status)s, %(code)s).", status=status, code=code),
            code=code,
            response_status=status,
        )
    elif status in (401, 403):
        error = DCIAuthenticationError(
            _lt("The registry refused the credentials (HTTP %(status)s, %(code)s).", status=status, code=code),
            code=code,
            response_status=status,
        )
    else:
        error = DCIRejectedError(
            _lt("The registry answered HTTP %(status)s (%(code)s).", status=status, code=code),
            code=code,
            response_status=status,
            registry_message=message,
        )
        error.retry_after = _retry_after(response.headers)
    error.from_registry = bool(errors) or _is_json(response.body)  # else some web server's own page
    return error


def _is_json(body):
    try:
        parse_json(body)
    except DCIProtocolError:
        return False
    return True
