"""A batch of customer contacts written set-based: one statement per kind of row (issue #24).

Each contact of a batch is computed in Python first (`contacts`): the message it sends, if
any (an outbox row and a thread row), and its history line, `contact.sent` naming the
message or `contact.skipped` saying why not. `write` then inserts the batch's outbox rows,
its thread messages (which name their outbox rows) and its history lines, each kind in one
statement whatever the batch's size, where sending them one by one through the thread cost
about ten round trips a contact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

from engine.conversation.thread import SYSTEM_AUTHOR
from engine.events import ContactSent, ContactSkipped
from engine.records.journal import OUTBOX, Effects
from engine.records.rowinsert import insert_rows
from engine.records.rows import RecordView
from engine.store.models import ThreadMessage

MESSAGES: Table = ThreadMessage.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Told:
    """One contact's rows: sent on `channel` (its outbox row and thread row, `rows`) or
    `skipped`, and why."""

    timer_id: int
    record: RecordView
    contact: str
    at: datetime
    channel: str = ""
    rows: tuple[dict[str, Any], dict[str, Any]] | None = None
    skipped: ContactSkipped | None = None


def write(session: Session, told: Sequence[Told]) -> None:
    """The batch's outbox rows, thread messages and history lines, in the batch's order."""
    sent = [(t.timer_id, t.rows) for t in told if t.rows is not None]
    outbox_ids = insert_rows(session, OUTBOX, [outbox for _, (outbox, _) in sent], ids=True)
    messages = [
        {**message, "outbox_id": outbox_id}
        for (_, (_, message)), outbox_id in zip(sent, outbox_ids, strict=True)
    ]
    message_ids = insert_rows(session, MESSAGES, messages, ids=True)
    by_timer = dict(zip((timer_id for timer_id, _ in sent), message_ids, strict=True))
    effects = Effects(session)
    for t in told:
        event = t.skipped or ContactSent(t.contact, t.channel, by_timer[t.timer_id])
        effects.event(t.record, t.at, event, timer_id=t.timer_id, actor=SYSTEM_AUTHOR)
    effects.write()
