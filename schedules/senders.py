"""Delivery adapters for the outbox: SMTP email and a signed JSON webhook, configured by URL.

`CARELOOP_SMTP_URL`: smtp://user:password@host:port?from=careloop@example.com&starttls=1
(smtps:// for implicit TLS). `CARELOOP_WEBHOOK_URL` and `CARELOOP_WEBHOOK_SECRET`: staff
messages POSTed as JSON. Integrations' subscriptions (`/api/v1/subscriptions`) carry their
own URL and secret. `CARELOOP_GATEWAYS` and `CARELOOP_GATEWAY_SECRET`: replies on SMS,
WeChat or a chat POSTed to the team's gateway for each channel. Every POST is signed
`X-Careloop-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">` and carries an
`Idempotency-Key`, so a receiver can check where it came from, refuse a stale replay, and
drop a repeat.

An email carries the files of its reply as attachments, loaded through the `files` loader
the composition root passes in. A recipient the SMTP server refuses for good (5xx at RCPT)
is a `PermanentFailure`: bounced at once, never retried; a 4xx is retried with backoff.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import time
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from email.utils import formatdate
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

from engine.delivery import pinned
from engine.delivery.outbound import OutboundPolicy
from engine.delivery.outbox import PermanentFailure, Sender
from engine.store.models import OutboxMessage
from ops.settings import Settings

if TYPE_CHECKING:
    from engine.conversation.attachments import StoredFile  # the mail parser, not at start

TIMEOUT = 10.0
STRICT = OutboundPolicy()  # nothing allowed but public addresses


def outbound_policy(settings: Settings) -> OutboundPolicy:
    """The policy of CARELOOP_OUTBOUND_ALLOW: the hosts an operator trusts by name."""
    return OutboundPolicy.allowing(settings.outbound_allow)


# The files an outbox row's email carries, by the row's id (none for a notification).
FileLoader = Callable[[int], Sequence["StoredFile"]]


def message_key(message: OutboxMessage) -> str:
    """A stable id per message: the same on every attempt, for receivers to deduplicate."""
    return f"careloop-outbox-{message.id}"


class SmtpSender:
    """Sends one email per message over SMTP (optionally STARTTLS or implicit TLS)."""

    def __init__(self, url: str, files: FileLoader | None = None) -> None:
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
        self.files = files

    def send(self, message: OutboxMessage) -> None:
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.recipient
        email["Subject"] = message.subject
        email["Date"] = formatdate(localtime=False)
        email["Message-ID"] = f"<{message_key(message)}@careloop>"
        # A reply to the customer threads under their mail in their client.
        if message.payload.get("in_reply_to"):
            email["In-Reply-To"] = " ".join(message.payload["in_reply_to"])
        if message.payload.get("references"):
            email["References"] = " ".join(message.payload["references"])
        email.set_content(message.body)
        if message.payload.get("html"):  # a review: the same tables as HTML
            email.add_alternative(str(message.payload["html"]), subtype="html")
        for file in self.files(message.id) if self.files is not None else ():
            maintype, _, subtype = file.content_type.partition("/")
            # A Chinese file name goes out RFC 2231 encoded (filename*=utf-8''…).
            email.add_attachment(
                file.data, maintype=maintype, subtype=subtype, filename=file.filename
            )
        client_class = smtplib.SMTP_SSL if self.implicit_tls else smtplib.SMTP
        with client_class(self.host, self.port, timeout=TIMEOUT) as client:
            if self.starttls:
                client.starttls()
            if self.username and self.password:
                client.login(self.username, self.password)
            try:
                client.send_message(email)
            except smtplib.SMTPRecipientsRefused as exc:
                raise refusal(exc) from exc


def refusal(exc: smtplib.SMTPRecipientsRefused) -> Exception:
    """5xx for the recipient is for good (no such mailbox): a PermanentFailure with the
    server's words; a 4xx (mailbox busy, greylisting) stays an error to retry."""
    answers = exc.recipients.values()
    if not answers or any(not 500 <= code < 600 for code, _text in answers):
        return exc
    return PermanentFailure(
        "; ".join(f"{code} {text.decode(errors='replace')}" for code, text in answers)
    )


class WebhookSender:
    """POSTs each message as JSON, signed with HMAC-SHA256 over the exact body."""

    def __init__(self, url: str, secret: str, *, policy: OutboundPolicy = STRICT) -> None:
        self.policy = policy
        if urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(f"CARELOOP_WEBHOOK_URL must be http(s)://…, got '{url}'")
        if not secret:
            raise ValueError("CARELOOP_WEBHOOK_SECRET is required with CARELOOP_WEBHOOK_URL")
        self.url = url
        self.secret = secret.encode()

    def send(self, message: OutboxMessage) -> None:
        body = json.dumps({"id": message_key(message), **message.payload}, ensure_ascii=False)
        subject = str(message.payload.get("subject", ""))
        post_signed(self.url, self.secret, body, message, subject, self.policy)


class GatewaySender:
    """POSTs a reply on SMS, WeChat or a chat to the team's gateway for that channel, signed
    like every webhook (docs/channels.md lists the payload); the gateway answers 2xx once it
    has taken the message and reports delivery later to `/api/v1/channels/<channel>/receipts`."""

    def __init__(
        self, channel: str, url: str, secret: str, *, policy: OutboundPolicy = STRICT
    ) -> None:
        self.policy = policy
        if not secret:
            raise ValueError("CARELOOP_GATEWAY_SECRET is required with CARELOOP_GATEWAYS")
        self.channel = channel
        self.url = url
        self.secret = secret.encode()

    def send(self, message: OutboxMessage) -> None:
        body = {
            "id": message_key(message),
            "channel": message.channel,
            "to": message.recipient,
            "text": message.body,
            "record": message.payload.get("record"),
            "reference": message.payload.get("reference"),
            "pack": message.payload.get("pack"),
        }
        text = json.dumps(body, ensure_ascii=False)
        post_signed(self.url, self.secret, text, message, f"message.{self.channel}", self.policy)


class SubscriptionSender:
    """POSTs record events to the URL of the subscription each message names."""

    def __init__(
        self, lookup: Callable[[int], tuple[str, str] | None], *, policy: OutboundPolicy = STRICT
    ) -> None:
        self.lookup = lookup
        self.policy = policy

    def send(self, message: OutboxMessage) -> None:
        target = self.lookup(int(message.recipient))
        if target is None:
            raise LookupError(f"subscription {message.recipient} was removed")
        url, secret = target
        body = json.dumps(message.payload, ensure_ascii=False)
        post_signed(url, secret.encode(), body, message, message.subject, self.policy)


def sign(secret: bytes, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def post_signed(
    url: str,
    secret: bytes,
    body: str,
    message: OutboxMessage,
    event: str,
    policy: OutboundPolicy,
) -> None:
    """POST `body` signed over time and body; `event` is an ASCII name such as sla.breached.
    Only to an address `policy` lets through, checked after resolving (engine/delivery/outbound)."""
    data = body.encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "X-Careloop-Signature": sign(secret, data, int(time.time())),
        "X-Careloop-Event": event,
        "Idempotency-Key": message_key(message),
    }
    status = pinned.post(url, data, headers, policy, TIMEOUT)
    if not 200 <= status < 300:
        raise RuntimeError(f"webhook answered {status}")


def configured_senders(settings: Settings, files: FileLoader | None = None) -> dict[str, Sender]:
    """The adapters the settings configure; a channel without one stays queued. `files`
    loads the attachments of a reply's email."""
    senders: dict[str, Sender] = {}
    policy = outbound_policy(settings)
    if settings.smtp_url:
        senders["email"] = SmtpSender(settings.smtp_url, files)
    if settings.webhook_url:
        senders["webhook"] = WebhookSender(
            settings.webhook_url, settings.webhook_secret, policy=policy
        )
    for channel, url in settings.gateways:
        senders[channel] = GatewaySender(channel, url, settings.gateway_secret, policy=policy)
    return senders
