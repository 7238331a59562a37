"""Two scheduler processes polling one mailbox on PostgreSQL: each mail takes effect once.

Issue #20. A real Dovecot holds the mail, and two `careloop scheduler --once` processes
read the same mailbox at the same time against one PostgreSQL database. The test counts
effects in the store (thread messages by Message-ID, records), not log lines: both
processes may fetch the same mail, and the thread's unique key lets only one take it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.mime.text import MIMEText
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import Engine, func, select

from engine.records.versions import PackSource
from engine.services import Services
from engine.store.db import make_session_factory
from engine.store.models import Record, ThreadMessage
from tests.conftest import ROOT
from tests.mailserver import ImapServer

pytestmark = pytest.mark.pg
CARELOOP = str(Path(sys.executable).parent / "careloop")
NEW, REPLIES = 20, 10  # 20 mails that start a conversation, 10 answers to some of them
TIMEOUT = 120.0  # seconds both processes get together, start-up included


@pytest.fixture
def pg_engine(pg_engine: Engine, after_sales: PackSource) -> Engine:
    """The run's PostgreSQL database, emptied, with after_sales published."""
    Services(make_session_factory(pg_engine)).publish(after_sales, by="test")
    return pg_engine


def mail(
    number: int,
    *,
    subject: str,
    text: str,
    in_reply_to: str | None = None,
    sender: str | None = None,
    automatic: bool = False,
) -> bytes:
    message = MIMEText(text, "plain", "utf-8")
    message["From"] = sender or f"customer{number}@example.com"
    message["To"] = "service@shop.example"
    message["Subject"] = subject
    message["Message-ID"] = f"<mail{number}@example.com>"
    message["Date"] = format_datetime(datetime(2026, 12, 1, tzinfo=UTC) + timedelta(minutes=number))
    if in_reply_to is not None:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    if automatic:
        message["Auto-Submitted"] = "auto-replied"
    return message.as_bytes()


def deliver_mailbox(server: ImapServer) -> tuple[dict[str, str | None], list[str]]:
    """30 mails and 2 autoresponders, interleaved as a day's mail arrives.

    Returns each non-automatic Message-ID with the Message-ID it answers (None for a new
    conversation), and the autoresponders' Message-IDs.
    """
    mails: dict[str, str | None] = {}
    for number in range(1, NEW + 1):
        mid = f"<mail{number}@example.com>"
        server.deliver(mail(number, subject=f"电水壶漏水 {number}", text=f"第 {number} 台漏水了"))
        mails[mid] = None
        if number % 2 == 0:  # after every second new mail, the customer of the one before adds
            parent = number - 1
            answer = 100 + parent
            server.deliver(
                mail(
                    answer,
                    sender=f"customer{parent}@example.com",
                    subject=f"Re: 电水壶漏水 {parent}",
                    text=f"补充：订单号 A-{parent}",
                    in_reply_to=f"<mail{parent}@example.com>",
                )
            )
            mails[f"<mail{answer}@example.com>"] = f"<mail{parent}@example.com>"
    automatic = []
    for number, parent in ((201, 1), (202, 3)):  # out-of-office answers to our acknowledgement
        server.deliver(
            mail(
                number,
                sender=f"customer{parent}@example.com",
                subject=f"自动回复: Re: 电水壶漏水 {parent} [CL-{parent}]",
                text="我正在休假，12 月 10 日回来。",
                in_reply_to="<careloop-outbox-1@careloop>",
                automatic=True,
            )
        )
        automatic.append(f"<mail{number}@example.com>")
    return mails, automatic


def mailbox_url(server: ImapServer) -> str:
    user, password = quote(server.user, safe=""), quote(server.password, safe="")
    return f"imap://{user}:{password}@{server.host}:{server.port}/INBOX?pack=after_sales"


def scheduler(database_url: str, mailboxes: str) -> subprocess.Popen[str]:
    env = {**os.environ, "CARELOOP_DATABASE_URL": database_url, "CARELOOP_MAILBOXES": mailboxes}
    return subprocess.Popen(
        [CARELOOP, "scheduler", "--once", "--json"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(workers: list[subprocess.Popen[str]]) -> list[tuple[str, str]]:
    """Each worker's output; one still running after TIMEOUT is killed by its own pid."""
    outputs = []
    for worker in workers:
        try:
            outputs.append(worker.communicate(timeout=TIMEOUT))
        except subprocess.TimeoutExpired:
            for other in workers:
                if other.poll() is None:
                    other.kill()
                    other.communicate(timeout=10)
            pytest.fail(f"scheduler {worker.pid} still ran after {TIMEOUT} s")
    return outputs


def test_two_schedulers_reading_one_mailbox_take_each_mail_once_and_no_autoresponder(
    pg_engine: Engine, pg_database: str, imap_server: ImapServer
) -> None:
    mails, automatic = deliver_mailbox(imap_server)
    assert len(mails) == NEW + REPLIES and len(imap_server.unseen()) == NEW + REPLIES + 2

    workers = [scheduler(pg_database, mailbox_url(imap_server)) for _ in range(2)]
    outputs = finished(workers)

    assert all(worker.returncode == 0 for worker in workers), outputs
    with make_session_factory(pg_engine)() as session:
        rows = session.execute(
            select(ThreadMessage.external_id, func.count(), func.min(ThreadMessage.record_id))
            .where(ThreadMessage.direction == "in")
            .group_by(ThreadMessage.external_id)
        ).all()
        records = session.scalar(select(func.count()).select_from(Record))
    on_thread = {mid: (count, record_id) for mid, count, record_id in rows}
    assert set(on_thread) == set(mails)  # every mail, and no autoresponder
    assert all(count == 1 for count, _record in on_thread.values())
    for mid, parent in mails.items():  # a reply is on its conversation's record
        if parent is not None:
            assert on_thread[mid][1] == on_thread[parent][1], mid
    assert records == NEW
    assert not set(automatic) & set(on_thread)
    assert imap_server.unseen() == []
    # What the processes said matches: each mail taken by one of them, the rest repeats.
    taken = [Counter(json.loads(out.strip().splitlines()[-1])["mail"]) for out, _err in outputs]
    together = sum(taken, Counter())
    assert together["created"] == NEW and together["joined"] == REPLIES, taken
    assert all(said["ignored"] in (0, len(automatic)) for said in taken), taken
