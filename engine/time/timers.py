"""Fire due timers exactly once: SLA warnings, breaches, escalation steps and follow-ups.

`sweep(now)` claims due timers in batches, oldest first, like APScheduler's
`get_due_jobs(now)`; on PostgreSQL with `SELECT … FOR UPDATE SKIP LOCKED` of the timers
and their records together (`claims.claim_with_records`), so any number of sweepers share
the work without firing a timer twice or taking timers of one record (SQLite has one
writer at a time). A batch is fired set-based: each timer's effects are computed in
Python from the pack and the records as loaded, then each kind of row (history
events, notifications, outbox messages, new timers, clock and record changes, the
timers' own marks) is written for the whole batch in one statement, in one
transaction. If any of it fails, the batch is fired again timer by timer, each under
a savepoint, so one bad timer is retried later without holding back the rest. The
primary effect of a timer carries its id under a unique constraint: a second firing
cannot commit.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from engine.records.journal import Effects
from engine.records.rows import ClockRow, RecordRow
from engine.records.versions import SpecCache
from engine.time import batchwrite, sla
from engine.time.claims import CLOCKS, RECORDS, Due, claim, claim_with_records, lock_records
from engine.time.firing import handle
from engine.time.sweepers import Held, how_many, side_by_side

# `claim` and `Due` stay importable from here (bench/bench_scheduler_memory.py claims directly).
__all__ = ["Due", "Fired", "SweepResult", "claim", "sweep"]

log = logging.getLogger(__name__)
# A backlog (a catch-up after downtime) is fired in batches growing up to this many times
# the asked size: a batch's statements and round trips cost the same whatever its size
# (about a tenth of a timer's CPU at 200), while a record stays locked for one batch only.
BACKLOG_GROWTH = 5


@dataclass(frozen=True)
class Fired:
    """What one timer did, for logs, metrics and the simulator's timeline."""

    timer_id: int
    record_id: int
    kind: str
    due_at: datetime
    outcome: str  # "fired" | "cancelled"
    # The record's pack and priority before the timer acted (a breach may raise the priority):
    # metrics count SLA warnings and breaches by them.
    pack: str = ""
    priority: str = ""


@dataclass
class SweepResult:
    fired: list[Fired] = field(default_factory=list)
    failed: int = 0
    batches: int = 0


def sweep(
    session_factory: sessionmaker[Session],
    specs: SpecCache,
    now: datetime,
    *,
    batch_size: int = 100,
    max_batches: int | None = None,
    sweepers: int | None = None,
) -> SweepResult:
    """Fire every timer due at `now`, batch by batch, until none is left (or `max_batches`).

    Each batch after a full one is twice as large, up to `BACKLOG_GROWTH` × `batch_size`.
    `sweepers` threads sweep side by side (`sweepers.how_many`: two on PostgreSQL unless
    said, one on SQLite); one with `max_batches`, which asks for batches one after the other.
    """
    if max_batches is not None:
        return _sweep_alone(session_factory, specs, now, batch_size, max_batches)
    results = side_by_side(
        how_many(session_factory, sweepers),
        lambda: _sweep_alone(session_factory, specs, now, batch_size, None),
    )
    return SweepResult(
        sorted((f for r in results for f in r.fired), key=lambda f: (f.due_at, f.timer_id)),
        sum(r.failed for r in results),
        sum(r.batches for r in results),
    )


def _sweep_alone(
    session_factory: sessionmaker[Session],
    specs: SpecCache,
    now: datetime,
    batch_size: int,
    max_batches: int | None,
) -> SweepResult:
    """One sweeper's loop: claim a batch, fire it, commit, until nothing it may take is due."""
    result = SweepResult()
    size = batch_size
    failed: set[int] = set()  # retried by a later sweep, not again in this one
    held = Held()
    while max_batches is None or result.batches < max_batches:
        with session_factory() as session:
            claimed = claim_with_records(session, now, size, skip=failed | held.ids)
            if len(claimed.timers) + len(claimed.held) == size:
                size = min(size * 2, batch_size * BACKLOG_GROWTH)
            held.ids.update(claimed.held)
            timers, records = claimed.timers, claimed.records
            if not timers:
                if claimed.held:  # all of them held elsewhere: the next ones may not be
                    continue
                if held.try_again(len(result.fired)):
                    continue
                break
            result.batches += 1
            try:
                with session.begin_nested():
                    result.fired.extend(_fire_batch(session, specs, timers, records, now))
            except Exception as exc:  # find the timer at fault, fire the others
                log.warning(
                    "a batch of %d timers failed (%s); firing them one by one", len(timers), exc
                )
                fired, faulty = _fire_one_by_one(session, specs, timers, now)
                result.fired.extend(fired)
                failed.update(faulty)
            session.commit()
    result.failed = len(failed)
    return result


def _fire_batch(
    session: Session,
    specs: SpecCache,
    timers: Sequence[Due],
    records: dict[int, RecordRow],
    now: datetime,
) -> list[Fired]:
    """Act on each timer in memory, then write the whole batch's rows, one statement a kind."""
    effects = Effects(session)
    loaded = _Loaded.of(records)
    outcomes = [_fire(session, specs, effects, records[t.record_id], t, now) for t in timers]
    effects.write()
    loaded.write_changes(session, now)
    batchwrite.mark(
        session,
        [f.timer_id for f in outcomes if f.outcome == "fired"],
        [f.timer_id for f in outcomes if f.outcome == "cancelled"],
        now,
    )
    return outcomes


def _fire(
    session: Session,
    specs: SpecCache,
    effects: Effects,
    record: RecordRow,
    timer: Due,
    now: datetime,
) -> Fired:
    """One timer's effects, gathered in `effects`; its record and clocks change in memory."""
    pack = specs.get(session, record.pack_version_id)
    priority = record.priority
    acted = handle(effects, pack, record, timer, now)
    record.next_deadline = sla.nearest_deadline(record)
    outcome = "fired" if acted else "cancelled"
    return Fired(timer.id, record.id, timer.kind, timer.due_at, outcome, record.pack, priority)


@dataclass(frozen=True)
class _Loaded:
    """A batch's records and clocks with the values firing may change, as they were loaded:
    the batch writes back only the rows whose values differ afterwards."""

    records: dict[int, RecordRow]
    clocks: dict[int, ClockRow]
    record_values: dict[int, dict[str, Any]]
    clock_values: dict[int, dict[str, Any]]

    @classmethod
    def of(cls, records: dict[int, RecordRow]) -> _Loaded:
        clocks = {c.id: c for r in records.values() for c in r.clocks}
        return cls(
            records,
            clocks,
            {rid: _record_values(r) for rid, r in records.items()},
            {cid: _clock_values(c) for cid, c in clocks.items()},
        )

    def write_changes(self, session: Session, now: datetime) -> None:
        """The clocks and records that changed, one statement each. A record whose clock
        changed is touched (`updated_at`) in the same statement as the records' changes."""
        clocks = [c for cid, c in self.clocks.items() if _clock_values(c) != self.clock_values[cid]]
        touched = {c.record_id for c in clocks}
        changed = {
            rid for rid, r in self.records.items() if _record_values(r) != self.record_values[rid]
        }
        batchwrite.update_rows(session, CLOCKS, [{"id": c.id, **_clock_values(c)} for c in clocks])
        batchwrite.update_rows(
            session,
            RECORDS,
            [
                _record_change(self.records[rid], rid in changed, rid in touched, now)
                for rid in sorted(changed | touched)
            ],
            added=("row_version",),
            kept_if_null=("updated_at",),
        )


def _fire_one_by_one(
    session: Session, specs: SpecCache, timers: Sequence[Due], now: datetime
) -> tuple[list[Fired], set[int]]:
    """The slow path after a batch failed: each timer on its own, from freshly read records."""
    fired: list[Fired] = []
    faulty: set[int] = set()
    for timer in timers:
        try:
            with session.begin_nested():
                records = lock_records(session, [timer])
                fired.extend(_fire_batch(session, specs, [timer], records, now))
        except Exception as exc:  # one bad timer must not stop the sweep
            log.exception("timer %s (%s) failed", timer.id, timer.kind)
            batchwrite.record_failure(session, timer, exc)
            faulty.add(timer.id)
    return fired, faulty


def _record_values(record: RecordRow) -> dict[str, Any]:
    """What firing a timer may change on its record."""
    return {
        "priority": record.priority,
        "priority_rank": record.priority_rank,
        "next_deadline": record.next_deadline,
    }


def _clock_values(clock: ClockRow) -> dict[str, Any]:
    """What firing a timer may change on its clock."""
    return {"warned_at": clock.warned_at, "breached_at": clock.breached_at}


def _record_change(
    record: RecordRow, changed: bool, touched: bool, now: datetime
) -> dict[str, Any]:
    """A record's row in the batch's one update. A changed record's `row_version` moves on,
    as an ORM flush would move it: an agent's form opened before a breach raised the priority
    is refused as stale. A warning or breach changes the record's SLA figures: its
    `updated_at` moves, so the dashboard's rollup reads its day again, but it is not an edit
    of the record: `row_version` stays."""
    return {
        "id": record.id,
        **_record_values(record),
        "row_version": 1 if changed else 0,
        "updated_at": now if touched else None,
    }
