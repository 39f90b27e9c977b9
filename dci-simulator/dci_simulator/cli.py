"""The ``dci-simulator`` command: the simulated registries on one port.

    dci-simulator --port 8900 --client id:secret --client-key our_public_key.pem
    # CRVS at http://127.0.0.1:8900/crvs, IBR at /ibr, DR at /dr;
    # /openspp/crvs, /openg2p/crvs, ... play those peers

It verifies every signed request against the client keys given (PEM files,
read again when an unknown kid arrives, or a JWKS URL) and refuses signatures
it cannot check.
"""

import argparse
import logging

from .auth import KeyFiles
from .faults import FaultKind
from .population import Population
from .registry import PEER_PROFILES, PEER_SPEC, SimulatedRegistry
from .server import SimulatorServer


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(
        prog="dci-simulator", description="Simulated DCI registries (CRVS, IBR, DR) over HTTP"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--size", type=int, default=5000, help="persons in the synthetic population")
    parser.add_argument(
        "--client",
        action="append",
        default=[],
        metavar="ID:SECRET",
        help="an OAuth2 client; with none, no token is required",
    )
    parser.add_argument("--token-lifetime", type=int, default=3600)
    parser.add_argument(
        "--peer",
        choices=sorted(PEER_PROFILES),
        default=PEER_SPEC,
        help="the registry it plays under /<role> (spec, openspp or openg2p)",
    )
    parser.add_argument(
        "--client-key",
        action="append",
        default=[],
        metavar="PEM_FILE",
        help="a client public key that request signatures are checked with",
    )
    parser.add_argument("--client-jwks-url", help="a client JWKS that request signatures are checked with")
    parser.add_argument("--require-signature", action="store_true", help="refuse unsigned requests")
    parser.add_argument(
        "--delay", type=float, default=0, help="seconds added to every registry answer (a distant registry's latency)"
    )
    arguments = parser.parse_args(argv)
    if any(":" not in client for client in arguments.client):
        parser.error("--client takes ID:SECRET")
    return arguments


def main(argv=None):
    arguments = parse_arguments(argv)
    logging.basicConfig(level=logging.INFO)
    registry = SimulatedRegistry(
        Population(size=arguments.size),
        clients=dict(client.split(":", 1) for client in arguments.client),
        token_lifetime=arguments.token_lifetime,
        peer=arguments.peer,
        client_keys=KeyFiles(arguments.client_key),
        client_jwks_url=arguments.client_jwks_url,
        require_signature=arguments.require_signature,
    )
    if arguments.delay:
        registry.faults.add(FaultKind.LATENCY, times=None, seconds=arguments.delay)
    server = SimulatorServer(registry, arguments.host, arguments.port)
    logging.getLogger(__name__).info("DCI simulator on %s: /crvs, /ibr, /dr", server.url())
    server.serve_forever()
