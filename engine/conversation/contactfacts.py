"""What a batch of due contacts reads about their records, read together: one query a kind.

A contact asks whether an agent wrote to the customer lately (`unless_replied_within`), and
its template shows the record's latest deadline move and, while the survey is unanswered,
its link and the deadlines still promised; an email answers the customer's mail on the
thread (its Message-IDs). Read per contact these were five queries each (with the customer
and the clocks, loaded lazily), most of a sweep's time when the scheduler catches up (issue
#24 item 2); read for the batch they are five, whatever its size, each with the batch's ids
as one array on PostgreSQL (`among`): one statement text whatever the batch's size, which the
driver prepares once. The deadlines are plain rows: loaded as the records' ORM clocks they
were a fifth of a contact's CPU, for two columns a template shows.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.conversation.thread import MAIL_IDS, SYSTEM_AUTHOR
from engine.store.models import RecordEvent, SatisfactionAnswer, SlaClock, ThreadMessage
from engine.time.claims import among


@dataclass(frozen=True)
class ContactFacts:
    """Per record of the batch: when an agent last wrote out, its latest deadline move,
    whether the customer answered the survey, the Message-IDs of the customer's mail, and
    its open clocks' deadlines (target, deadline) in the clocks' order."""

    agent_wrote: dict[int, datetime]
    extensions: dict[int, RecordEvent]
    answered: frozenset[int]
    mail_ids: dict[int, list[str]]
    deadlines: dict[int, list[tuple[str, datetime]]]

    @classmethod
    def read(cls, session: Session, record_ids: Collection[int]) -> ContactFacts:
        if not record_ids:
            return cls({}, {}, frozenset(), {}, {})
        ids = sorted(record_ids)
        wrote = session.execute(
            select(ThreadMessage.record_id, func.max(ThreadMessage.created_at))
            .where(
                among(session, ThreadMessage.record_id, ids),
                ThreadMessage.direction == "out",
                ThreadMessage.author != SYSTEM_AUTHOR,
            )
            .group_by(ThreadMessage.record_id)
        )
        latest = (
            select(func.max(RecordEvent.id))
            .where(
                among(session, RecordEvent.record_id, ids), RecordEvent.kind.like("sla.%.extended")
            )
            .group_by(RecordEvent.record_id)
        )
        moves = session.scalars(select(RecordEvent).where(RecordEvent.id.in_(latest)))
        answered = session.scalars(
            select(SatisfactionAnswer.record_id).where(
                among(session, SatisfactionAnswer.record_id, ids)
            )
        )
        return cls(
            {record_id: at for record_id, at in wrote},
            {event.record_id: event for event in moves},
            frozenset(answered),
            _mail_ids(session, ids),
            _deadlines(session, ids),
        )

    def agent_wrote_since(self, record_id: int, since: datetime) -> bool:
        at = self.agent_wrote.get(record_id)
        return at is not None and at >= since


def _mail_ids(session: Session, ids: list[int]) -> dict[int, list[str]]:
    """Each record's customer mail Message-IDs, oldest first: the newest `MAIL_IDS`, as
    `thread` names them in an answer's References."""
    newest = func.row_number().over(
        partition_by=ThreadMessage.record_id, order_by=ThreadMessage.id.desc()
    )
    mail = (
        select(ThreadMessage.record_id, ThreadMessage.id, ThreadMessage.external_id)
        .add_columns(newest.label("newest"))
        .where(
            among(session, ThreadMessage.record_id, ids),
            ThreadMessage.channel == "email",
            ThreadMessage.direction == "in",
            ThreadMessage.external_id.is_not(None),
        )
        .subquery()
    )
    rows = session.execute(
        select(mail.c.record_id, mail.c.external_id)
        .where(mail.c.newest <= MAIL_IDS)
        .order_by(mail.c.record_id, mail.c.id)
    )
    found: dict[int, list[str]] = {}
    for record_id, mail_id in rows:
        found.setdefault(record_id, []).append(mail_id)
    return found


def _deadlines(session: Session, ids: list[int]) -> dict[int, list[tuple[str, datetime]]]:
    """Each record's clocks not yet met that have a deadline: what its contact promises."""
    rows = session.execute(
        select(SlaClock.record_id, SlaClock.target, SlaClock.deadline)
        .where(
            among(session, SlaClock.record_id, ids),
            SlaClock.met_at.is_(None),
        )
        .order_by(SlaClock.id)
    )
    found: dict[int, list[tuple[str, datetime]]] = {}
    for record_id, target, deadline in rows:
        if deadline is not None:  # a clock paused or not yet started has none
            found.setdefault(record_id, []).append((target, deadline))
    return found
