"""Issue #20: the real IMAP server the mail tests use (tests/mailserver.py)."""

from __future__ import annotations

from email.mime.text import MIMEText

from tests.mailserver import ImapServer


def message(number: int) -> bytes:
    text = MIMEText("我的电水壶漏水了 (the kettle leaks)", "plain", "utf-8")
    text["From"] = f"customer{number}@example.com"
    text["To"] = "desk@example.com"
    text["Subject"] = f"complaint {number}"
    text["Message-ID"] = f"<m{number}@example.com>"
    return text.as_bytes()


def test_the_test_server_delivers_unseen_mail_to_the_user_it_is_told(
    imap_server: ImapServer,
) -> None:
    other = [name for name in imap_server.users if name != imap_server.user][0]

    imap_server.deliver(message(1), user=other)

    assert imap_server.unseen() == []
    assert len(imap_server.unseen(other)) == 1
