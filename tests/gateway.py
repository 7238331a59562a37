"""A real SMS/WeChat gateway for the tests: an HTTP server on 127.0.0.1 that checks
Careloop's signature the way docs/channels.md tells a gateway to, and keeps what it took.

Never a mock of urllib: the outbox's GatewaySender talks HTTP to it. It answers 401 to a
request whose signature does not hold, as a real gateway should, so a test sees a wrong
recipe as a failed delivery.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def verified(secret: bytes, header: str, body: bytes, now: float) -> bool:
    """The recipe of docs/channels.md: HMAC-SHA256 over "<t>.<body>", t within 5 minutes."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    if not fields.get("t", "").isdigit() or "v1" not in fields:
        return False
    expected = hmac.new(secret, f"{fields['t']}.".encode() + body, hashlib.sha256).hexdigest()
    return abs(now - int(fields["t"])) <= 300 and hmac.compare_digest(expected, fields["v1"])


def signature(secret: bytes, body: bytes, at: float | None = None) -> str:
    """What a gateway sends with its own POSTs to Careloop: the same recipe, the other way."""
    timestamp = int(time.time() if at is None else at)
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass
class Gateway:
    """What the gateway took: each POST's path, headers and JSON body, in order."""

    secret: bytes
    url: str = ""
    taken: list[tuple[str, dict[str, str], dict[str, Any]]] = field(default_factory=list)
    refused: int = 0


@contextmanager
def running_gateway(secret: bytes) -> Iterator[Gateway]:
    gateway = Gateway(secret)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            header = self.headers.get("X-Careloop-Signature", "")
            if not verified(secret, header, body, time.time()):
                gateway.refused += 1
                self.send_response(401)
            else:
                gateway.taken.append((self.path, dict(self.headers), json.loads(body)))
                self.send_response(202)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            """Quiet: the tests read what it took."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    gateway.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield gateway
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
