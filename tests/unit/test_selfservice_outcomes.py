"""Self-service outcomes keep the question's words but never a phone, an order number or a mail
address (issue #23; personal data is never stored where a role could not see it)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from engine.selfservice.outcomes import clean_query, record_outcome
from engine.store.models import Model, SelfServiceOutcome


def test_clean_query_blanks_numbers_and_addresses() -> None:
    assert clean_query("订单 202612070001 没到, 电话 13800138000") == "订单 # 没到, 电话 #"
    assert clean_query("退货  a.b@example.com  怎么办") == "退货 @ 怎么办"
    assert clean_query("   ") is None
    assert clean_query("x" * 500) == "x" * 200
    assert clean_query("P1 工单") == "P1 工单"


def test_record_outcome_refuses_an_unknown_kind() -> None:
    engine = create_engine("sqlite://")
    Model.metadata.create_all(engine)
    now = datetime(2026, 12, 7, 8, tzinfo=UTC)
    with Session(engine) as session:
        record_outcome(session, kind="answered", source="portal", at=now, query="退货 13800138000")
        with pytest.raises(ValueError):
            record_outcome(session, kind="liked", source="portal", at=now)  # type: ignore[arg-type]
        session.commit()
        row = session.scalars(select(SelfServiceOutcome)).one()
    assert (row.kind, row.source, row.query, row.at) == ("answered", "portal", "退货 #", now)
