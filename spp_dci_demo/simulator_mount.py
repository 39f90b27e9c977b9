"""Serve the simulated registries from this Odoo server, under /dci_simulator/<role>/...

The simulator is mounted in front of Odoo's WSGI application rather than as a
controller: it needs no database cursor, so a request that calls the
simulator while holding its own cursor never waits for itself. It learns our
public keys from our JWKS (/.well-known/jwks.json) on the same server, and the
demo's data sources learn its key, made afresh in each server process, from
its JWKS in turn.
"""

import threading

from odoo import http

from odoo.addons.spp_dci_client.services.constants import PATH_JWKS
from odoo.addons.spp_dci_client.simulator import Population, SimulatedRegistry
from odoo.addons.spp_dci_client.simulator.server import wsgi_app

PREFIX = "/dci_simulator"
DEMO_CLIENT_ID = "openspp-demo"
DEMO_CLIENT_SECRET = "demo-simulator-secret"  # noqa: S105 - the simulator's own demo credential

_lock = threading.Lock()
_state = {}


def jwks_url(base_url, role):
    return f"{base_url}{PREFIX}/{role}{PATH_JWKS}"


def registry():
    with _lock:
        if "registry" not in _state:
            _state["registry"] = SimulatedRegistry(Population(), clients={DEMO_CLIENT_ID: DEMO_CLIENT_SECRET},
                                                   require_signature=True, callback_delay=1.0)
            _state["app"] = wsgi_app(_state["registry"])
        return _state["registry"]


def _serve(environ, start_response):
    sim = registry()
    if not sim.client_jwks_url:
        scheme = environ.get("wsgi.url_scheme", "http")
        sim.client_jwks_url = f"{scheme}://{environ['HTTP_HOST']}/.well-known/jwks.json"
    environ = dict(environ, PATH_INFO=environ["PATH_INFO"][len(PREFIX):])
    return _state["app"](environ, start_response)


def install():
    """Put the simulator in front of Odoo's WSGI application, once per process."""
    application = http.Application
    if getattr(application, "_spp_dci_simulator", False):
        return
    original = application.__call__

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO", "").startswith(PREFIX + "/"):
            return _serve(environ, start_response)
        return original(self, environ, start_response)

    application.__call__ = __call__
    application._spp_dci_simulator = True
