"""What the registry answers, independent of the HTTP server that sends it."""

import json
from dataclasses import dataclass, field


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict = field(default_factory=lambda: {"Content-Type": "application/json"})
    drop: bool = False  # close the connection without answering

    @classmethod
    def json(cls, data, status=200):
        return cls(status, json.dumps(data, separators=(",", ":")).encode())


def http_error(status, code, message):
    return Reply.json({"errors": [{"code": code, "message": message}]}, status)
