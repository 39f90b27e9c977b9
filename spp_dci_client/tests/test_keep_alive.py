import httpx

from odoo.tests import tagged

from ..services.client import DCIClient
from .common import DCICase


@tagged("post_install", "-at_install")
class TestKeepAlive(DCICase):
    """Connections counted by the simulator (the server side): one client, one kept-alive connection."""

    def test_one_client_reuses_one_connection(self):
        with DCIClient(self.data_source, self.env) as client:
            client.search_by_id("BRN", "BR-2024-0042")  # the token request and the first search
            before = self.server.connections
            for _ in range(20):
                client.search_by_id("BRN", "BR-2024-0042")
            self.assertEqual(self.server.connections - before, 0)

    def test_a_client_per_call_opens_a_connection_per_call(self):
        before = self.server.connections
        for _ in range(5):
            with DCIClient(self.data_source, self.env) as client:
                client.search_by_id("BRN", "BR-2024-0042")
        self.assertGreaterEqual(self.server.connections - before, 5)

    def test_the_server_keeps_the_connection_open(self):
        with httpx.Client() as http:
            answers = [http.get(f"{self.server.url()}/_simulator/connections") for _ in range(3)]
        self.assertEqual([answer.headers.get("connection") for answer in answers], [None] * 3)
        counts = [answer.json()["connections"] for answer in answers]
        self.assertEqual(counts[0], counts[2])
