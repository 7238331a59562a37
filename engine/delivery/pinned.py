"""HTTP POST to the address the outbound policy checked, never to a second lookup's answer.

`urllib` resolves the host itself when it connects, after any check of ours: a name that
answers a public address to the check and 127.0.0.1 to the connection (DNS rebinding) would
pass. Here the connection goes to `Target.address`; the Host header and TLS (SNI and the
certificate's name) still use the host written in the URL. Redirects are not followed: a
3xx is a failed attempt like any other non-2xx answer. The scheduler's webhooks and gateways
and the chat box's order lookup (engine/selfservice/orderhook.py) all send through here.
"""

from __future__ import annotations

import base64
import http.client
import socket
import ssl
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

from engine.delivery.outbound import OutboundPolicy, Target


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP(S) connection to `target.address`, speaking to `target.host`."""

    def __init__(self, target: Target, timeout: float, tls: ssl.SSLContext | None) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.target = target
        self.tls = tls

    def connect(self) -> None:
        sock = socket.create_connection((self.target.address, self.target.port), self.timeout)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host) if self.tls else sock


def post(
    url: str, data: bytes, headers: Mapping[str, str], policy: OutboundPolicy, timeout: float
) -> int:
    """POST `data` to `url` once the policy let its host through; the answer's status."""
    status, _body = exchange(url, data, headers, policy, timeout)
    return status


def exchange(
    url: str,
    data: bytes,
    headers: Mapping[str, str],
    policy: OutboundPolicy,
    timeout: float,
    read_at_most: int | None = None,
) -> tuple[int, bytes]:
    """POST `data` to `url` once the policy let its host through; the answer's status and
    body (at most `read_at_most` bytes of it when given)."""
    target = policy.resolve(url)
    parts = urlsplit(url)
    tls = ssl.create_default_context() if parts.scheme == "https" else None
    sent = dict(headers)
    if parts.username is not None:  # http://user:password@gateway/ as configured
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        sent["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection = _PinnedConnection(target, timeout, tls)
    try:
        connection.request("POST", path, body=data, headers=sent)
        response = connection.getresponse()
        return response.status, response.read(read_at_most)
    finally:
        connection.close()
