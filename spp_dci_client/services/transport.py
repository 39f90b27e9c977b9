"""HTTP transport: pooled keep-alive connections, bounded reads, retries, error mapping.

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
import http.client
import json
import logging
import random
import re
import select
import socket
import ssl
import threading
import time
import urllib.parse
import zlib
from dataclasses import dataclass

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
READ_SIZE = 65536
# characters of a URL sent as they are: reserved ones keep their meaning, "%" keeps existing escapes
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~"
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
    headers: http.client.HTTPMessage  # names looked up case-insensitively
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

    def left(self):
        """Seconds left before the calling thread's deadline; a timeout once it has passed."""
        left = self.moment - time.monotonic()
        if left <= 0:
            raise TimeoutError("the call's deadline has passed")
        return left


_deadline = _Deadline()


class _DeadlineMixin:
    """A socket whose every receive and send waits no longer than the calling thread's deadline."""

    def recv_into(self, buffer, nbytes=0, flags=0):
        self.settimeout(_deadline.left())
        return super().recv_into(buffer, nbytes, flags)

    def sendall(self, data, flags=0):
        self.settimeout(_deadline.left())
        return super().sendall(data, flags)


class _DeadlineSocket(_DeadlineMixin, socket.socket):
    pass


class _DeadlineSSLSocket(_DeadlineMixin, ssl.SSLSocket):
    pass


@functools.cache
def _ssl_context(verify):
    """One TLS context per process and setting: loading the CA bundle costs tens of milliseconds of CPU."""
    context = httpx.create_ssl_context(verify=verify)
    context.sslsocket_class = _DeadlineSSLSocket
    return context


class _Connection(http.client.HTTPConnection):
    """An HTTP/1.1 connection whose socket keeps the deadline; TLS when given a context."""

    def __init__(self, host, port, ssl_context):
        super().__init__(host, port)
        self.ssl_context = ssl_context
        self.idle_since = None

    def connect(self):
        sock = _DeadlineSocket(fileno=socket.create_connection((self.host, self.port), _deadline.left()).detach())
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.ssl_context is not None:
                sock.settimeout(_deadline.left())
                sock = self.ssl_context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        self.sock = sock

    def is_dropped(self):
        """Whether the peer closed (or wrote to) this idle connection: it cannot carry another request."""
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        return bool(poller.poll(0))


MAX_CONNECTIONS = 32
MAX_IDLE_CONNECTIONS = 16
KEEPALIVE_SECONDS = 5.0


class _ConnectionPool:
    """Kept-alive connections per origin (scheme, host, port); at most MAX_CONNECTIONS in use at once."""

    def __init__(self, verify):
        self._ssl_context = _ssl_context(verify)
        self._idle = {}
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._closed = False

    def checkout(self, origin):
        """A connection to ``origin``, connected: a kept-alive one the peer has not closed, or a new one."""
        if not self._slots.acquire(timeout=_deadline.left()):
            raise TimeoutError("all connections of the pool are in use")
        try:
            connection = self._take_idle(origin)
            if connection is None:
                scheme, host, port = origin
                connection = _Connection(host, port, self._ssl_context if scheme == "https" else None)
                connection.connect()
            return connection
        except BaseException:
            self._slots.release()
            raise

    def _take_idle(self, origin):
        with self._lock:
            idle = self._idle.get(origin, [])
            while idle:
                connection = idle.pop()
                if time.monotonic() - connection.idle_since < KEEPALIVE_SECONDS and not connection.is_dropped():
                    return connection
                connection.close()
        return None

    def checkin(self, origin, connection, reusable):
        """Keep ``connection`` for the next request to ``origin`` if it can carry one, else close it."""
        self._slots.release()
        with self._lock:
            idle = self._idle.setdefault(origin, [])
            if reusable and not self._closed and len(idle) < MAX_IDLE_CONNECTIONS:
                connection.idle_since = time.monotonic()
                idle.append(connection)
                return
        connection.close()

    def close(self):
        with self._lock:
            self._closed = True
            connections = [connection for idle in self._idle.values() for connection in idle]
            self._idle.clear()
        for connection in connections:
            connection.close()


_insecure_warned = set()


class Transport:
    """POSTs to one registry over a single keep-alive connection pool.

    Requests go over the standard library's http.client, one connection per
    request at a time from a small pool: no cookies are kept, redirects are
    never followed, and the response's raw bytes are read here, bounded. An
    HTTP library's request and header objects (httpx.Client over httpcore and
    h11) cost about 300 us of CPU more per request than http.client, more
    than signing the request.
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
        self._base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._urls = {}
        self._headers = {
            "Accept": "*/*",
            "Accept-Encoding": "gzip, deflate",
            "Connection": "keep-alive",
            "User-Agent": user_agent,
        }
        self._pool = _ConnectionPool(verify)

    def close(self):
        self._pool.close()

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
        """(origin, request target) of ``path`` under the base URL, or of an absolute URL as it is."""
        url = self._urls.get(path)
        if url is not None:
            return url
        relative = not urllib.parse.urlsplit(path).scheme
        parts = urllib.parse.urlsplit(self._base_url + path.lstrip("/") if relative else path)
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            port = None
        if parts.scheme not in ("http", "https") or not parts.hostname or not port:
            raise _connection_error(
                DCIConnectionError,
                _lt("The registry's URL is not a valid http(s) URL."),
                retryable=False,
                reached=False,
            )
        target = urllib.parse.quote(parts.path or "/", safe=_URL_SAFE)
        if parts.query:
            target += "?" + urllib.parse.quote(parts.query, safe=_URL_SAFE)
        url = ((parts.scheme, parts.hostname, port), target)
        if relative:
            self._urls[path] = url  # the data source's endpoints: a handful
        return url

    def _send(self, path, build, deadline, method="POST"):
        content, extra_headers, *form = build()
        origin, target = self._url(path)
        headers = {**self._headers, **extra_headers}
        if form and form[0] is not None:
            content = urllib.parse.urlencode(form[0]).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        _deadline.moment = deadline
        try:
            connection = self._checkout(origin)
            reusable = False
            try:
                try:
                    connection.request(method, target, body=content, headers=headers)
                except ValueError as error:  # a header value with a line break or a non-Latin-1 character
                    raise DCIProtocolError(
                        _lt("A request header holds characters HTTP does not allow (a token from the registry?).")
                    ) from error
                response = connection.getresponse()
                body = self._read_bounded(response)
                reusable = not response.will_close
                return response.status, response.msg, body
            except TimeoutError as error:
                raise _connection_error(
                    DCITimeoutError,
                    _lt("The registry did not answer within the timeout."),
                    retryable=False,
                    reached=True,
                    code=C.ERR_TIMEOUT,
                ) from error
            except (http.client.HTTPException, ConnectionError, ssl.SSLError) as error:
                raise _connection_error(
                    DCIConnectionError,
                    _lt("The connection to the registry was dropped."),
                    retryable=True,
                    reached=True,
                ) from error
            except OSError as error:
                raise _connection_error(
                    DCIConnectionError, _lt("The request to the registry failed."), retryable=False, reached=True
                ) from error
            finally:
                self._pool.checkin(origin, connection, reusable)
        finally:
            _deadline.moment = None

    def _checkout(self, origin):
        """A connected connection to ``origin``; errors say whether the request can have left."""
        try:
            return self._pool.checkout(origin)
        except TimeoutError as error:
            raise _connection_error(
                DCITimeoutError,
                _lt("The registry did not answer within the timeout."),
                retryable=True,
                reached=False,
                code=C.ERR_TIMEOUT,
            ) from error
        except ssl.SSLError as error:
            raise _connection_error(
                DCIConnectionError,
                _lt("The registry's TLS certificate could not be verified."),
                retryable=False,
                reached=False,
            ) from error
        except OSError as error:
            raise _connection_error(
                DCIConnectionError,
                _lt("The registry could not be reached (connection failed or host unknown)."),
                retryable=True,
                reached=False,
            ) from error

    def _read_bounded(self, response):
        """The body, decompressed, refused as soon as it passes max_response_bytes."""
        limit = self.max_response_bytes
        if response.length is not None and response.length > limit:
            raise _too_large(limit, response.status)
        decoder = _decoder(response.msg.get("content-encoding", ""), response.status)
        chunks, size = [], 0
        while raw := response.read(READ_SIZE):
            for chunk in decoder(raw, limit - size + 1):
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit, response.status)
                chunks.append(chunk)
        if response.length:  # the peer closed before the length it declared
            raise http.client.IncompleteRead(b"", response.length)
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
