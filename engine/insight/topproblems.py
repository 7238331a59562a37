"""The frequent problems of a period with their share (R-4.2: "30% are battery life").

A problem is read along one of three dimensions: the knowledge base's known problem a record
is linked to, a record's tag, or its category. The share is of all the records the filter
selects, so "30%" means three in ten records of the period, whatever the dimension; a record
with two tags counts once under each. Categories come from the KPI report (which reads the
daily rollup where it can); known problems and tags are one GROUP BY over the records.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.insight import kpis
from engine.insight.kpis.cohort import KpiFilter, records_where
from engine.store.models import KnownProblem, KnownProblemLink, Record, RecordTag

DIMENSIONS = ("known_problem", "tag", "category")


@dataclass(frozen=True)
class TopProblem:
    """One problem: its key in its dimension, what people call it, how many records, the share."""

    key: str
    title: str
    count: int
    share: float  # of all the filter's records, 0..1


def top_problems(
    session: Session,
    f: KpiFilter,
    by: str,
    *,
    titles: Mapping[str, str] | None = None,
    limit: int = 10,
    report: kpis.KpiReport | None = None,
) -> list[TopProblem]:
    """The `limit` most frequent problems along `by`, most frequent first, ties by key.

    :param titles: category titles (the pack's); known problems carry their own, tags are
        their own title.
    :param report: the KPI report of the same filter, when the caller has one already.
    """
    if by not in DIMENSIONS:
        raise ValueError(f"unknown dimension '{by}': one of {', '.join(DIMENSIONS)}")
    if by == "category":
        found = report or kpis.report(session, f)
        names = titles or {}
        rows = [(c, names.get(c, c), n) for c, n, _ in found.categories if c != "—"]
        total = found.volume
    else:
        rows = _grouped(session, f, by)
        total = int(session.scalar(select(func.count(Record.id)).where(*records_where(f))) or 0)
    ranked = sorted(rows, key=lambda r: (-r[2], r[0]))[:limit]
    return [TopProblem(key, title, n, n / total if total else 0.0) for key, title, n in ranked]


def _grouped(session: Session, f: KpiFilter, by: str) -> list[tuple[str, str, int]]:
    """(key, title, records) per known problem or tag of the filter's records."""
    n = func.count(Record.id)
    statement: Any
    if by == "known_problem":
        statement = (
            select(KnownProblem.id, KnownProblem.title, n)
            .select_from(Record)
            .join(KnownProblemLink, KnownProblemLink.record_id == Record.id)
            .join(KnownProblem, KnownProblem.id == KnownProblemLink.problem_id)
            .group_by(KnownProblem.id, KnownProblem.title)
        )
    else:
        statement = (
            select(RecordTag.tag, RecordTag.tag, n)
            .select_from(Record)
            .join(RecordTag, RecordTag.record_id == Record.id)
            .group_by(RecordTag.tag)
        )
    rows = session.execute(statement.where(*records_where(f)))
    return [(str(key), str(title), int(count)) for key, title, count in rows]
