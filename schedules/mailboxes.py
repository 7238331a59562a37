"""Reading an IMAP mailbox for the scheduler: each poll hands new messages to a handler (issue #20).

A message is fetched with BODY.PEEK[], which leaves it unseen, and marked \\Seen only after
the handler returned True: a crash or a failed handling leaves it for the next poll, so mail
is never lost between the server and the store. The price is that a message may be handed
over more than once: after a crash between handling and marking, and when two schedulers
poll the same mailbox at once (both may find it unseen and fetch it). The handler must
therefore be idempotent by the message's Message-ID (the store keeps it unique), which makes
a second delivery harmless; this module promises at least once, never exactly once.

Logs say how many messages came and went, never what they say: mail is personal data.
"""

from __future__ import annotations

import imaplib
import logging
import ssl as tls
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

Handler = Callable[[bytes], bool]


@dataclass(frozen=True, kw_only=True)
class Mailbox:
    """One mailbox the scheduler polls; the password is left out of repr so logs never show it.

    `folder` is the folder's IMAP name (ASCII, or already in IMAP's modified UTF-7).
    """

    name: str
    host: str
    port: int
    user: str
    password: str = field(repr=False)
    folder: str = "INBOX"
    ssl: bool = True


@dataclass(frozen=True)
class FetchResult:
    """One poll's counts: fetched from the server, handled (now \\Seen), failed (left unseen)."""

    fetched: int = 0
    handled: int = 0
    failed: int = 0


class MailboxUnavailable(ConnectionError):
    """The server refused us or the network failed; the next poll tries again.

    The message names the mailbox and the server's or the network's reason, never the password.
    """

    def __init__(self, mailbox: Mailbox, reason: str) -> None:
        reason = reason.replace(mailbox.password, "***") if mailbox.password else reason
        super().__init__(
            f"mailbox '{mailbox.name}' ({mailbox.user}@{mailbox.host}:{mailbox.port}, "
            f"{mailbox.folder}) is unavailable: {reason}; check its host, port, user, "
            "password and folder"
        )
        self.mailbox_name = mailbox.name
        self.reason = reason


def fetch_new(
    mailbox: Mailbox, handle: Handler, *, limit: int = 50, timeout: float = 30.0
) -> FetchResult:
    """Hands up to `limit` unseen messages, oldest first, to `handle` as raw RFC 5322 bytes.

    A message is marked \\Seen only when `handle` returns True; one that returns False or
    raises stays unseen and comes again on the next poll (at least once: see the module's
    docstring). `timeout` bounds every network wait, in seconds.

    :raises MailboxUnavailable: the server refused the sign-in or a command, or the network
        failed; messages already handled in this poll stay handled.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    try:
        with signed_in(mailbox, timeout) as client:
            select(client, mailbox)
            unseen = unseen_uids(client)
            result = FetchResult()
            for uid in unseen[:limit]:
                result = take(client, uid, handle, result)
    except (imaplib.IMAP4.error, OSError) as error:
        # `from None`: the reason is kept; the cause's frames hold the sign-in arguments.
        raise MailboxUnavailable(mailbox, f"{type(error).__name__}: {error}") from None
    log.info(
        "mailbox %s: %d fetched, %d handled, %d failed, %d more waiting",
        mailbox.name,
        result.fetched,
        result.handled,
        result.failed,
        max(0, len(unseen) - limit),
    )
    return result


@contextmanager
def signed_in(mailbox: Mailbox, timeout: float) -> Iterator[imaplib.IMAP4]:
    """A client signed in to the mailbox's server, logged out afterwards whatever happens."""
    client: imaplib.IMAP4
    if mailbox.ssl:
        context = tls.create_default_context()
        client = imaplib.IMAP4_SSL(mailbox.host, mailbox.port, ssl_context=context, timeout=timeout)
    else:
        client = imaplib.IMAP4(mailbox.host, mailbox.port, timeout=timeout)
    with client:
        client.login(mailbox.user, mailbox.password)
        yield client


def quoted(folder: str) -> str:
    """The folder as an IMAP quoted string, so names with spaces select the right folder."""
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def select(client: imaplib.IMAP4, mailbox: Mailbox) -> None:
    status, data = client.select(quoted(mailbox.folder))
    if status != "OK":
        raise imaplib.IMAP4.error(f"SELECT refused: {text(data)}")


def unseen_uids(client: imaplib.IMAP4) -> list[int]:
    """The unseen messages' UIDs, oldest first (UIDs only grow within a folder)."""
    status, data = client.uid("SEARCH", "UNSEEN")
    if status != "OK":
        raise imaplib.IMAP4.error(f"SEARCH refused: {text(data)}")
    found = data[0] if data else None
    return sorted(int(uid) for uid in found.split()) if isinstance(found, bytes) else []


def take(client: imaplib.IMAP4, uid: int, handle: Handler, result: FetchResult) -> FetchResult:
    """Fetches one message without marking it, hands it over, marks it \\Seen if handled."""
    raw = fetch(client, uid)
    if raw is None:  # expunged meanwhile, by another client
        return result
    fetched = result.fetched + 1
    try:
        handled = handle(raw) is True
    except Exception as error:  # the handler's bug must not stop the other messages
        log.error("mail handler failed on UID %d: %s", uid, type(error).__name__)
        handled = False
    if not handled:
        return FetchResult(fetched, result.handled, result.failed + 1)
    status, data = client.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Seen)")
    if status != "OK":
        raise imaplib.IMAP4.error(f"STORE refused: {text(data)}")
    return FetchResult(fetched, result.handled + 1, result.failed)


def fetch(client: imaplib.IMAP4, uid: int) -> bytes | None:
    """The message's exact bytes (BODY.PEEK[] leaves it unseen), or None if it is gone."""
    status, data = client.uid("FETCH", str(uid), "(BODY.PEEK[])")
    if status != "OK":
        raise imaplib.IMAP4.error(f"FETCH refused: {text(data)}")
    for part in data:
        if isinstance(part, tuple) and b"BODY[]" in part[0]:
            return bytes(part[1])
    return None


def text(data: Sequence[object]) -> str:
    """A server response for an error message (the server's own words, never our arguments)."""
    return " ".join(
        item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item) for item in data
    )
