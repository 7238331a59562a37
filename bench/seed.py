"""Set-based seeding for the benches: records with their SLA clocks, timers and history.

Why not the engine: a million timers through `create_record` would take longer than the
benches themselves and measure nothing they report. Instead each record's rows are built
in Python with the pack's own numbers, exactly as `engine.records.create_record` and
`engine.sla` would write them (budgets from the policy, warning and deadline from the
pack's business calendars, one warning and one breach timer per clock, the post-breach
escalation step `offset` hours later, the progress follow-up every 24 h while in
progress), and written in chunks of 2,000 records (PostgreSQL: COPY; SQLite:
`executemany`), ids assigned up front so no row needs a round trip of its own.

The mix (`Seeder.realistic`): priority P0 5 %, P1 25 %, P2 70 %; 3 % of records from VIP
customers (tier_rank 0); 45 % pending as created, 45 % accepted and in progress (respond
met on time), 10 % waiting on the customer (clocks paused: no deadline); next deadlines
within ±3 days of now, so about a third of the records have a breached clock.

A record is written as if the scheduler had run until `fired_until`: timers due before
then are fired (with their history event carrying `timer_id`, and the clock's
`warned_at` / `breached_at` set), later ones are still pending. `fired_until=now` is a
healthy system (the queue bench); an earlier moment is a scheduler that has been down
since, leaving a backlog of due timers (the sweep bench).

Each record's search document (`engine.records.searchindex`: the words of its description and
product) is written with it; descriptions are `bench.data`'s complaints, so words occur as
often as in real feedback, and each distinct sentence is cut by jieba once.

With the history and if asked, each past firing's notifications and their sent messages
(`bench.seednotices`). Not modelled: the priority raise a breach applies (the generated
priority is the record's priority as it stands now, so the queue's mix is the one asked for).
"""

from __future__ import annotations

import functools
import itertools
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Connection, Engine, Table, insert, text

from bench.common import ROOT, table_of
from bench.data import description
from bench.seednotices import PastNotices
from engine.access import crypto
from engine.access.crypto import lookup_hash
from engine.records import searchindex
from engine.records.versions import latest_version
from engine.services import Services
from engine.specs.pack import PackSpec, RecordTypeSpec, SlaTerm
from engine.store.db import make_session_factory
from engine.store.models import (
    Customer,
    Notification,
    OutboxMessage,
    Record,
    RecordEvent,
    RecordSearchDoc,
    SlaClock,
    Timer,
    User,
)
from engine.store.types import EncryptedJSON
from engine.time.calendar import BusinessCalendar
from engine.time.followups import next_due
from engine.time.sla import ALWAYS, offset
from workflows.validate import checked_source

PACK = "after_sales"
RECORD_TYPE = "feedback"
PACK_PATH: Path = ROOT / "workflows" / PACK
PRIORITIES = (("P0", 0.05), ("P1", 0.25), ("P2", 0.70))
VIP_SHARE = 0.03
# Stage mix of open records: 10 % wait on the customer, so their clocks are paused and the
# record has no deadline (next_deadline NULL), as the engine leaves it.
STAGES = (("pending", 0.45), ("in_progress", 0.45), ("waiting_customer", 0.10))
DEADLINE_SPREAD = timedelta(days=3)
# The pack's routing table (pack.yaml): category → department, the `accept` transition's effect.
DEPARTMENTS = {
    "quality": "rnd",
    "function": "rnd",
    "service": "training",
    "logistics": "supply_chain",
    "other": "service_desk",
}
TABLES = tuple(table_of(model) for model in (Customer, Record, RecordSearchDoc, SlaClock, Timer))
EVENTS = table_of(RecordEvent)
# What the history adds after the records' own rows, parents first.
HISTORY_TABLES = (EVENTS, table_of(Notification), table_of(OutboxMessage))
HISTORY = (Timer.__tablename__, RecordEvent.__tablename__)
ORDER = "订单号"  # bench.data's second sentence: an order number, unique to its record
CHUNK = 2_000  # records per transaction when writing


@dataclass
class Draft:
    """One record's rows, built but not yet written, so a bench can keep it or draw again."""

    record: dict[str, Any]
    clocks: list[dict[str, Any]]
    timers: list[dict[str, Any]]
    events: list[dict[str, Any]]
    notifications: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)

    def due(self, now: datetime) -> int:
        """Pending timers due at `now`: what a sweep at `now` has to fire for this record."""
        return sum(1 for t in self.timers if t["status"] == "pending" and t["due_at"] <= now)


@dataclass
class Counts:
    records: int = 0
    clocks: int = 0
    timers: int = 0
    events: int = 0
    notifications: int = 0
    customers: int = 0
    breached: int = 0
    no_deadline: int = 0
    by_priority: dict[str, int] = field(default_factory=dict)


class Seeder:
    """Builds drafts with the pack's calendars and writes the kept ones in chunks.

    Use: `draft = seeder.draft(...)`, `seeder.keep(draft)`, …, `seeder.finish()`. Given
    several (fresh) databases, each gets the same rows: built once, written to each.
    """

    def __init__(
        self,
        engines: Engine | Sequence[Engine],
        now: datetime,
        *,
        seed: int = 20261123,
        history: bool = True,
        notices: bool = False,
    ) -> None:
        """`history=False` leaves out the timers and history events (built, not written):
        for benches that read records and clocks only, a third of the rows to write.
        `notices=True` adds the past firings' notifications and messages to the history
        (the sweep benches, which write more of them)."""
        self.history = history
        self.with_notices = notices
        self.engines = [engines] if isinstance(engines, Engine) else list(engines)
        self.now = now
        self.rng = random.Random(seed)
        source = checked_source(PACK_PATH)
        versions = set()
        for engine in self.engines:
            services = Services(make_session_factory(engine))
            services.publish(source, by="bench")
            with services.uow() as uow:
                version = latest_version(uow.session, PACK)
                versions.add(version.id)
                self.spec: PackSpec = services.specs.of(version)
        assert len(versions) == 1, "the databases must be fresh"
        self.version_id = versions.pop()
        self.rtype: RecordTypeSpec = self.spec.record_type(RECORD_TYPE)
        self.searched = searchindex.searched_fields(self.rtype)
        self.channels = list(self.spec.channels)
        self.categories = list(self.spec.categories)
        self._ids = {name: itertools.count(1) for name in ("record", "clock", "timer", "event")}
        self._customers = itertools.count(1)
        self._vips: list[int] = []
        self._regular: int | None = None
        self._pending: dict[str, list[dict[str, Any]]] = {t.name: [] for t in TABLES}
        self._pending.update({table.name: [] for table in HISTORY_TABLES})
        self.notices = PastNotices(self.spec, self.rtype)
        self._records_pending = 0
        self.counts = Counts()

    # -- drawing ---------------------------------------------------------------------------

    def priority(self) -> str:
        return self.rng.choices([p for p, _ in PRIORITIES], [w for _, w in PRIORITIES])[0]

    def stage(self) -> str:
        return self.rng.choices([s for s, _ in STAGES], [w for _, w in STAGES])[0]

    def tier_rank(self) -> int:
        return 0 if self.rng.random() < VIP_SHARE else 1

    def realistic(self, fired_until: datetime) -> Draft:
        """A record of the queue's mix whose next deadline lies within ±3 days of now.

        Received up to ten days ago; pending records go by their `respond` deadline,
        records in progress by `resolve` (respond met on time), waiting ones by none.
        Drawn again until the deadline falls in the spread.
        """
        priority, tier, stage = self.priority(), self.tier_rank(), self.stage()
        while True:
            received = self.now - timedelta(seconds=self.rng.uniform(0, 10 * 86400))
            accepted = paused = None
            if stage != "pending":
                respond = self._plan_clock(self._terms(priority)["respond"], received)
                share = self.rng.uniform(0.05, 0.75)
                accepted = received + (respond["deadline"] - received) * share
                if accepted > self.now:
                    continue
                if stage == "waiting_customer":  # before the first follow-up is due
                    room = min(self.now - accepted, timedelta(hours=20))
                    paused = accepted + room * self.rng.uniform(0.0, 1.0)
            draft = self.draft(
                priority=priority,
                tier_rank=tier,
                received_at=received,
                stage=stage,
                accepted_at=accepted,
                paused_at=paused,
                fired_until=fired_until,
            )
            deadline = draft.record["next_deadline"]
            if deadline is None or abs(deadline - self.now) <= DEADLINE_SPREAD:
                return draft

    # -- building --------------------------------------------------------------------------

    def _terms(self, priority: str) -> dict[str, SlaTerm]:
        assert self.rtype.sla is not None
        return self.rtype.sla.terms_for(priority)

    def _measure(self, term: SlaTerm) -> BusinessCalendar:
        """The calendar a clock counts on (engine.sla.measure): working time, or all time."""
        return self.spec.calendars[term.calendar] if term.within.working else ALWAYS

    def _plan_clock(self, term: SlaTerm, received: datetime) -> dict[str, Any]:
        """A clock as `sla.start_clocks` + `sla._plan` write it for a record received then."""
        calendar = self.spec.calendars[term.calendar]
        budget = term.within.seconds(calendar.working_day_seconds)
        measure = self._measure(term)
        return {
            "target": term.target,
            "calendar": term.calendar,
            "working": term.within.working,
            "budget_seconds": budget,
            "warning_fraction": term.warning,
            "started_at": received,
            "running_since": received,
            "consumed_seconds": 0.0,
            "warning_at": measure.add(received, budget * term.warning),
            "deadline": measure.add(received, budget),
            "warned_at": None,
            "met_at": None,
            "breached_at": None,
        }

    def draft(
        self,
        *,
        priority: str,
        tier_rank: int,
        received_at: datetime,
        stage: str = "pending",
        accepted_at: datetime | None = None,
        paused_at: datetime | None = None,
        fired_until: datetime | None = None,
    ) -> Draft:
        """The rows of one open record, as the engine leaves them at `self.now`.

        `pending`: as `create_record` wrote it. `in_progress`: accepted at `accepted_at`
        (the respond clock met, its timers cancelled, the progress follow-up armed).
        `waiting_customer`: then paused at `paused_at` (the resolve clock stopped, its
        timers and the follow-up cancelled). Timers due before `fired_until` have fired.
        """
        fired_until = fired_until if fired_until is not None else received_at
        record_id = next(self._ids["record"])
        _, product, text = description(self.rng)
        created = received_at
        # As intake stores it (issue #22 item 4): the contact encrypted, found by its hash.
        contact = f"138{self.rng.randrange(10**8):08d}"
        record: dict[str, Any] = {
            "id": record_id,
            "pack_version_id": self.version_id,
            "pack": PACK,
            "record_type": RECORD_TYPE,
            "stage": "pending",
            "stage_kind": "open",
            "is_open": True,
            "priority": priority,
            "priority_rank": self.spec.priority_rank(priority),
            "tier_rank": tier_rank,
            "channel": self.rng.choice(self.channels),
            "category": None,
            "department": None,
            "assignee": None,
            "customer_id": None,  # set by keep()
            "fields": {
                "customer_no": None,  # set by keep()
                "description": text,
                "product": product,
            },
            "private_fields": {"contact": contact},
            "contact_hash": lookup_hash(contact),
            "received_at": received_at,
            "created_at": created,
            "updated_at": created,
            "closed_at": None,
            "next_deadline": None,
            "external_id": None,
            "row_version": 2,
        }
        events = [
            self._event(record_id, created, "stage.pending", to_stage="pending", actor="intake")
        ]
        clocks: list[dict[str, Any]] = []
        timers: list[dict[str, Any]] = []
        for term in self._terms(priority).values():
            clock: dict[str, Any] = {"id": next(self._ids["clock"]), "record_id": record_id}
            clock.update(self._plan_clock(term, received_at))
            clocks.append(clock)
            for kind, due in (
                ("sla_warning", clock["warning_at"]),
                ("sla_breach", clock["deadline"]),
            ):
                timers.append(self._timer(record_id, clock["id"], kind, term.target, due, created))
        respond = clocks[0]
        if stage != "pending":
            assert accepted_at is not None
            self._accept(record, respond, timers, events, accepted_at, fired_until)
        if stage == "waiting_customer":
            assert paused_at is not None
            self._pause(record, clocks[1], timers, events, paused_at, fired_until)
        draft = Draft(record, clocks, timers, events)
        self._fire(draft, fired_until)
        open_deadlines = [c["deadline"] for c in clocks if c["met_at"] is None and c["deadline"]]
        record["next_deadline"] = min(open_deadlines, default=None)
        return draft

    def _accept(
        self,
        record: dict[str, Any],
        respond: dict[str, Any],
        timers: list[dict[str, Any]],
        events: list[dict[str, Any]],
        at: datetime,
        fired_until: datetime,
    ) -> None:
        """The `accept` transition: category, routing, an owner; respond met; follow-up armed."""
        category = self.rng.choice(self.categories)
        record.update(
            stage="in_progress",
            stage_kind="active",
            category=category,
            department=DEPARTMENTS.get(category, "service_desk"),
            assignee=f"agent{self.rng.randrange(40):02d}",
            updated_at=at,
            row_version=3,
        )
        events.append(
            self._event(
                record["id"],
                at,
                "stage.in_progress",
                transition="accept",
                from_stage="pending",
                to_stage="in_progress",
                actor=record["assignee"],
            )
        )
        term = self._terms(record["priority"])["respond"]
        respond["consumed_seconds"] = self._measure(term).working_seconds_between(
            respond["running_since"], at
        )
        respond.update(running_since=None, met_at=at)
        events.append(self._event(record["id"], at, "sla.respond.met", actor=record["assignee"]))
        self._cancel(timers, respond["id"], min(at, fired_until))
        followup = self.rtype.followups["progress_update"]
        due = next_due(self.spec, followup, at)
        timers.append(self._timer(record["id"], None, "followup", followup.name, due, at))

    def _pause(
        self,
        record: dict[str, Any],
        resolve: dict[str, Any],
        timers: list[dict[str, Any]],
        events: list[dict[str, Any]],
        at: datetime,
        fired_until: datetime,
    ) -> None:
        """`wait_for_customer`: the resolve clock stops and forgets what has not happened yet.

        Callers pause before the first follow-up is due, so cancelling it is the whole story.
        """
        record.update(stage="waiting_customer", stage_kind="waiting", updated_at=at, row_version=4)
        events.append(
            self._event(
                record["id"],
                at,
                "stage.waiting_customer",
                transition="wait_for_customer",
                from_stage="in_progress",
                to_stage="waiting_customer",
                actor=record["assignee"],
            )
        )
        term = self._terms(record["priority"])["resolve"]
        resolve["consumed_seconds"] = self._measure(term).working_seconds_between(
            resolve["running_since"], at
        )
        fired_by = min(at, fired_until)
        resolve["running_since"] = None
        if resolve["warning_at"] > fired_by:  # not warned yet
            resolve["warning_at"] = None
        if resolve["deadline"] > fired_by:  # not breached yet
            resolve["deadline"] = None
        events.append(self._event(record["id"], at, "sla.resolve.paused"))
        self._cancel(timers, resolve["id"], fired_by)
        self._cancel(timers, None, fired_by)  # the follow-up runs only while active

    def _fire(self, draft: Draft, until: datetime) -> None:
        """What the sweeps until `until` did: warnings, breaches, escalations, follow-ups,
        and the notifications and messages they gave."""
        record, clocks, timers, events = draft.record, draft.clocks, draft.timers, draft.events
        by_id = {c["id"]: c for c in clocks}
        assert self.rtype.sla is not None
        later = [s for s in self.rtype.sla.escalation if s.at == "breach" and s.after is not None]
        index = 0
        while index < len(timers):  # firing a breach or a follow-up appends the next timer
            timer = timers[index]
            index += 1
            if timer["status"] != "pending" or timer["due_at"] > until:
                continue
            at = timer["due_at"]
            timer.update(status="fired", fired_at=at)
            if timer["kind"] == "followup":
                followup = self.rtype.followups[timer["name"]]
                upcoming = next_due(self.spec, followup, at)
                while upcoming <= until:  # coalesced, like the sweep's catch-up
                    upcoming = next_due(self.spec, followup, upcoming)
                timers.append(
                    self._timer(record["id"], None, "followup", followup.name, upcoming, at)
                )
                kind = f"followup.{followup.name}"
                target = None
            else:
                clock = by_id[timer["clock_id"]]
                target = clock["target"]
                if timer["kind"] == "sla_warning":
                    clock["warned_at"], kind = at, f"sla.{clock['target']}.warning"
                elif timer["kind"] == "sla_breach":
                    clock["breached_at"], kind = at, f"sla.{clock['target']}.breached"
                    for step in later:
                        assert step.after is not None
                        due = offset(self.spec, clock["calendar"], clock["deadline"], step.after)
                        timers.append(
                            self._timer(
                                record["id"],
                                clock["id"],
                                "sla_escalation",
                                clock["target"],
                                due,
                                at,
                                step=step.index,
                            )
                        )
                else:
                    kind = f"sla.{clock['target']}.escalated"
            events.append(self._event(record["id"], at, kind, timer_id=timer["id"]))
            if self.with_notices:
                notifications, messages = self.notices.of(record["id"], timer, at, target)
                draft.notifications.extend(notifications)
                draft.messages.extend(messages)

    def _cancel(
        self, timers: list[dict[str, Any]], clock_id: int | None, fired_by: datetime
    ) -> None:
        """`journal.cancel_timers` at a state change: a clock's pending timers (None: follow-ups).

        Those due by `fired_by` had fired before the change (`_fire` marks them later).
        """
        for timer in timers:
            if timer["clock_id"] == clock_id and timer["status"] == "pending":
                if timer["due_at"] > fired_by:
                    timer.update(status="cancelled")

    def _timer(
        self,
        record_id: int,
        clock_id: int | None,
        kind: str,
        name: str,
        due: datetime,
        created: datetime,
        *,
        step: int | None = None,
    ) -> dict[str, Any]:
        return {
            "id": next(self._ids["timer"]),
            "record_id": record_id,
            "clock_id": clock_id,
            "kind": kind,
            "name": name,
            "step": step,
            "due_at": due,
            "status": "pending",
            "created_at": created,
            "fired_at": None,
            "attempts": 0,
            "last_error": None,
        }

    def _event(
        self,
        record_id: int,
        at: datetime,
        kind: str,
        *,
        actor: str = "system",
        transition: str | None = None,
        from_stage: str | None = None,
        to_stage: str | None = None,
        timer_id: int | None = None,
    ) -> dict[str, Any]:
        return {
            "id": next(self._ids["event"]),
            "record_id": record_id,
            "at": at,
            "actor": actor,
            "kind": kind,
            "transition": transition,
            "from_stage": from_stage,
            "to_stage": to_stage,
            "changes": {},
            "timer_id": timer_id,
        }

    # -- writing ---------------------------------------------------------------------------

    def keep(self, draft: Draft) -> None:
        """Give the record its customer (VIPs from a small pool) and queue its rows."""
        customer_id = self._customer(draft.record["tier_rank"] == 0)
        draft.record["customer_id"] = customer_id
        draft.record["fields"]["customer_no"] = f"C{customer_id:08d}"
        self._pending[Record.__tablename__].append(draft.record)
        self._pending[RecordSearchDoc.__tablename__].append(
            {"record_id": draft.record["id"], "tokens": self._tokens(draft.record["fields"])}
        )
        self._pending[SlaClock.__tablename__].extend(draft.clocks)
        if self.history:
            self._pending[Timer.__tablename__].extend(draft.timers)
            self._pending[EVENTS.name].extend(draft.events)
            self._pending[Notification.__tablename__].extend(draft.notifications)
            self._pending[OutboxMessage.__tablename__].extend(draft.messages)
        counts = self.counts
        counts.records += 1
        counts.clocks += len(draft.clocks)
        counts.timers += len(draft.timers)
        counts.events += len(draft.events)
        counts.notifications += len(draft.notifications)
        counts.breached += any(
            c["breached_at"] is not None and c["met_at"] is None for c in draft.clocks
        )
        counts.no_deadline += draft.record["next_deadline"] is None
        priority = draft.record["priority"]
        counts.by_priority[priority] = counts.by_priority.get(priority, 0) + 1
        self._records_pending += 1
        if self._records_pending >= CHUNK:
            self._flush()

    def _tokens(self, fields: dict[str, Any]) -> str:
        """The record's document as `searchindex.tokens` makes it, each sentence cut once.

        An order number is the only part unique to a record: its sentence is cut once with a
        placeholder and the number put in after (jieba keeps a run of digits as one word)."""
        base, order, rest = str(fields.get("description") or "").partition(ORDER)
        values = tuple(
            base if name == "description" else str(fields.get(name) or "") for name in self.searched
        )
        words = _document(self.searched, values)
        if order:
            sentence = _document(("description",), (ORDER + PLACEHOLDER + rest[16:],))
            words += " " + sentence.replace(PLACEHOLDER, rest[:16])
        return words

    def _customer(self, vip: bool) -> int:
        """About two records per regular customer; VIP customers return more often."""
        if vip:
            if not self._vips or self.rng.random() < 0.2:
                self._vips.append(self._new_customer("vip"))
            return self.rng.choice(self._vips)
        if self._regular is None or self.rng.random() < 0.5:
            self._regular = self._new_customer(None)
        return self._regular

    def _new_customer(self, tier: str | None) -> int:
        customer_id = next(self._customers)
        self._pending[Customer.__tablename__].append(
            {
                "id": customer_id,
                "number": f"C{customer_id:08d}",
                "name": None,
                "contact": None,
                "tier": tier,
                "dedicated_agent": None,
                "birthday": None,
                "birth_md": None,
                "timezone": None,
                "since": None,
                "consent_service": True,
                "consent_marketing": False,
                "consent_at": None,
                "consent_source": None,
                "contact_hash": None,
                "created_at": self.now - timedelta(days=30),
            }
        )
        self.counts.customers += 1
        return customer_id

    def _flush(self) -> None:
        """One transaction per chunk, parents before children (foreign keys are immediate).

        PostgreSQL gets `COPY … FROM STDIN` (the set-based load it is built for); SQLite an
        `executemany`, through the models' column types so times are stored as the engine
        stores them (UTC text, compared as text).
        """
        for engine in self.engines:
            with engine.begin() as conn:
                for table in (*TABLES, *HISTORY_TABLES):
                    rows = self._pending[table.name]
                    if not rows:
                        continue
                    if conn.dialect.name == "postgresql":
                        _copy(conn, table, rows)
                    else:
                        conn.execute(insert(table), rows)
        for rows in self._pending.values():
            rows.clear()
        self._records_pending = 0

    def finish(self, *, analyze: bool = True) -> Counts:
        """Write what is left, move the id sequences past the ids used, refresh statistics."""
        self._flush()
        for engine in self.engines:
            if engine.dialect.name == "postgresql":
                with engine.begin() as conn:
                    for table in (*TABLES, *HISTORY_TABLES):
                        if "id" not in table.c:
                            continue  # keyed by its record (the search documents)
                        conn.execute(
                            text(
                                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                f"(SELECT coalesce(max(id), 0) + 1 FROM {table.name}), false)"
                            )
                        )
            if analyze:
                vacuum_analyze(engine)
        return self.counts


PLACEHOLDER = "1000000000000000"


@functools.lru_cache(maxsize=8192)
def _document(names: tuple[str, ...], values: tuple[str, ...]) -> str:
    return searchindex.tokens(dict(zip(names, values, strict=True)), names)


def _copy(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    columns = [c.name for c in table.columns]
    json_columns = {c.name for c in table.columns if isinstance(c.type, JSON)}
    sealed = {c.name for c in table.columns if isinstance(c.type, EncryptedJSON)}
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor:
        names = ", ".join(columns)
        with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:  # a column the seeder does not write (added later) is NULL
                copy.write_row([_copied(row, c, json_columns, sealed) for c in columns])


def _copied(row: dict[str, Any], column: str, json_columns: set[str], sealed: set[str]) -> Any:
    """A value as COPY takes it: JSON as text, an encrypted column's value as its ciphertext
    (COPY bypasses the column types that `insert` applies on SQLite)."""
    if column in json_columns:
        return json.dumps(row[column])
    if column in sealed and row.get(column) is not None:
        return crypto.encrypt(json.dumps(row[column], ensure_ascii=False, sort_keys=True))
    return row.get(column)


def add_staff(
    conn: Connection, now: datetime, username: str, role: str, *, team_id: int | None = None
) -> int:
    """A bench user straight into the table (no password to hash: nobody signs in)."""
    return int(
        conn.execute(
            insert(User)
            .values(
                username=username,
                display_name=username,
                password_hash="!",
                role=role,
                team_id=team_id,
                locale="zh_CN",
                timezone="Asia/Shanghai",
                capacity=20,
                categories=[],
                active=True,
                created_at=now,
            )
            .returning(User.id)
        ).scalar_one()
    )


def vacuum_analyze(engine: Engine) -> None:
    """Fresh statistics (and a visibility map) after a bulk load, as autovacuum would leave it."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def utc_now() -> datetime:
    return datetime.now(UTC)
