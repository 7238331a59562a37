"""Issue #20: the scheduler reads IMAP mailboxes against a real Dovecot (never a mock of imaplib).

A message is marked seen only once its handler took it; a failed one comes again; a poll is
bounded; a refused sign-in names the mailbox, never the password; the bytes arrive exactly as
sent; two pollers at once may both fetch a message, and an idempotent handler makes that
harmless.
"""

from __future__ import annotations

import email
import logging
import threading
from dataclasses import replace
from email.header import Header, decode_header, make_header
from email.mime.text import MIMEText
from typing import Any

import pytest

from schedules.mailboxes import FetchResult, Mailbox, MailboxUnavailable, fetch_new
from tests.mailserver import ImapServer

BARRIER_TIMEOUT = 15.0  # seconds; bounds the wait for both pollers to start together


def message(number: int) -> bytes:
    text = MIMEText("我的电水壶漏水了 (the kettle leaks)", "plain", "utf-8")
    text["From"] = f"customer{number}@example.com"
    text["To"] = "desk@example.com"
    text["Subject"] = f"complaint {number}"
    text["Message-ID"] = f"<m{number}@example.com>"
    return text.as_bytes()


def message_id(raw: bytes) -> str:
    return str(email.message_from_bytes(raw)["Message-ID"])


def mailbox_of(server: ImapServer, **changes: Any) -> Mailbox:
    """The test server's first mailbox, over plain IMAP, with any field changed."""
    box = Mailbox(
        name="service",
        host=server.host,
        port=server.port,
        user=server.user,
        password=server.password,
        ssl=False,
    )
    return replace(box, **changes)


class Recorder:
    """A handler that remembers what it took, by Message-ID, as the store will (idempotent)."""

    def __init__(self, *, accept: bool = True) -> None:
        self.accept = accept
        self.calls: list[str] = []
        self.taken: set[str] = set()
        self.lock = threading.Lock()

    def __call__(self, raw: bytes) -> bool:
        with self.lock:
            self.calls.append(message_id(raw))
            if self.accept:
                self.taken.add(message_id(raw))
        return self.accept


def test_delivered_messages_are_fetched_once_and_marked_seen(imap_server: ImapServer) -> None:
    for number in (1, 2, 3):
        imap_server.deliver(message(number))
    handler = Recorder()

    first = fetch_new(mailbox_of(imap_server), handler)
    second = fetch_new(mailbox_of(imap_server), handler)

    assert first == FetchResult(fetched=3, handled=3, failed=0)
    assert second == FetchResult(fetched=0, handled=0, failed=0)
    assert handler.calls == ["<m1@example.com>", "<m2@example.com>", "<m3@example.com>"]
    assert imap_server.unseen() == []


def test_a_message_whose_handling_failed_stays_unseen_and_comes_again(
    imap_server: ImapServer,
) -> None:
    imap_server.deliver(message(1))

    failed = fetch_new(mailbox_of(imap_server), Recorder(accept=False))
    assert failed == FetchResult(fetched=1, handled=0, failed=1)
    assert len(imap_server.unseen()) == 1

    handler = Recorder()
    retried = fetch_new(mailbox_of(imap_server), handler)
    assert retried == FetchResult(fetched=1, handled=1, failed=0)
    assert handler.taken == {"<m1@example.com>"}
    assert imap_server.unseen() == []


def test_a_handler_that_raises_fails_its_message_and_the_others_are_still_taken(
    imap_server: ImapServer,
) -> None:
    imap_server.deliver(message(1))
    imap_server.deliver(message(2))

    def handle(raw: bytes) -> bool:
        if message_id(raw) == "<m1@example.com>":
            raise RuntimeError("a bug in the handler")
        return True

    result = fetch_new(mailbox_of(imap_server), handle)

    assert result == FetchResult(fetched=2, handled=1, failed=1)
    assert len(imap_server.unseen()) == 1


def test_one_poll_takes_no_more_than_its_limit_oldest_first(imap_server: ImapServer) -> None:
    for number in range(1, 6):
        imap_server.deliver(message(number))
    handler = Recorder()

    first = fetch_new(mailbox_of(imap_server), handler, limit=2)
    assert first == FetchResult(fetched=2, handled=2, failed=0)
    assert handler.calls == ["<m1@example.com>", "<m2@example.com>"]
    assert len(imap_server.unseen()) == 3

    rest = fetch_new(mailbox_of(imap_server), handler, limit=10)
    assert rest.handled == 3
    assert imap_server.unseen() == []


def test_a_wrong_password_names_the_mailbox_and_never_the_password(
    own_imap_server: ImapServer,
) -> None:
    wrong = "Wrong-Pass-9f3c"
    box = mailbox_of(own_imap_server, name="after-sales inbox", password=wrong)

    with pytest.raises(MailboxUnavailable) as raised:
        fetch_new(box, Recorder())

    shown = str(raised.value)
    assert "after-sales inbox" in shown
    assert raised.value.mailbox_name == "after-sales inbox"
    assert wrong not in shown and wrong not in repr(box)
    assert raised.value.__cause__ is None


def test_a_server_that_does_not_answer_is_unavailable_too(imap_server: ImapServer) -> None:
    from tests.mailserver import free_port

    box = mailbox_of(imap_server, name="closed", port=free_port())

    with pytest.raises(MailboxUnavailable, match="mailbox 'closed'"):
        fetch_new(box, Recorder(), timeout=5)


def test_a_missing_folder_is_unavailable(imap_server: ImapServer) -> None:
    with pytest.raises(MailboxUnavailable, match="SELECT"):
        fetch_new(mailbox_of(imap_server, folder="No Such Folder"), Recorder())


def test_a_chinese_gbk_message_comes_back_byte_identical(imap_server: ImapServer) -> None:
    # 8-bit GBK in the body, as Chinese mail clients send it, and an encoded-word subject.
    subject = Header("电水壶漏水 投诉", "gbk").encode()
    body = "您好，我买的电水壶漏水了，请尽快处理。\r\n".encode("gbk")
    raw = (
        "From: zhang.san@example.cn\r\nTo: desk@example.com\r\n"
        f"Subject: {subject}\r\nMessage-ID: <gbk-1@example.cn>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=gbk\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode("ascii") + body
    imap_server.deliver(raw)
    received: list[bytes] = []

    def keep(got: bytes) -> bool:
        received.append(got)
        return True

    fetch_new(mailbox_of(imap_server), keep)

    assert received == [raw]
    parsed = email.message_from_bytes(received[0])
    assert parsed.get_content_charset() == "gbk"
    assert parsed.get_payload(decode=True) == body
    assert str(make_header(decode_header(parsed["Subject"]))) == "电水壶漏水 投诉"


def test_two_pollers_at_once_take_each_message_once_in_effect(imap_server: ImapServer) -> None:
    delivered = {f"<m{number}@example.com>" for number in range(1, 9)}
    for number in range(1, 9):
        imap_server.deliver(message(number))
    handler = Recorder()
    start = threading.Barrier(2, timeout=BARRIER_TIMEOUT)
    results: list[FetchResult] = []
    errors: list[BaseException] = []

    def poll() -> None:
        try:
            start.wait()
            results.append(fetch_new(mailbox_of(imap_server), handler))
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)

    pollers = [threading.Thread(target=poll) for _ in range(2)]
    for poller in pollers:
        poller.start()
    for poller in pollers:
        poller.join(timeout=60)

    assert errors == []
    assert not any(poller.is_alive() for poller in pollers)
    # Both may have fetched a message (at least once); the handler's set took each once.
    assert handler.taken == delivered
    assert set(handler.calls) == delivered
    assert sum(result.handled for result in results) == len(handler.calls) >= len(delivered)
    assert imap_server.unseen() == []
    assert fetch_new(mailbox_of(imap_server), handler) == FetchResult()


def test_the_test_server_delivers_unseen_mail_to_the_user_it_is_told(
    imap_server: ImapServer,
) -> None:
    other = [name for name in imap_server.users if name != imap_server.user][0]

    imap_server.deliver(message(1), user=other)

    assert imap_server.unseen() == []
    assert len(imap_server.unseen(other)) == 1


def test_a_poll_logs_its_counts_and_never_the_mail(
    imap_server: ImapServer, caplog: pytest.LogCaptureFixture
) -> None:
    imap_server.deliver(message(1))
    imap_server.deliver(message(2))

    with caplog.at_level(logging.INFO, logger="schedules.mailboxes"):
        fetch_new(mailbox_of(imap_server), Recorder(), limit=1)

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "mailbox service: 1 fetched, 1 handled, 0 failed, 1 more waiting" in logged
    assert "customer1@example.com" not in logged and "complaint" not in logged
