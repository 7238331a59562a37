"""The additive parts of every KPI: sums and counts, from the records or from the rollup.

Each figure is a ratio of such parts, so the parts of any set of groups (days, channels,
categories; rolled up or live) can be added before the one division that makes the figure.
The same statements give the dashboard its live part and the rollup what it stores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, RowMapping, Select, case, false, func, select
from sqlalchemy.orm import Session

from engine.insight.kpis.cohort import KpiFilter
from engine.insight.metrics import seconds_between
from engine.specs.economics import Cutoffs
from engine.store.models import Record, RecordEvent, SatisfactionAnswer, SlaClock

RECORD_PARTS = ("records", "closed", "resolution_seconds", "solved", "solved_first")
CLOCK_PARTS = (
    "response_met",
    "response_seconds",
    "handling_met",
    "handling_seconds",
    "sla_decided",
    "sla_kept",
)
ANSWER_PARTS = (
    "answers",
    "satisfied",
    "scored",
    "score_sum",
    "nps_answers",
    "promoters",
    "detractors",
)
PART_NAMES = frozenset(RECORD_PARTS + CLOCK_PARTS + ANSWER_PARTS)


@dataclass
class Parts:
    """The additive parts of every figure: sums and counts, so any set of groups adds up."""

    records: int = 0
    closed: int = 0
    resolution_seconds: float = 0.0
    solved: int = 0
    solved_first: int = 0
    response_met: int = 0
    response_seconds: float = 0.0
    handling_met: int = 0
    handling_seconds: float = 0.0
    sla_decided: int = 0
    sla_kept: int = 0
    answers: int = 0
    satisfied: int = 0
    scored: int = 0
    score_sum: int = 0
    nps_answers: int = 0
    promoters: int = 0
    detractors: int = 0

    def add(self, row: RowMapping) -> None:
        """Add one group's sums, whichever parts the row has (PostgreSQL's seconds are Decimal;
        a sum over no rows is None)."""
        for name, value in row.items():
            if name in PART_NAMES and value is not None:
                current = getattr(self, name)
                setattr(self, name, current + type(current)(value))


def record_sums(
    session: Session, f: KpiFilter, where: Sequence[ColumnElement[bool]], keys: Sequence[Any]
) -> Select[Any]:
    """The record parts (`RECORD_PARTS`) of the records `where` selects, grouped by `keys`.

    The dashboard reads it for the live part of a range; the rollup writes it per run of days.
    """
    solved = Record.stage_kind.in_(("resolved", "closed"))
    if f.first_contact:
        # EXISTS per solved record walks that record's events by index; `id IN (events of
        # these transitions)` read the whole history table, once per statement.
        first = (
            select(RecordEvent.id)
            .where(RecordEvent.record_id == Record.id)
            .where(RecordEvent.transition.in_(f.first_contact))
            .exists()
        )
        at_once: ColumnElement[bool] = solved & first
    else:
        at_once = false()
    closed = Record.closed_at.is_not(None)
    resolution = seconds_between(session, Record.received_at, Record.closed_at)
    return (
        select(
            *keys,
            func.count(Record.id).label("records"),
            count_if(closed).label("closed"),
            func.sum(case((closed, resolution), else_=0.0)).label("resolution_seconds"),
            count_if(solved).label("solved"),
            count_if(at_once).label("solved_first"),
        )
        .select_from(Record)
        .where(*where)
        .group_by(*keys)
    )


def answer_sums(
    session: Session,
    where: Sequence[ColumnElement[bool]],
    keys: Sequence[Any],
    cut: Cutoffs,
) -> Select[Any]:
    """The answer parts (`ANSWER_PARTS`) of the answers to the records `where` selects, counted
    by the pack's cut-offs (satisfied, promoter, detractor: R-4.3)."""
    score, nps = SatisfactionAnswer.score, SatisfactionAnswer.nps
    return (
        select(
            *keys,
            func.count(SatisfactionAnswer.id).label("answers"),
            count_if(score >= cut.satisfied_at_least).label("satisfied"),
            func.count(score).label("scored"),
            func.coalesce(func.sum(score), 0).label("score_sum"),
            func.count(nps).label("nps_answers"),
            count_if(nps >= cut.promoter_at_least).label("promoters"),
            count_if(nps <= cut.detractor_at_most).label("detractors"),
        )
        .select_from(Record)
        .join(SatisfactionAnswer, SatisfactionAnswer.record_id == Record.id)
        .where(*where)
        .group_by(*keys)
    )


def clock_sums(
    session: Session, f: KpiFilter, where: Sequence[ColumnElement[bool]], keys: Sequence[Any]
) -> Select[Any]:
    """The clock parts (`CLOCK_PARTS`) of the records `where` selects, grouped by `keys`: met
    response and handling clocks with their seconds, decided and kept SLA clocks."""
    met = SlaClock.met_at.is_not(None)
    took = seconds_between(session, SlaClock.started_at, SlaClock.met_at)
    kept = (
        met
        & SlaClock.breached_at.is_(None)
        & (SlaClock.deadline.is_(None) | (SlaClock.met_at <= SlaClock.deadline))
    )
    decided = met | SlaClock.breached_at.is_not(None)

    def target(name: str | None) -> ColumnElement[bool]:
        return (SlaClock.target == name) & met if name is not None else false()

    response, handling = target(f.response_target), target(f.handling_target)
    return (
        select(
            *keys,
            count_if(response).label("response_met"),
            func.sum(case((response, took), else_=0.0)).label("response_seconds"),
            count_if(handling).label("handling_met"),
            func.sum(case((handling, took), else_=0.0)).label("handling_seconds"),
            count_if(decided).label("sla_decided"),
            count_if(decided & kept).label("sla_kept"),
        )
        .select_from(Record)
        .join(SlaClock, SlaClock.record_id == Record.id)
        .where(*where)
        .group_by(*keys)
    )


def count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.sum(case((condition, 1), else_=0))
