"""Who else has a record open right now (issue #21 item 2): two agents, one record.

The record page sends a heartbeat every ~20 s; each one stamps (record, person) with the
server's clock and answers with the others seen within `FRESH`. A page closed stops beating,
so its row goes stale and is no longer shown, then is deleted by the next heartbeat on that
record: the table holds only the records open on someone's screen.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine.store.dialect import insert
from engine.store.models import RecordViewer

HEARTBEAT = timedelta(seconds=20)
FRESH = timedelta(seconds=60)  # three heartbeats missed: the page is gone


def seen(session: Session, record_id: int, username: str, now: datetime) -> list[str]:
    """Stamp `username` as viewing the record now; return the others viewing it, by name."""
    statement = insert(session, RecordViewer).values(
        record_id=record_id, username=username, seen_at=now
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["record_id", "username"], set_={"seen_at": now}
        )
    )
    session.execute(
        delete(RecordViewer).where(
            RecordViewer.record_id == record_id, RecordViewer.seen_at < now - FRESH
        )
    )
    return viewers(session, record_id, now, besides=username)


def viewers(session: Session, record_id: int, now: datetime, *, besides: str = "") -> list[str]:
    """The usernames whose page of the record beat within `FRESH`, `besides` left out."""
    return list(
        session.scalars(
            select(RecordViewer.username)
            .where(
                RecordViewer.record_id == record_id,
                RecordViewer.seen_at >= now - FRESH,
                RecordViewer.username != besides,
            )
            .order_by(RecordViewer.username)
        )
    )
