"""The daily rollup: the dashboard's figures are the same with it as from the records alone.

A desk works five days; the rollup runs; then records of rolled days change (an answer given
late, a record resolved late, SLA breaches fired by a late sweep, a record received late with a
past time). Each time the report is computed with the rollup and again with it dropped, on
SQLite and PostgreSQL, and every figure must agree.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from engine.customers.satisfaction import Answer
from engine.insight import improvement, kpis, rollup
from engine.records.intake import NewRecord
from engine.services import Services
from engine.store.models import DailyRollup, Record, RollupDay
from engine.time.clock import VirtualClock

HOURS = ("response_hours", "handling_hours", "resolution_hours")
MONDAY = date(2026, 11, 23)  # the clock fixture's day, 09:00 in Shanghai


def feedback(
    services: Services,
    *,
    channel: str = "phone",
    category: str = "quality",
    priority: str | None = None,
    received_at: datetime | None = None,
) -> Record:
    return services.create_record(
        "after_sales",
        NewRecord(
            record_type="feedback",
            channel=channel,
            category=category,
            priority=priority,
            received_at=received_at,
            fields={"customer_no": "C-1", "contact": "13812345678", "description": "x"},
        ),
        actor="intake",
    )


def resolve(services: Services, clock: VirtualClock, record_id: int, hours: float) -> None:
    services.transition(record_id, "accept", {"category": "logistics", "priority": "P1"}, actor="a")
    clock.advance(timedelta(hours=hours))
    services.transition(
        record_id, "resolve", {"solution_type": "service", "solution": "补发"}, actor="a"
    )


def work_five_days(services: Services, clock: VirtualClock) -> dict[str, list[int]]:
    """Monday to Friday: per day one record solved on the spot, one worked, one left open, and
    at 23:00 a P0 nobody answers (no sweep runs, so its breach comes after the rollup)."""
    made: dict[str, list[int]] = {"spot": [], "worked": [], "open": [], "p0": []}
    for day in range(5):
        spot = feedback(services)
        services.transition(spot.id, "solve_on_spot", {"solution": "重启"}, actor="a")
        worked = feedback(services, channel="wechat", category="logistics")
        left = feedback(services, channel="email", category="service")
        resolve(services, clock, worked.id, 1 + day)
        if day % 2 == 0:
            services.answer_satisfaction(
                spot.id, Answer(5 - day, nps=10 - 2 * day), via="link", actor="customer"
            )
        clock.advance(timedelta(hours=23 - 9 - 1 - day))
        p0 = feedback(services, channel="phone", category="function", priority="P0")
        clock.advance(timedelta(hours=10))  # 09:00 the next day
        for name, record in (("spot", spot), ("worked", worked), ("open", left), ("p0", p0)):
            made[name].append(record.id)
    return made


def both_ways(
    services: Services, **narrow: Any
) -> tuple[kpis.KpiReport, kpis.KpiReport, set[date]]:
    """The report with the rollup, the report with it dropped, and the days read from it."""
    with services.uow() as uow:
        spec = services.latest_spec(uow.session, "after_sales")
        start = datetime.combine(MONDAY, datetime.min.time(), spec.timezone) - timedelta(hours=9)
        f = improvement.kpi_filter(spec, start, services.clock.now(), **narrow)
        days = set(kpis.usable_days(uow.session, f))
        rolled = kpis.report(uow.session, f)
        uow.session.execute(delete(RollupDay))
        live = kpis.report(uow.session, f)
        uow.rollback()
    return rolled, live, days


def assert_same(rolled: kpis.KpiReport, live: kpis.KpiReport) -> None:
    assert (rolled.volume, rolled.answers) == (live.volume, live.answers)
    assert rolled.channels == live.channels and rolled.categories == live.categories
    assert rolled.daily == live.daily and rolled.daily_csat == live.daily_csat
    for name, value in live.values.items():
        if name in HOURS and value is not None:  # sums of seconds added in another order
            assert rolled.values[name] == pytest.approx(value, rel=1e-9), name
        else:
            assert rolled.values[name] == value, name


def assert_same_every_way(services: Services) -> set[date]:
    for narrow in ({}, {"channel": "phone"}, {"category": "logistics"}, {"department": "x"}):
        rolled, live, days = both_ways(services, **narrow)
        assert_same(rolled, live)
    return days


def rollup_rows(services: Services) -> int:
    with services.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(DailyRollup)) or 0)


def test_the_rollup_gives_the_figures_of_the_records(
    services: Services, clock: VirtualClock
) -> None:
    made = work_five_days(services, clock)  # now Saturday 09:00
    week = {MONDAY + timedelta(days=i) for i in range(5)}
    assert services.roll_up() == {"after_sales": 5}
    rows = rollup_rows(services)
    assert rows > 0
    assert assert_same_every_way(services) == week
    rolled, _, _ = both_ways(services)
    assert rolled.volume == 20 and rolled.values["fcr"] is not None
    assert rolled.values["sla_attainment"] is not None and rolled.daily_csat

    # Late changes to records of rolled days.
    services.answer_satisfaction(made["worked"][0], Answer(2, nps=5), via="link", actor="customer")
    resolve(services, clock, made["open"][1], 2)
    assert services.sweep().fired  # the P0s breached long ago; this sweep is late
    feedback(services, channel="wechat", received_at=clock.now() - timedelta(days=3))
    days = assert_same_every_way(services)
    assert days == set()  # every day was touched: the P0 breaches reach all five

    clock.advance(kpis.STALE_MARGIN + timedelta(minutes=1))  # past any change still committing
    assert services.roll_up() == {"after_sales": 5}
    assert assert_same_every_way(services) == week
    clock.advance(timedelta(hours=1))
    assert services.roll_up() == {"after_sales": 0}  # nothing changed since: nothing to do
    with services.uow() as uow:  # ... but the days are known current as of this run
        read = set(uow.session.scalars(select(RollupDay.rolled_at)))
    assert read == {clock.now()}
    rolled, _, _ = both_ways(services)
    assert rolled.volume == 21


def test_a_day_touched_after_its_rollup_is_read_from_the_records(
    services: Services, clock: VirtualClock
) -> None:
    made = work_five_days(services, clock)
    services.sweep()
    clock.advance(timedelta(hours=1))
    services.roll_up()
    clock.advance(timedelta(hours=1))
    services.answer_satisfaction(made["worked"][2], Answer(1, nps=0), via="link", actor="customer")
    rolled, live, days = both_ways(services)
    assert_same(rolled, live)
    wednesday = MONDAY + timedelta(days=2)
    assert wednesday not in days and len(days) == 4
    clock.advance(kpis.STALE_MARGIN + timedelta(minutes=1))
    assert services.roll_up() == {"after_sales": 1}
    assert wednesday in both_ways(services)[2]


def test_the_writes_that_change_figures_move_updated_at_but_not_row_version(
    services: Services, clock: VirtualClock
) -> None:
    """The rollup finds changed days by `updated_at`: a breach or an answer must move it, and
    leave `row_version` (an agent's open form) alone."""
    p0 = feedback(services, priority="P0")
    spot = feedback(services)
    services.transition(spot.id, "solve_on_spot", {"solution": "重启"}, actor="a")
    with services.uow() as uow:
        before = {
            r.id: (r.updated_at, r.row_version)
            for r in uow.session.scalars(select(Record).where(Record.id.in_([p0.id, spot.id])))
        }
    clock.advance(timedelta(hours=3))
    services.sweep()  # P0: warning at 80 % and breach at 2 h
    services.answer_satisfaction(spot.id, Answer(4, nps=8), via="link", actor="customer")
    with services.uow() as uow:
        for record_id in (p0.id, spot.id):
            record = uow.session.get_one(Record, record_id)
            assert record.updated_at == clock.now()
            assert record.updated_at > before[record_id][0]
    with services.uow() as uow:
        spot_now = uow.session.get_one(Record, spot.id)
        assert spot_now.row_version == before[spot.id][1]


def test_rolling_a_day_twice_writes_the_same_rows(services: Services, clock: VirtualClock) -> None:
    work_five_days(services, clock)
    services.roll_up()
    first = rollup_contents(services)
    with services.uow() as uow:
        reading = rollup.reading(services.latest_spec(uow.session, "after_sales"), clock.now())
        week = [MONDAY + timedelta(days=i) for i in range(5)]
        rollup.roll_up(uow.session, reading, week, clock.now())
        uow.commit()
    assert rollup_contents(services) == first


def rollup_contents(services: Services) -> list[str]:
    """Every rollup row but its id, as text (some keys are NULL, so tuples do not sort)."""
    columns = [c for c in DailyRollup.__table__.c if c.name != "id"]
    with services.uow() as uow:
        return sorted(repr(tuple(row)) for row in uow.session.execute(select(*columns)))
