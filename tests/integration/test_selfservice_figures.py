"""Self-service figures (issue #23 item 6): answered without a record, handed over and votes, per
day, per article and per question, rolled up like the KPIs and read the same before and after.
SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, func, inspect, select

from engine.knowledge import articles
from engine.selfservice import figures, rollup
from engine.selfservice.outcomes import record_outcome
from engine.services import Services
from engine.store.migrate import downgrade, upgrade
from engine.store.models import Article, SelfServiceDaily, SelfServiceRolled
from engine.time.clock import VirtualClock
from tests.conftest import SHANGHAI

MONDAY = datetime(2026, 11, 23, tzinfo=SHANGHAI)


def article(services: Services, title: str) -> int:
    with services.uow() as uow:
        saved = articles.save_article(
            uow.session,
            Article(title=title, body=title, status="published"),
            actor="ops",
            now=services.clock.now(),
        )
        uow.commit()
        return saved.id


def outcome(services: Services, at: datetime, kind: str, **values: object) -> None:
    with services.uow() as uow:
        record_outcome(uow.session, kind=kind, source="chat", at=at, pack="after_sales", **values)  # type: ignore[arg-type]
        uow.commit()


def read(services: Services, first: datetime, days: int) -> figures.Figures:
    with services.uow() as uow:
        spec = services.latest_spec(uow.session, "after_sales")
        return figures.figures(uow.session, spec, first, first + timedelta(days=days))


def test_figures_per_day_article_and_question_are_the_same_rolled_up_or_read_live(
    services: Services, clock: VirtualClock
) -> None:
    refund, invoice = article(services, "如何申请退款"), article(services, "发票开具与补开")
    # Monday 23:30 and Tuesday 00:30 in Shanghai: two days, though one UTC day.
    late, early = MONDAY + timedelta(hours=23, minutes=30), MONDAY + timedelta(hours=24.5)
    outcome(services, late, "answered", article_id=refund, query="退款多久到账")
    outcome(services, late, "helpful", article_id=refund, query="退款多久到账")
    outcome(services, early, "answered", article_id=refund, query="退款多久到账")
    outcome(services, early, "unhelpful", article_id=invoice, query="怎么开发票")
    outcome(services, early, "handed_over", query="洗碗机门关不上")
    clock.set(MONDAY + timedelta(days=2, hours=10))  # Wednesday: Monday and Tuesday closed
    outcome(services, clock.now(), "answered", article_id=invoice, query="怎么开发票")

    live = read(services, MONDAY, 3)
    assert [(d.isoformat(), c.answered, c.handed_over) for d, c in live.daily] == [
        ("2026-11-23", 1, 0),
        ("2026-11-24", 1, 1),
        ("2026-11-25", 1, 0),
    ]
    assert (live.totals.answered, live.totals.helpful, live.totals.unhelpful) == (3, 1, 1)
    assert [(title, c.answered, c.helpful, c.unhelpful) for _, title, c in live.articles] == [
        ("如何申请退款", 2, 1, 0),
        ("发票开具与补开", 1, 0, 1),
    ]
    assert [(q, c.total) for q, c in live.questions] == [
        ("退款多久到账", 3),
        ("怎么开发票", 2),
        ("洗碗机门关不上", 1),
    ]

    services.roll_up()
    with services.uow() as uow:
        state = uow.session.get(SelfServiceRolled, "after_sales")
        assert state is not None and state.through.isoformat() == "2026-11-24"
        rows = uow.session.scalar(select(func.count()).select_from(SelfServiceDaily))
        total = uow.session.scalar(select(func.sum(SelfServiceDaily.count)))
    assert (rows, total) == (5, 5)  # one row per day, kind, article and question
    assert read(services, MONDAY, 3) == live
    assert read(services, MONDAY + timedelta(days=1), 1).totals.handed_over == 1

    services.roll_up()  # nothing new closed: nothing counted twice
    with services.uow() as uow:
        assert uow.session.scalar(select(func.sum(SelfServiceDaily.count))) == 5
    clock.advance(timedelta(days=1))
    services.roll_up()
    with services.uow() as uow:
        assert uow.session.scalar(select(func.sum(SelfServiceDaily.count))) == 6
        spec = services.latest_spec(uow.session, "after_sales")
        assert rollup.rolled_through(uow.session, spec) is not None
    assert read(services, MONDAY, 3) == live


def test_migration_0031_goes_down_and_up_again(db_engine: Engine) -> None:
    downgrade(db_engine, "0028")
    tables = set(inspect(db_engine).get_table_names())
    assert "selfservice_outcomes" in tables and "selfservice_daily" not in tables
    assert "selfservice_rolled" not in tables
    upgrade(db_engine)
    assert {"selfservice_daily", "selfservice_rolled"} <= set(inspect(db_engine).get_table_names())
