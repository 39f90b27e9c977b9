"""Simulated DCI registries: plain Python, no ORM. Not imported by the addon itself.

The demo serves it inside Odoo; tests and benchmarks run it on loopback with
SimulatorServer.
"""

from .population import Population
from .registry import SimulatedRegistry, simulator_private_key
from .server import SimulatorServer

__all__ = ["Population", "SimulatedRegistry", "SimulatorServer", "simulator_private_key"]
