"""Mail arrives (issue #20): through the scheduler's mail job from a real IMAP mailbox
(Dovecot), and through `careloop mail-in` as an MTA pipes it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from cli import careloop
from engine.services import Services
from engine.store.models import Record
from schedules.mailboxes import Mailbox
from schedules.mailjob import MailJob
from schedules.mailsources import MailSource
from tests.integration.test_mail_intake import mail, with_photo
from tests.mailserver import ImapServer

PACK = Path(__file__).resolve().parents[2] / "workflows" / "after_sales"


def source(imap: ImapServer) -> MailSource:
    box = Mailbox(
        name="service", host=imap.host, port=imap.port, user=imap.user, password=imap.password,
        ssl=False,
    )  # fmt: skip
    return MailSource(box, "after_sales", "email")


def records(services: Services) -> list[Record]:
    with services.session_factory() as session:
        return list(session.scalars(select(Record).order_by(Record.id)))


@pytest.mark.parametrize("db_engine", ["sqlite"], indirect=True)
def test_the_mail_job_takes_each_mail_once_and_leaves_nothing_unseen(
    services: Services, imap_server: ImapServer
) -> None:
    imap_server.deliver(with_photo(mail("洗衣机漏水", "一直漏水，照片见附件")))
    imap_server.deliver(
        mail("自动回复", "我正在休假", message_id="<auto@x>", Auto_Submitted="auto-replied")
    )
    imap_server.deliver(b"\x00\x01 not a mail at all")
    job = MailJob(services, (source(imap_server),))
    first = job()
    assert (first["created"], first["ignored"], first["unreadable"]) == (1, 1, 1)
    assert imap_server.unseen() == []
    imap_server.deliver(mail("洗衣机漏水", "一直漏水，照片见附件"))  # the same Message-ID again
    assert job()["duplicate"] == 1
    (record,) = records(services)
    assert record.channel == "email" and record.fields["description"].startswith("洗衣机漏水")


@pytest.mark.parametrize("db_engine", ["sqlite"], indirect=True)
def test_a_mailbox_that_cannot_be_reached_does_not_stop_the_job(services: Services) -> None:
    unreachable = Mailbox(name="gone", host="127.0.0.1", port=1, user="u", password="p", ssl=False)
    outcomes = MailJob(services, (MailSource(unreachable, "after_sales", "email"),))()
    assert outcomes["unavailable"] == 1


def test_mail_in_takes_a_piped_mail_and_answers_the_mta_with_its_exit_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARELOOP_DATABASE_URL", f"sqlite:///{tmp_path}/mail.db")
    runner = CliRunner()
    assert runner.invoke(careloop, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(careloop, ["publish", str(PACK)]).exit_code == 0
    command = ["mail-in", "--pack", "after_sales"]
    taken = runner.invoke(careloop, command, input=mail("洗衣机漏水", "一直漏水"))
    assert (taken.exit_code, taken.output.strip()) == (0, "created record 1")
    again = runner.invoke(careloop, command, input=mail("洗衣机漏水", "一直漏水"))
    assert again.exit_code == 0 and again.output.startswith("duplicate")
    garbage = runner.invoke(careloop, command, input=b"")
    assert garbage.exit_code == 65 and "not a mail" in garbage.output
    unknown = runner.invoke(careloop, ["mail-in", "--pack", "nowhere"], input=mail("x", "y"))
    assert unknown.exit_code == 65 and "has not been published" in unknown.output
