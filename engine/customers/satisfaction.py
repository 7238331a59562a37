"""The satisfaction question of a record: a 1–5 score, a comment, NPS where asked (R-3.3, R-4.1).

One answer per record, whoever gives it: an agent on the callback phone call, or the customer
through a signed link. The table's unique key settles a race between the two; the record's
history says who answered and how. Where the pack names a `score_field`, the score a form
(the close form) gives that field is stored as the record's answer (`via` form) unless it
has one; a survey answered later takes its place, so CSAT counts each record once (R-4.1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.errors import CareloopError, InvalidInput
from engine.events import SatisfactionAnswered
from engine.records.journal import add_event
from engine.specs.insight import SatisfactionSpec
from engine.specs.pack import PackSpec
from engine.store.models import Record, SatisfactionAnswer

MAX_COMMENT = 2000
VIA = ("agent", "link")
FORM = "form"  # the score a form gave the pack's `score_field`: replaced by a survey answer


class AlreadyAnswered(CareloopError, RuntimeError):
    """The record's question has its answer; a second one is refused, not stored."""

    def __init__(self, record_id: int) -> None:
        super().__init__(f"record {record_id} has already been answered")
        self.record_id = record_id


class NotAsked(CareloopError, ValueError):
    """The record's pack does not ask this record type, or not in its present stage."""


@dataclass(frozen=True)
class Answer:
    score: int
    comment: str = ""
    nps: int | None = None


def question(pack: PackSpec, record: Record) -> SatisfactionSpec | None:
    """The pack's question when this record may be asked now, else None."""
    spec = pack.insight.satisfaction
    if spec is None or record.record_type not in spec.record_types:
        return None
    stage = pack.record_type(record.record_type).stages.get(record.stage)
    if stage is None or not spec.ask_in.matches(stage):
        return None
    return spec


def answer_of(session: Session, record_id: int) -> SatisfactionAnswer | None:
    return session.scalars(
        select(SatisfactionAnswer).where(SatisfactionAnswer.record_id == record_id)
    ).first()


def survey_answer_of(session: Session, record_id: int) -> SatisfactionAnswer | None:
    """The answer given to the question itself (an agent's callback or the customer's link);
    a score from the close form leaves the question open."""
    answer = answer_of(session, record_id)
    return answer if answer is not None and answer.via != FORM else None


def record_answer(
    session: Session,
    pack: PackSpec,
    record: Record,
    given: Answer,
    *,
    via: str,
    actor: str,
    now: datetime,
) -> SatisfactionAnswer:
    """Check and store the answer, with a history entry; refuse a second or an unasked one."""
    spec = question(pack, record)
    if spec is None:
        raise NotAsked(f"record {record.id} is not asked for its satisfaction now")
    existing = answer_of(session, record.id)
    if existing is not None and existing.via != FORM:
        raise AlreadyAnswered(record.id)
    problems = {}
    cut = pack.insight.cutoffs
    if not cut.scale_min <= given.score <= cut.scale_max:
        problems["score"] = f"a whole number from {cut.scale_min} to {cut.scale_max}"
    if spec.nps and (given.nps is None or not 0 <= given.nps <= 10):
        problems["nps"] = "a whole number from 0 to 10"
    if len(given.comment) > MAX_COMMENT:
        problems["comment"] = f"at most {MAX_COMMENT} characters"
    if via not in VIA:
        problems["via"] = " or ".join(VIA)
    if problems:
        raise InvalidInput("the answer does not fit: " + ", ".join(problems), fields=problems)
    # The answer changes the record's KPIs: `updated_at` moves so the dashboard's rollup reads
    # its day again. Not an edit: an agent's open form (`row_version`) stays valid.
    session.execute(update(Record).where(Record.id == record.id).values(updated_at=now))
    if existing is not None:  # the form's score gives way to the customer's own answer
        session.delete(existing)
        session.flush()
    stored = SatisfactionAnswer(
        record_id=record.id,
        score=given.score,
        nps=given.nps if spec.nps else None,
        comment=given.comment.strip() or None,
        via=via,
        actor=actor,
        answered_at=now,
    )
    session.add(stored)
    answered = SatisfactionAnswered(given.score, via, stored.nps, stored.comment)
    add_event(session, record, now, answered, actor=actor)
    return stored


def from_form(
    session: Session,
    pack: PackSpec,
    record: Record,
    values: Mapping[str, Any],
    *,
    actor: str,
    now: datetime,
) -> None:
    """Store the score a form gave the pack's `score_field` as the record's answer, unless the
    record has one: the close form's score counts in CSAT, once (R-4.1, R-4.3)."""
    spec = pack.insight.satisfaction
    if spec is None or spec.score_field is None or record.record_type not in spec.record_types:
        return
    score = values.get(spec.score_field)
    if score is None or answer_of(session, record.id) is not None:
        return
    try:
        with session.begin_nested():  # a survey answer stored this very moment wins
            session.add(
                SatisfactionAnswer(
                    record_id=record.id,
                    score=int(score),
                    via=FORM,
                    actor=actor,
                    answered_at=now,
                )
            )
    except IntegrityError:
        return
