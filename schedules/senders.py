"""Delivery adapters for the outbox: SMTP email and a signed JSON webhook, configured by URL.

`CARELOOP_SMTP_URL`: smtp://user:password@host:port?from=careloop@example.com&starttls=1
(smtps:// for implicit TLS). `CARELOOP_WEBHOOK_URL` and `CARELOOP_WEBHOOK_SECRET`: each
message is POSTed as JSON with `X-Careloop-Signature: sha256=<hex HMAC of the body>`
and `Idempotency-Key`, so a receiver can check where it came from and drop a repeat.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import smtplib
import urllib.request
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import parse_qs, unquote, urlsplit

from engine.outbox import Sender
from engine.store.models import OutboxMessage

TIMEOUT = 10.0


def message_key(message: OutboxMessage) -> str:
    """A stable id per message: the same on every attempt, for receivers to deduplicate."""
    return f"careloop-outbox-{message.id}"


class SmtpSender:
    """Sends one email per message over SMTP (optionally STARTTLS or implicit TLS)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"CARELOOP_SMTP_URL must look like smtp://host:25, got '{url}'")
        query = parse_qs(parts.query)
        self.host = parts.hostname
        self.port = parts.port or (465 if parts.scheme == "smtps" else 25)
        self.implicit_tls = parts.scheme == "smtps"
        self.starttls = query.get("starttls", ["0"])[0] in ("1", "true")
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender = query.get("from", ["careloop@localhost"])[0]

    def send(self, message: OutboxMessage) -> None:
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.recipient
        email["Subject"] = message.subject
        email["Date"] = formatdate(localtime=False)
        email["Message-ID"] = f"<{message_key(message)}@careloop>"
        email.set_content(message.body)
        client_class = smtplib.SMTP_SSL if self.implicit_tls else smtplib.SMTP
        with client_class(self.host, self.port, timeout=TIMEOUT) as client:
            if self.starttls:
                client.starttls()
            if self.username and self.password:
                client.login(self.username, self.password)
            client.send_message(email)


class WebhookSender:
    """POSTs each message as JSON, signed with HMAC-SHA256 over the exact body."""

    def __init__(self, url: str, secret: str) -> None:
        if urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(f"CARELOOP_WEBHOOK_URL must be http(s)://…, got '{url}'")
        if not secret:
            raise ValueError("CARELOOP_WEBHOOK_SECRET is required with CARELOOP_WEBHOOK_URL")
        self.url = url
        self.secret = secret.encode()

    def send(self, message: OutboxMessage) -> None:
        body = json.dumps({"id": message_key(message), **message.payload}, ensure_ascii=False)
        data = body.encode()
        signature = hmac.new(self.secret, data, hashlib.sha256).hexdigest()
        request = urllib.request.Request(
            self.url,
            data=data,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "X-Careloop-Signature": f"sha256={signature}",
                "Idempotency-Key": message_key(message),
            },
        )
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            if not 200 <= response.status < 300:
                raise RuntimeError(f"webhook answered {response.status}")


def senders_from_env() -> dict[str, Sender]:
    """The adapters the environment configures; a channel without one stays queued."""
    senders: dict[str, Sender] = {}
    if os.environ.get("CARELOOP_SMTP_URL"):
        senders["email"] = SmtpSender(os.environ["CARELOOP_SMTP_URL"])
    if os.environ.get("CARELOOP_WEBHOOK_URL"):
        senders["webhook"] = WebhookSender(
            os.environ["CARELOOP_WEBHOOK_URL"], os.environ.get("CARELOOP_WEBHOOK_SECRET", "")
        )
    return senders
