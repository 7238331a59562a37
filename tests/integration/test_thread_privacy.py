"""A customer's conversation under R-8.3 (issue #20): exported on request, erased with them."""

from __future__ import annotations

from sqlalchemy import select

from engine.customers.privacy import TOMBSTONE
from engine.services import Services
from engine.store.models import OutboxMessage, ThreadAttachment, ThreadMessage
from tests.integration.test_mail_intake import mail, with_photo


def test_a_customers_export_holds_their_thread_and_erasure_removes_it(
    services: Services,
) -> None:
    """R-8.3 for the conversation: the export carries the messages, erasure leaves no text,
    file, address or mail id of the person, and the reply waiting in the outbox never goes."""
    raw = with_photo(mail("洗衣机漏水", "一直漏水，照片见附件"))
    outcome = services.take_mail("after_sales", "email", raw)
    assert outcome.record_id is not None
    record_id = outcome.record_id
    services.reply(record_id, "王女士您好，明天上门。", channel="email", actor="li")
    services.note(record_id, "老客户", actor="li")
    exported = services.export_customer("wangfang@example.com")
    (record,) = exported["records"]
    assert [(m["direction"], m["text"][:4]) for m in record["messages"]] == [
        ("in", "一直漏水"),
        ("out", "王女士您"),
    ]  # the internal note is the desk's, not the customer's
    assert record["messages"][0]["attachments"] == ["故障照片.jpg"]
    services.erase_customer("wangfang@example.com", actor="dpo")
    with services.session_factory() as session:
        bodies = session.scalars(select(ThreadMessage.body)).all()
        assert set(bodies) == {TOMBSTONE}
        assert session.scalars(select(ThreadAttachment)).all() == []
        inbound = session.scalars(
            select(ThreadMessage).where(ThreadMessage.direction == "in")
        ).one()
        assert inbound.author == TOMBSTONE and inbound.subject is None
        assert inbound.external_id is not None and "example.com" not in inbound.external_id
        reply = session.scalars(
            select(OutboxMessage).where(OutboxMessage.record_id == record_id)
        ).one()
        assert (reply.recipient, reply.body, reply.status) == (TOMBSTONE, TOMBSTONE, "dead")
