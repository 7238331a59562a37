"""Read-side queries over records: filtered, keyset-paged, never N+1."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

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
    if before_id is not None:
        statement = statement.where(Record.id < before_id)
    statement = statement.order_by(Record.id.desc()).limit(min(max(limit, 1), MAX_PAGE))
    return list(session.scalars(statement))
