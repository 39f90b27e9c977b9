"""Public DCI endpoints: registry callbacks and our JWKS.

Callbacks (on-search, on-subscribe, on-unsubscribe, txn-on-status, notify) all
arrive at one URL, our_callback_uri, and are told apart by header.action; the
registry may also append the spec's path (/registry/on-search, ...). A
callback is accepted only when it is signed by the registry of the data
source it concerns or carries the callback token we issued for that source
(whatever the response-signature policy says), answers a transaction we
started and is not a repeat; otherwise it is answered with a DCI error and
changes nothing. Callers refused too often are throttled per address.
"""

import logging

from odoo import http
from odoo.http import request

from ..services import constants as C
from ..services import envelope as E
from ..services.errors import DCICallbackRefused, DCIError, registry_text
from ..services.transport import parse_json

_logger = logging.getLogger(__name__)

MAX_CALLBACK_BYTES = 10 * 1024 * 1024
READ_CHUNK = 64 * 1024
BODY_KEY = "spp_dci_client.callback_body"
MAX_JSON_DEPTH = 64
CALLBACK_ACTIONS = (
    C.ACTION_ON_SEARCH,
    C.ACTION_ON_SUBSCRIBE,
    C.ACTION_ON_UNSUBSCRIBE,
    C.ACTION_TXN_ON_STATUS,
    C.ACTION_NOTIFY,
)


class DciCallbackController(http.Controller):
    @http.route(
        ["/dci/callback", "/dci/callback/registry/<path:action_path>"],
        type="http",
        auth="public",
        methods=["POST"],
        csrf=False,
        save_session=False,
    )
    def dci_callback(self, action_path=None, **kwargs):
        address = request.httprequest.remote_addr or "unknown"
        throttle = request.env["spp.dci.callback.throttle"].sudo()
        if throttle._is_blocked(address):
            return self._refusal(
                DCICallbackRefused("Too many refused callbacks from this address.", C.ERR_TOO_MANY_REQUESTS, 429)
            )
        try:
            with request.env.cr.savepoint():
                envelope = self._read_envelope()
                correlation_id = (
                    request.env["spp.dci.transaction"]
                    .sudo()
                    ._receive_callback(envelope, self._bearer_token(), request.httprequest.headers.get("Signature"))
                )
        except DCICallbackRefused as refusal:
            throttle._record_refusal(address)
            return self._refusal(refusal)
        except DCIError as error:
            _logger.warning("DCI callback not processed: %s (%s)", type(error).__name__, registry_text(error.code))
            return request.make_json_response(
                E.err(error.code or C.ERR_SERVICE_UNAVAILABLE, "The data source cannot process callbacks.")
            )
        return request.make_json_response(E.ack(correlation_id))

    @http.route("/.well-known/jwks.json", type="http", auth="public", methods=["GET"], save_session=False)
    def dci_jwks(self):
        return request.make_json_response(
            request.env["spp.dci.signing.key"].sudo()._get_public_jwks(),
            headers={"Cache-Control": "public, max-age=300"},
        )

    @staticmethod
    def _refusal(refusal):
        _logger.info("DCI callback refused: %s", refusal.code)
        if refusal.response_status != 200:
            return request.make_json_response(
                {"errors": [{"code": refusal.code, "message": str(refusal)}]}, status=refusal.response_status
            )
        return request.make_json_response(E.err(refusal.code, str(refusal)))

    @staticmethod
    def _bearer_token():
        scheme, _, token = (request.httprequest.headers.get("Authorization") or "").partition(" ")
        return token.strip() if scheme.lower() == "bearer" else None

    @staticmethod
    def _read_body():
        """The body, refused before reading when declared too large and while streaming when it grows too large.

        Kept in the WSGI environ: when Odoo retries the request after a
        serialization failure, the stream has already been read. (The route
        sets no max_content_length: werkzeug would then read and discard a
        body declared too large before refusing it.)
        """
        environ = request.httprequest.environ
        if BODY_KEY in environ:
            return environ[BODY_KEY]
        length = request.httprequest.content_length
        if length is not None and length > MAX_CALLBACK_BYTES:
            raise DCICallbackRefused("The message is too large.", C.ERR_REQUEST_BAD, 413)
        # Odoo's request wrapper hides werkzeug's stream; Odoo's own bus reaches the WSGI objects the same way.
        stream = request.httprequest._HTTPRequest__wrapped.stream
        chunks, size = [], 0
        while chunk := stream.read(READ_CHUNK):
            size += len(chunk)
            if size > MAX_CALLBACK_BYTES:
                raise DCICallbackRefused("The message is too large.", C.ERR_REQUEST_BAD, 413)
            chunks.append(chunk)
        environ[BODY_KEY] = b"".join(chunks)
        return environ[BODY_KEY]

    @classmethod
    def _read_envelope(cls):
        body = cls._read_body()
        if b"\\u0000" in body:
            raise DCICallbackRefused("The body holds a NUL character.", C.ERR_REQUEST_BAD, 400)
        try:
            envelope = parse_json(body, max_depth=MAX_JSON_DEPTH)
        except DCIError:
            raise DCICallbackRefused("The body is not JSON.", C.ERR_REQUEST_BAD, 400) from None
        if (
            not isinstance(envelope, dict)
            or not isinstance(envelope.get("header"), dict)
            or not isinstance(envelope.get("message"), dict)
        ):
            raise DCICallbackRefused("The body is not a DCI message.", C.ERR_REQUEST_BAD, 400)
        if envelope["header"].get("action") not in CALLBACK_ACTIONS:
            raise DCICallbackRefused("This action is not a callback.", C.RJCT_ACTION_NOT_SUPPORTED)
        return envelope
