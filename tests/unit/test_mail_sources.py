"""CARELOOP_MAILBOXES (issue #20): each mailbox URL read, or refused without its password."""

from __future__ import annotations

import pytest

from ops.settings import Settings, SettingsError
from schedules.mailsources import mail_sources


def test_each_url_names_a_mailbox_its_pack_and_channel() -> None:
    sources = mail_sources(
        "imaps://desk%40shop.example:s3cret@imap.shop.example/INBOX?pack=after_sales\n"
        "imap://care:pw@127.0.0.1:1143/Support?pack=retail&channel=email"
    )
    first, second = sources
    assert (first.pack, first.channel) == ("after_sales", "email")
    assert (first.mailbox.user, first.mailbox.password) == ("desk@shop.example", "s3cret")
    assert (first.mailbox.host, first.mailbox.port, first.mailbox.ssl) == (
        "imap.shop.example",
        993,
        True,
    )
    assert (second.mailbox.port, second.mailbox.ssl, second.mailbox.folder) == (
        1143,
        False,
        "Support",
    )
    assert "s3cret" not in repr(first)


def test_a_bad_url_is_one_clear_line_that_never_shows_the_password() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_environ(
            {
                "CARELOOP_MAILBOXES": "pop3://desk:s3cret@mail.example/INBOX",
                "CARELOOP_MAIL_SECONDS": "0",
            }
        )
    text = str(caught.value)
    assert "CARELOOP_MAILBOXES: mailbox 1 lacks imap:// or imaps://, ?pack=" in text
    assert "CARELOOP_MAIL_SECONDS" in text and "s3cret" not in text
