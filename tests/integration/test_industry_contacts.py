"""The industry packs tell their customers in their own words (issue #25 item 7, R-3.2, R-8.3).

What the scenarios cannot see: the text that leaves. Retail's web-form record is acknowledged
with the portal's tracking link; a caller is answered by SMS (`answering:`); a hospital's
message carries no name, department or clinical detail; a bank's none of the account number.
Every test runs on SQLite and on PostgreSQL (the `db_engine` fixture), in virtual time.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.customers.surveylinks import SurveyLinks
from engine.records.intake import NewRecord
from engine.services import Services
from engine.store.models import OutboxMessage
from tests.conftest import ROOT
from workflows.validate import checked_source


def told(services: Services, pack: str, record_type: str, channel: str, **fields: Any) -> str:
    """Publish `pack`, take a record on `channel` and sweep: the one message the customer got,
    as `<channel> <recipient>: <text>`."""
    services.links = SurveyLinks("test-secret", "https://desk.example.com")
    services.publish(checked_source(ROOT / "workflows" / pack), by="test")
    record = services.create_record(
        pack,
        NewRecord(record_type=record_type, fields=fields, channel=channel, priority="P1"),
        actor="test",
    )
    services.sweep()
    with services.session_factory() as session:
        (row,) = session.scalars(
            select(OutboxMessage).where(OutboxMessage.record_id == record.id)
        ).all()
        return f"{row.channel} {row.recipient}: {row.body}"


def test_a_retail_web_form_is_acknowledged_by_email_with_its_tracking_link(
    services: Services,
) -> None:
    text = told(
        services,
        "retail",
        "feedback",
        "web",
        customer_no="M-1",
        customer_name="赵敏",
        contact="zhao.min@example.com",
        source="online",
        order_no="RT-20261120001",
        description="鞋底开胶",
    )
    assert text.startswith("email zhao.min@example.com: ")
    assert "订单 RT-20261120001" in text
    assert "https://desk.example.com/help/retail/track/" in text


def test_a_hospital_tells_a_caller_by_sms_without_name_department_or_complaint(
    services: Services,
) -> None:
    text = told(
        services,
        "healthcare",
        "feedback",
        "phone",
        patient_no="H-1",
        patient_name="孙磊",
        contact="13700004001",
        clinical_department="心内科",
        description="对术后复查结果的解释有疑问",
    )
    assert text.startswith("sms 13700004001: 【患者服务中心】您的反馈已受理")
    assert not any(word in text for word in ("孙磊", "心内科", "术后", "复查"))


def test_a_bank_acknowledges_a_complaint_without_the_account_number(
    services: Services,
) -> None:
    text = told(
        services,
        "finance",
        "complaint",
        "phone",
        customer_no="K-1",
        customer_name="李建国",
        phone="13611112222",
        account_no="6222020000001234",
        product="信用卡",
        description="信用卡年费未经同意扣收",
    )
    assert text.startswith("sms 13611112222: 【消费投诉】您的投诉已受理")
    assert "处理决定" in text
    assert "1234" not in text and "年费" not in text
