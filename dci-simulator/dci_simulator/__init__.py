"""Simulated DCI registries (CRVS, IBR, DR): plain Python, runnable by anyone.

In a program or a test::

    with SimulatorServer(SimulatedRegistry(clients={"id": "secret"})) as server:
        server.url("crvs")

From the command line: ``dci-simulator --port 8900``.
"""

from .auth import KeyFiles
from .faults import FaultKind
from .population import Population
from .registry import SimulatedRegistry, simulator_private_key, simulator_rsa_private_key
from .server import SimulatorServer

__all__ = [
    "FaultKind",
    "KeyFiles",
    "Population",
    "SimulatedRegistry",
    "SimulatorServer",
    "simulator_private_key",
    "simulator_rsa_private_key",
]
