"""R-6.1 call time: the `stage_duration` monitor over N voice calls and 3N history events.

Seeds N retail `voice_call` records spread over the 30 days before 10:00 UTC on 1 December
2026, with their history: created `ringing`, picked up a minute later (`talking`), hung up
2–10 minutes after that (`ended`); every tenth call is abandoned while ringing. Then:

* ours: `engine.insight.metrics.measure` for retail's `long_calls` (the average minutes in
  `talking` of the stays that ended in the last hour: the leaving events, each paired with the
  latest entering one), over the hour, and over the four same hours of the weeks before (what
  the monitor reads as its baseline when the hour has calls), the median of `--runs`;
* baseline: the plain aggregate of the same hour, retail's `abandoned_calls` (`stage_share`:
  one pass over the records closed in the window), measured in the same run.

    python -m bench.bench_call_signals [--n 20000] [--full] [--runs 3] [--db both|sqlite|pg]

`--full` is 1,000,000 calls and 2,900,000 events; the monitors run every minute, so the goal
is well under a second.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy import Engine, insert

from bench.common import ROOT, Row, arguments, backends, database, median_of, table_of
from bench.seed import vacuum_analyze
from engine.insight import metrics
from engine.services import Services
from engine.store.db import make_session_factory
from engine.store.models import Record, RecordEvent
from engine.time.clock import VirtualClock
from workflows.validate import checked_source

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
SPAN = timedelta(days=30)
CHUNK = 20_000
GOAL = "≤ 1 s (every minute)"
HOUR = [(NOW - timedelta(hours=1), NOW)]
WEEKS = [(NOW - timedelta(hours=1, weeks=k), NOW - timedelta(weeks=k)) for k in range(1, 5)]


def seed(engine: Engine, n: int, version_id: int) -> None:
    """N calls and their stage events, in chunks; ids given, so events need no RETURNING."""
    records, events = table_of(Record), table_of(RecordEvent)
    with engine.begin() as conn:
        for start in range(0, n, CHUNK):
            calls: list[dict[str, object]] = []
            history: list[dict[str, object]] = []
            for i in range(start, min(n, start + CHUNK)):
                rang = NOW - SPAN * (i + 1) / n
                picked = rang + timedelta(minutes=1)
                abandoned = i % 10 == 0
                ended = picked if abandoned else picked + timedelta(minutes=2 + i % 9)
                stage = "abandoned" if abandoned else "ended"
                calls.append(
                    {
                        "id": i + 1,
                        "pack_version_id": version_id,
                        "pack": "retail",
                        "record_type": "voice_call",
                        "stage": stage,
                        "stage_kind": "closed",
                        "is_open": False,
                        "priority": "P2",
                        "priority_rank": 2,
                        "tier_rank": 1,
                        "channel": "phone",
                        "fields": {},
                        "received_at": rang,
                        "created_at": rang,
                        "updated_at": ended,
                        "closed_at": ended,
                        "row_version": 1,
                    }
                )
                moves: list[tuple[datetime, str | None, str]] = [(rang, None, "ringing")]
                if not abandoned:
                    moves.append((picked, "ringing", "talking"))
                moves.append((ended, "ringing" if abandoned else "talking", stage))
                history += [
                    {
                        "record_id": i + 1,
                        "at": at,
                        "actor": "bench",
                        "kind": f"stage.{to}",
                        "transition": None,
                        "from_stage": left,
                        "to_stage": to,
                        "changes": {},
                    }
                    for at, left, to in moves
                ]
            conn.execute(insert(records), calls)
            conn.execute(insert(events), history)


def seconds(services: Services, monitor: str, windows: list[tuple[datetime, datetime]]) -> float:
    with services.uow() as uow:
        spec = services.latest_spec(uow.session, "retail")
        watched = next(m for m in spec.insight.monitors if m.id == monitor)
        began = time.perf_counter()
        metrics.measure(uow.session, spec, watched, windows)
        return time.perf_counter() - began


def reading(services: Services, monitor: str, windows: list[tuple[datetime, datetime]]) -> str:
    with services.uow() as uow:
        spec = services.latest_spec(uow.session, "retail")
        watched = next(m for m in spec.insight.monitors if m.id == monitor)
        value, count = metrics.measure(uow.session, spec, watched, windows)[metrics.ALL]
        return f"{monitor} {value:.2f} on {count:,}"


def main() -> None:
    args = arguments(__doc__ or "", small=20_000, full=1_000_000)
    source = checked_source(ROOT / "workflows" / "retail")
    for kind in backends(args.db):
        with database(kind) as engine:
            services = Services(make_session_factory(engine), VirtualClock(NOW))
            version = services.publish(source, by="bench").version
            began = time.perf_counter()
            seed(engine, args.n, version.id)
            vacuum_analyze(engine)
            print(
                f"# {kind}: {args.n:,} calls seeded in {time.perf_counter() - began:,.1f} s",
                flush=True,
            )
            baseline = median_of(args.runs, partial(seconds, services, "abandoned_calls", HOUR))
            for name, windows in (("hour", HOUR), ("4 weeks' hours", WEEKS)):
                ours = median_of(args.runs, partial(seconds, services, "long_calls", windows))
                label = f"R-6.1 call time, {args.n:,}, {name}"
                Row(label, kind, "ms", ours * 1000, baseline * 1000, GOAL, False).print()
            hour = ", ".join(reading(services, m, HOUR) for m in ("long_calls", "short_calls"))
            print(f"  last hour: {hour}; {reading(services, 'abandoned_calls', HOUR)}", flush=True)


if __name__ == "__main__":
    main()
