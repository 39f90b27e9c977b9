"""The demo's simulated registries: one per server process, served under /dci_simulator/<role>/...

controllers/simulator.py forwards those requests to it. It learns our public
keys from our JWKS (/.well-known/jwks.json) on the same server, and the
demo's data sources learn its key, made afresh in each server process, from
its JWKS in turn.
"""

import threading

from dci_simulator import Population, SimulatedRegistry

from odoo.addons.spp_dci_client.services.constants import PATH_JWKS

PREFIX = "/dci_simulator"
DEMO_CLIENT_ID = "openspp-demo"
DEMO_CLIENT_SECRET = "demo-simulator-secret"  # noqa: S105 - the simulator's own demo credential

_lock = threading.Lock()
_registry = []


def jwks_url(base_url, role):
    return f"{base_url}{PREFIX}/{role}{PATH_JWKS}"


def registry():
    """This process's simulated registry, made on first use."""
    with _lock:
        if not _registry:
            _registry.append(
                SimulatedRegistry(
                    Population(),
                    clients={DEMO_CLIENT_ID: DEMO_CLIENT_SECRET},
                    require_signature=True,
                    callback_delay=1.0,
                )
            )
        return _registry[0]
