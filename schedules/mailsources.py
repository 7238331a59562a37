"""Which mailboxes feed which pack and channel: CARELOOP_MAILBOXES, one URL per mailbox.

`imaps://desk%40shop.example:secret@imap.shop.example/INBOX?pack=after_sales&channel=email`
(`imap://` without TLS, for a server on the same host). The pack's `intake.<channel>` says
what a new mail creates; the URL only says where to read it and with which account.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from schedules.mailboxes import Mailbox

SHAPE = "imaps://user:password@host/INBOX?pack=after_sales&channel=email"


@dataclass(frozen=True)
class MailSource:
    """A mailbox and the pack and channel its mail belongs to."""

    mailbox: Mailbox
    pack: str
    channel: str


def mail_sources(raw: str) -> tuple[MailSource, ...]:
    """Every URL of the variable (separated by spaces or newlines), each checked."""
    return tuple(mail_source(url, number) for number, url in enumerate(raw.split(), start=1))


def mail_source(url: str, number: int = 1) -> MailSource:
    """One mailbox URL; a ValueError says what is wrong without repeating the password."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    pack, channel = query.get("pack", [""])[0], query.get("channel", ["email"])[0]
    missing = [
        what
        for what, present in (
            ("imap:// or imaps://", parts.scheme in ("imap", "imaps")),
            ("a host", bool(parts.hostname)),
            ("a user", bool(parts.username)),
            ("a password", parts.password is not None),
            ("?pack=", bool(pack)),
        )
        if not present
    ]
    if missing:
        raise ValueError(
            f"mailbox {number} lacks {', '.join(missing)}; it should look like {SHAPE}"
        )
    ssl = parts.scheme == "imaps"
    try:
        port = parts.port or (993 if ssl else 143)
    except ValueError:
        raise ValueError(
            f"mailbox {number} has no valid port; it should look like {SHAPE}"
        ) from None
    mailbox = Mailbox(
        name=f"{pack}/{channel}#{number}",
        host=parts.hostname or "",
        port=port,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        folder=unquote(parts.path.lstrip("/")) or "INBOX",
        ssl=ssl,
    )
    return MailSource(mailbox, pack, channel)
