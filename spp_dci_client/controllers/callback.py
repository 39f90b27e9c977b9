"""Public DCI endpoints: registry callbacks and our JWKS.

Callbacks (on-search, on-subscribe, on-unsubscribe, txn-on-status, notify) all
arrive at one URL, our_callback_uri, and are told apart by header.action; the
registry may also append the spec's path (/registry/on-search, ...). A
callback is accepted only when it is signed by the registry of the data
source it concerns (unless that data source turned signatures off), answers a
transaction we started and is not a repeat; otherwise it is answered with a
DCI error and changes nothing.
"""

import functools
import json
import logging

from odoo import http
from odoo.http import request

from ..services import constants as C
from ..services import envelope as E
from ..services.client import ReplayGuard
from ..services.errors import DCICallbackRefused, DCIError
from ..services.signing import get_profile
from ..services.verification import check_registry_signature

_logger = logging.getLogger(__name__)

MAX_CALLBACK_BYTES = 10 * 1024 * 1024
CALLBACK_ACTIONS = (C.ACTION_ON_SEARCH, C.ACTION_ON_SUBSCRIBE, C.ACTION_ON_UNSUBSCRIBE, C.ACTION_TXN_ON_STATUS,
                    C.ACTION_NOTIFY)
_replay = ReplayGuard()


class DciCallbackController(http.Controller):

    @http.route(["/dci/callback", "/dci/callback/registry/<path:action_path>"], type="http", auth="public",
                methods=["POST"], csrf=False, save_session=False)
    def dci_callback(self, action_path=None, **kwargs):
        try:
            envelope = self._read_envelope()
            http_signature = request.httprequest.headers.get("Signature")
            correlation_id = request.env["spp.dci.transaction"].sudo()._receive_callback(
                envelope, functools.partial(self._authenticate, http_signature=http_signature))
        except DCICallbackRefused as refusal:
            _logger.info("DCI callback refused: %s", refusal.code)
            if refusal.http_status != 200:
                return request.make_json_response({"errors": [{"code": refusal.code, "message": str(refusal)}]},
                                                  status=refusal.http_status)
            return request.make_json_response(E.err(refusal.code, str(refusal)))
        return request.make_json_response(E.ack(correlation_id))

    @http.route("/.well-known/jwks.json", type="http", auth="public", methods=["GET"], save_session=False)
    def dci_jwks(self):
        return request.make_json_response(request.env["spp.dci.signing.key"].sudo()._get_public_jwks(),
                                          headers={"Cache-Control": "public, max-age=300"})

    @staticmethod
    def _read_envelope():
        length = request.httprequest.content_length
        if length and length > MAX_CALLBACK_BYTES:
            raise DCICallbackRefused("The message is too large.", C.ERR_REQUEST_BAD, 413)
        body = request.httprequest.get_data(cache=False)
        if len(body) > MAX_CALLBACK_BYTES:
            raise DCICallbackRefused("The message is too large.", C.ERR_REQUEST_BAD, 413)
        try:
            envelope = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise DCICallbackRefused("The body is not JSON.", C.ERR_REQUEST_BAD, 400) from None
        if not isinstance(envelope, dict) or not isinstance(envelope.get("header"), dict) \
                or not isinstance(envelope.get("message"), dict):
            raise DCICallbackRefused("The body is not a DCI message.", C.ERR_REQUEST_BAD, 400)
        if envelope["header"].get("action") not in CALLBACK_ACTIONS:
            raise DCICallbackRefused("This action is not a callback.", "rjct.action.not_supported")
        return envelope

    @staticmethod
    def _authenticate(data_source, envelope, http_signature=None):
        """Check the registry's signature as the data source's policy says (if_present counts as require)."""
        config = data_source._get_client_config()
        try:
            verified = check_registry_signature(
                config.signature_policy, get_profile(config.signature_profile), envelope, http_signature,
                data_source._get_registry_key_resolver(config).resolve, callback=True)
            if verified:
                _replay.check(envelope["header"].get("message_id"))
        except DCIError as error:
            raise DCICallbackRefused("The signature was not accepted.", error.code or C.ERR_SIGNATURE_INVALID,
                                     401) from error
