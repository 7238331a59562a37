"""Self-service figures for the dashboard (issue #23 item 6): per day, per article, per question.

- answered: a customer said an article helped and made no record (chat, portal) — the
  "answered without a record" figure;
- handed over: the chat box or portal made a record for a person;
- helpful / unhelpful: votes on articles.

Each figure adds the rolled-up closed days (`selfservice_daily`) to the outcomes since the
last rolled day, read live: grouped statements, no row per outcome leaves the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.insight.kpis import day_of, day_span
from engine.insight.kpis.days import as_date
from engine.selfservice.outcomes import KINDS
from engine.selfservice.rollup import rolled_through
from engine.specs.pack import PackSpec
from engine.store.models import Article, SelfServiceDaily, SelfServiceOutcome

TOP = 10


@dataclass
class Counts:
    """How often each kind happened."""

    answered: int = 0
    handed_over: int = 0
    helpful: int = 0
    unhelpful: int = 0

    def add(self, kind: str, n: int) -> None:
        if kind in KINDS:
            setattr(self, kind, getattr(self, kind) + n)

    @property
    def total(self) -> int:
        return self.answered + self.handed_over + self.helpful + self.unhelpful


@dataclass(frozen=True)
class Figures:
    """The period's totals, each day's counts, the top articles and the top questions."""

    totals: Counts
    daily: list[tuple[date, Counts]] = field(default_factory=list)
    articles: list[tuple[int, str, Counts]] = field(default_factory=list)
    questions: list[tuple[str, Counts]] = field(default_factory=list)


def figures(session: Session, pack: PackSpec, start: datetime, end: datetime) -> Figures:
    """The pack's self-service figures over [start, end) (whole days in its zone)."""
    totals = Counts()
    daily: dict[date, Counts] = {}
    articles: dict[int, Counts] = {}
    questions: dict[str, Counts] = {}
    for day, kind, article_id, query, n in _rows(session, pack, start, end):
        totals.add(kind, n)
        daily.setdefault(day, Counts()).add(kind, n)
        if article_id is not None:
            articles.setdefault(article_id, Counts()).add(kind, n)
        if query:
            questions.setdefault(query, Counts()).add(kind, n)
    ranked = sorted(articles.items(), key=lambda i: (-(i[1].answered + i[1].helpful), i[0]))[:TOP]
    titles: dict[int, str] = {
        row.id: row.title
        for row in session.execute(
            select(Article.id, Article.title).where(Article.id.in_([i for i, _ in ranked]))
        )
    }
    asked = sorted(questions.items(), key=lambda q: (-q[1].total, q[0]))[:TOP]
    return Figures(
        totals,
        sorted(daily.items()),
        [(i, titles.get(i, f"#{i}"), c) for i, c in ranked],
        asked,
    )


def _rows(
    session: Session, pack: PackSpec, start: datetime, end: datetime
) -> Sequence[tuple[date, str, int | None, str | None, int]]:
    """(day, kind, article, question, count): rolled days from the rollup, the rest live."""
    zone = pack.timezone
    first, last = (
        start.astimezone(zone).date(),
        (end - timedelta(microseconds=1)).astimezone(zone).date(),
    )
    through = rolled_through(session, pack)
    found: list[tuple[date, str, int | None, str | None, int]] = []
    live_from = start
    if through is not None and through >= first:
        upto = min(through, last)
        rolled = (
            select(
                SelfServiceDaily.day,
                SelfServiceDaily.kind,
                SelfServiceDaily.article_id,
                SelfServiceDaily.query,
                func.sum(SelfServiceDaily.count),
            )
            .where(
                SelfServiceDaily.pack == pack.name,
                SelfServiceDaily.day >= first,
                SelfServiceDaily.day <= upto,
            )
            .group_by(
                SelfServiceDaily.day,
                SelfServiceDaily.kind,
                SelfServiceDaily.article_id,
                SelfServiceDaily.query,
            )
        )
        found += [(as_date(d), k, a, q, int(n)) for d, k, a, q, n in session.execute(rolled)]
        live_from = max(start, day_span(upto, zone)[1])
    if live_from < end:
        day = day_of(session, SelfServiceOutcome.at, str(zone), end).label("day")
        live = (
            select(
                day,
                SelfServiceOutcome.kind,
                SelfServiceOutcome.article_id,
                SelfServiceOutcome.query,
                func.count(),
            )
            .where(
                SelfServiceOutcome.pack == pack.name,
                SelfServiceOutcome.at >= live_from,
                SelfServiceOutcome.at < end,
            )
            .group_by(
                day,
                SelfServiceOutcome.kind,
                SelfServiceOutcome.article_id,
                SelfServiceOutcome.query,
            )
        )
        found += [(as_date(d), k, a, q, int(n)) for d, k, a, q, n in session.execute(live)]
    return found
