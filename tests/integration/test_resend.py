"""A bounced reply on the desk and in the API (issue #20, part 5): the warning next to the
customer's contact and above the reply box, the history line, and "send again" — a new outbox
row to the customer's contact as it is now, the old row kept as it happened, the reply's files
carried again.

R-3.2's contacts must reach the customer. Every test runs on SQLite and on PostgreSQL (the
`app` fixture's `db_engine`); the resent mail goes to a real aiosmtpd.
"""

from __future__ import annotations

from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

from aiosmtpd.controller import Controller
from flask import Flask

from engine.conversation.mail import Attachment
from engine.services import Services
from engine.store.models import Customer, Record
from tests.integration.test_delivery_trust import Mailbox, deliver, history, outbox_rows
from tests.integration.test_mail_intake import bounce_of
from tests.integration.test_outbox import free_port
from tests.integration.test_thread_attachments import (  # noqa: F401 (the fixture)
    PDF,
    app,
    bearer,
    mailed,
    signed_in,
)
from wsgi import services


def bounced_reply(service: Services) -> tuple[int, int, int]:
    """(record id, reply's message id, its outbox row) of a reply with a PDF, bounced."""
    record_id, _, _ = mailed(service)
    manual = Attachment("说明书.pdf", "application/pdf", len(PDF), PDF)
    reply = service.reply(record_id, "说明书见附件。", channel="email", actor="li", files=[manual])
    assert reply.outbox_id is not None
    outcome = service.take_mail("after_sales", "email", bounce_of(reply.outbox_id))
    assert outcome.action == "bounced"
    return record_id, reply.id, reply.outbox_id


def test_the_desk_warns_of_the_failing_address_and_sends_the_reply_again(app: Flask) -> None:  # noqa: F811
    service = services(app)
    record_id, message_id, first = bounced_reply(service)
    service.transition(record_id, "accept", {"category": "quality", "priority": "P2"}, actor="t")
    wang = signed_in(app, "wang")  # rnd, where quality problems go
    page = wang.get(f"/records/{record_id}").get_data(as_text=True)
    assert "邮箱地址退信，可能无法送达" in page  # next to the customer
    assert "此客户的邮箱地址最近退信：邮件回复仍可发送" in page  # above the reply box
    assert "已退信" in page and "550 5.1.1 no such user" in page
    assert "回复退信" in page  # the history line
    action = f"/records/{record_id}/messages/{message_id}/resend"
    assert f'action="{action}"' in page
    li = signed_in(app, "li")  # the service desk: not this record's team any more
    assert li.post(action).status_code == 404
    response = wang.post(action)
    assert response.status_code == 302 and response.headers["Location"].endswith("#thread")
    old, new = outbox_rows(service)
    assert (old.id, old.status) == (first, "bounced")  # kept as it happened
    assert (new.status, new.recipient, new.subject) == ("pending", old.recipient, old.subject)
    assert new.payload["resend_of"] == first
    [resent] = history(service, record_id, "message.resent")
    assert resent == {"message": message_id, "outbox": new.id, "reason": ""}
    after = wang.get(f"/records/{record_id}").get_data(as_text=True)
    assert "已重新加入发送队列。" in after and f'action="{action}"' not in after
    again = wang.post(action)
    assert again.status_code == 400
    assert "只有发送失败或已退信的邮件回复可以重新发送。" in again.get_data(as_text=True)
    assert len(outbox_rows(service)) == 2
    handler = Mailbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        assert deliver(service, f"smtp://127.0.0.1:{controller.port}").sent == 1
    finally:
        controller.stop()
    (raw,) = handler.received
    mail = message_from_bytes(raw, policy=default)
    assert isinstance(mail, EmailMessage)
    assert mail["Message-ID"] == f"<careloop-outbox-{new.id}@careloop>"
    [pdf] = mail.iter_attachments()
    assert (pdf.get_filename(), pdf.get_content()) == ("说明书.pdf", PDF)
    assert service.thread(record_id)[-1].state == "sent"


def test_the_customer_page_shows_the_failing_address(app: Flask) -> None:  # noqa: F811
    service = services(app)
    record_id, _, _ = bounced_reply(service)
    with service.session_factory() as session:
        number = session.get_one(Customer, session.get_one(Record, record_id).customer_id).number
    page = signed_in(app, "li").get(f"/customers/{number}").get_data(as_text=True)
    assert "w***@example.com" in page and "邮箱地址退信，可能无法送达" in page
    assert "550 5.1.1 no such user" in page
    assert "/resend" not in page  # sent again from the record page only


def test_the_api_sends_a_bounced_reply_again_once_per_idempotency_key(app: Flask) -> None:  # noqa: F811
    service = services(app)
    record_id, message_id, first = bounced_reply(service)
    client = app.test_client()
    url = f"/api/v1/records/{record_id}/messages/{message_id}/resend"
    writer = bearer(app, "read", "write")
    assert client.post(url, json={}, headers=bearer(app, "read")).status_code == 403
    keyed = {**writer, "Idempotency-Key": "resend-1"}
    response = client.post(url, json={}, headers=keyed)
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert (body["id"], body["state"], body["error"]) == (message_id, "queued", None)
    replayed = client.post(url, json={}, headers=keyed)
    assert replayed.status_code == 202 and replayed.headers["Idempotent-Replayed"] == "true"
    assert len(outbox_rows(service)) == 2  # queued once
    with service.session_factory() as session:
        number = session.get_one(Customer, session.get_one(Record, record_id).customer_id).number
    customer = client.get(f"/api/v1/customers/{number}", headers=writer).get_json()["customer"]
    assert customer["contact_failing_reason"] == "550 5.1.1 no such user"
    assert customer["contact_failing_at"] is not None  # a resend does not clear it
    refused = client.post(url, json={}, headers=writer)  # queued now: nothing to send again
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == [{"path": "/fields/message", "message": "not failed"}]
    customer_message = service.thread(record_id)[0].message.id
    note = f"/api/v1/records/{record_id}/messages/{customer_message}/resend"
    assert client.post(note, json={}, headers=writer).status_code == 422
    other_id, _, _ = mailed(service, "<m2@example.com>")
    elsewhere = f"/api/v1/records/{other_id}/messages/{message_id}/resend"
    assert client.post(elsewhere, json={}, headers=writer).status_code == 404
    listed = client.get(f"/api/v1/records/{record_id}/messages", headers=writer).get_json()
    customer = client.get(f"/api/v1/customers/{number}", headers=writer).get_json()["customer"]
    assert [m["state"] for m in listed["items"] if m["direction"] == "out"] == ["queued"]
    assert customer["contact_failing_at"] is None  # the customer wrote again: reachable
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/records/{record_id}/messages/{message_id}/resend"]["post"]
    assert {"202", "404", "409", "422"} <= set(operation["responses"])
