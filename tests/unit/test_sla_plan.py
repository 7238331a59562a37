"""A record's clocks planned together (R-2.4, issue #24 item 3): `sla.plan_all` asks each
calendar once per start (`add_each`) and gives every clock the warning and deadline `add`
gives, arming their timers in the clocks' order, as planning them one by one did."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from engine.specs.build import build_pack_spec
from engine.specs.pack import PackSpec
from engine.store.models import Record, SlaClock
from engine.time import sla
from workflows.validate import checked_source

PACK = Path(__file__).resolve().parents[2] / "workflows" / "after_sales"
HOUR = 3600.0


def after_sales() -> PackSpec:
    spec, problems = build_pack_spec(checked_source(PACK).data)
    assert spec is not None, problems
    return spec


def clock(record: Record, target: str, calendar: str, working: bool, budget: float) -> SlaClock:
    return SlaClock(
        record=record,
        target=target,
        term="t",
        calendar=calendar,
        working=working,
        budget_seconds=budget,
        warning_fraction=0.8,
        started_at=record.received_at,
        running_since=record.received_at,
        consumed_seconds=0.0,
    )


def test_a_records_clocks_get_adds_answers_and_their_timers_in_order() -> None:
    pack = after_sales()
    friday_five = datetime(2026, 3, 13, 9, tzinfo=UTC)  # 17:00 in Shanghai
    record = Record(received_at=friday_five)
    respond = clock(record, "respond", "cn_workdays", True, 4 * HOUR)
    resolve = clock(record, "resolve", "cn_workdays", True, 27 * HOUR)
    wall = clock(record, "wall", "24x7", False, 2 * HOUR)
    resumed = clock(record, "resumed", "cn_workdays", True, 9 * HOUR)
    resumed.running_since = datetime(2026, 3, 16, 2, tzinfo=UTC)  # Monday 10:00, another start
    resumed.consumed_seconds = 8 * HOUR  # past its warning: due at once, then 1 h to go
    resumed.warned_at = None
    armed: list[tuple[str, str, datetime]] = []

    def arm(
        record: Record, kind: str, name: str, due_at: datetime, now: datetime, **_: object
    ) -> None:
        armed.append((name, kind, due_at))

    clocks = [respond, resolve, wall, resumed]
    sla.plan_all(Session(), pack, record, clocks, friday_five, arm=arm)  # no database: arm given

    cn, always = pack.calendars["cn_workdays"], sla.ALWAYS
    expected = []
    for c in clocks:
        cal = cn if c.working else always
        assert c.running_since is not None
        left = c.budget_seconds - c.consumed_seconds
        warning = max(c.budget_seconds * 0.8 - c.consumed_seconds, 0.0)
        expected += [
            (c.target, "sla_warning", cal.add(c.running_since, warning)),
            (c.target, "sla_breach", cal.add(c.running_since, left)),
        ]
        assert (c.warning_at, c.deadline) == (expected[-2][2], expected[-1][2])
    assert armed == expected
    assert resumed.warning_at == resumed.running_since  # nothing left before the warning
    assert resolve.deadline == datetime(2026, 3, 18, 9, tzinfo=UTC)  # 1 + 9 + 9 + 8 h: Wed 17:00
