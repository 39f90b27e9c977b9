import socket
from urllib.parse import urlencode

from odoo import http
from odoo.http import request

from .. import simulator_mount


class DemoSimulatorController(http.Controller):
    """Serves the demo's simulated registries from this Odoo server.

    The request goes to the simulator as it came (method, path below the
    prefix, headers, body) and its answer comes back as it is. The simulator
    reads nothing from the database.
    """

    @http.route(
        f"{simulator_mount.PREFIX}/<path:subpath>",
        type="http",
        auth="none",
        methods=["GET", "POST"],
        csrf=False,
        save_session=False,
        readonly=True,
    )
    def dci_simulator(self, subpath, **_params):
        httprequest = request.httprequest
        registry = simulator_mount.registry()
        if not registry.client_jwks_url:
            registry.client_jwks_url = f"{httprequest.scheme}://{httprequest.host}/.well-known/jwks.json"
        reply = registry.handle(
            httprequest.method,
            f"/{subpath}",
            dict(httprequest.headers),
            self._body(httprequest),
            httprequest.query_string.decode(),
        )
        if reply.drop:
            connection = httprequest.environ.get("werkzeug.socket")
            if connection is not None:
                connection.shutdown(socket.SHUT_RDWR)
        return request.make_response(reply.body, headers=list(reply.headers.items()), status=reply.status)

    @staticmethod
    def _body(httprequest):
        """The request body; a form (the token request) was already parsed by Odoo, so it is encoded again."""
        if httprequest.mimetype == "application/x-www-form-urlencoded":
            return urlencode(list(httprequest.form.items(multi=True))).encode()
        return httprequest.get_data()
