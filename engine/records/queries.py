"""Read-side queries over records: filtered, keyset-paged, never N+1."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from engine import bounds
from engine.store.models import Customer, Record

MAX_PAGE = 200


@dataclass(frozen=True)
class RecordFilter:
    pack: str | None = None
    record_type: str | None = None
    stage: str | None = None
    is_open: bool | None = None
    priority: str | None = None
    channel: str | None = None
    category: str | None = None
    assignee: str | None = None
    customer: str | None = None


def list_records(
    session: Session, filters: RecordFilter, *, limit: int = 50, before_id: int | None = None
) -> list[Record]:
    """Newest first; `before_id` continues after the last record of the previous page."""
    statement = select(Record).options(selectinload(Record.customer))
    for column in (
        "pack",
        "record_type",
        "stage",
        "is_open",
        "priority",
        "channel",
        "category",
        "assignee",
    ):
        value = getattr(filters, column)
        if value is not None:
            statement = statement.where(getattr(Record, column) == value)
    if filters.customer is not None:
        statement = statement.join(Customer, Record.customer_id == Customer.id).where(
            Customer.number == filters.customer
        )
    # A cursor past the largest id a row can have (`bounds.MAX_ID`) comes before every record:
    # binding it would overflow PostgreSQL's INTEGER, where SQLite just compares.
    if before_id is not None and before_id <= bounds.MAX_ID:
        statement = statement.where(Record.id < before_id)
    statement = statement.order_by(Record.id.desc()).limit(min(max(limit, 1), MAX_PAGE))
    return list(session.scalars(statement))


SAME_SUBJECT = 5


def open_same_subject(
    session: Session, customer_id: int, record_type: str, category: str | None
) -> list[Record]:
    """The customer's open records of `record_type` on `category` (any, when None), newest first.

    Before an agent creates a record by hand (issue #21) the desk shows these, so a second call
    about the same fault joins the first record instead of opening another (R-1.7).
    """
    statement = select(Record).where(
        Record.customer_id == customer_id,
        Record.record_type == record_type,
        Record.is_open.is_(True),
    )
    if category is not None:
        statement = statement.where(Record.category == category)
    return list(session.scalars(statement.order_by(Record.id.desc()).limit(SAME_SUBJECT)))
