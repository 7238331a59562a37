"""Row 1: intake throughput, records created through the engine per second, batch by batch.

Each record goes through `engine.records.create_records`, the API's intake for a batch: field
validation, the customer looked up (or created on first contact), history, SLA clocks
with their deadlines on the business calendar, and the timers; 500 records share one
unit of work, as a channel importer would send them. The baseline writes the very same
`records` rows (read back from the engine's database, same columns and values) with a
SQLAlchemy Core `executemany`, in the same batches, into the same kind of fresh database:
the floor any ORM intake pays for its main table, so the ratio says how much of the
engine's time goes to the rest. For scale, a second line gives the same records with
every row they bring (history, clocks, timers, first-contact customers) by Core
executemany: the floor for the engine's whole write set. The third (issue #24 item 4) is
the database's own floor: the very statements and values of that whole-write-set Core run,
sent by the driver alone (sqlite3 / psycopg `executemany`, bench/floor.py) in the same run,
so the ratio says how close the engine comes to what the database allows.

    python -m bench.bench_intake [--n 2000] [--full] [--runs 3] [--db both|sqlite|pg]
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, insert, select

from bench.common import ROOT, Row, arguments, backends, database, table_of, timed
from bench.data import CustomerShape, Generator
from bench.floor import record, replay
from engine.customers.profiles import tier_rank
from engine.records import intake
from engine.records.intake import NewRecord
from engine.records.versions import PackSource, latest_version
from engine.services import Services
from engine.store.db import make_session_factory
from engine.store.models import Customer, Record, RecordEvent, SlaClock, Timer
from engine.time.clock import VirtualClock
from workflows.validate import checked_source

SMALL, FULL = 2_000, 100_000
BATCH = 500
PACK = "after_sales"
# A Monday morning in Shanghai; the intakes arrived over the two weeks before.
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
GOAL = 0.25
RECORDS = table_of(Record)
CUSTOMERS = table_of(Customer)
# What an intake writes besides the record (and, on first contact, its customer).
CHILDREN = (table_of(RecordEvent), table_of(SlaClock), table_of(Timer))
WRITTEN = (CUSTOMERS, RECORDS, *CHILDREN)
Written = dict[str, list[dict[str, Any]]]  # table name: rows, by id


def seed_customers(engine: Engine, customers: Sequence[CustomerShape]) -> None:
    """The customers the CRM already knows (with their tiers), so repeat callers are found."""
    if not customers:
        return
    with engine.begin() as conn:
        conn.execute(
            insert(CUSTOMERS),
            [
                {
                    "number": c.number,
                    "name": c.name,
                    "contact": c.contact,
                    "tier": c.tier,
                    "created_at": NOW,
                }
                for c in customers
            ],
        )


def create_in_batches(services: Services, news: Sequence[NewRecord], batch: int) -> None:
    """One unit of work per batch: the pack version is looked up once, like a bulk importer."""
    for first in range(0, len(news), batch):
        with services.uow() as uow:
            version = latest_version(uow.session, PACK)
            spec = services.specs.of(version)
            intake.create_records(
                uow.session, spec, version, news[first : first + batch], actor="bench", now=NOW
            )
            uow.commit()


def measure_ours(
    kind: str, source: PackSource, known: Sequence[CustomerShape], news: Sequence[NewRecord]
) -> tuple[float, Written]:
    """Records/s through the engine on a fresh database; also every row it wrote, by table,
    for the baselines to insert the same ones."""
    with database(kind) as engine:
        services = Services(make_session_factory(engine), VirtualClock(NOW))
        services.publish(source, by="bench")
        seed_customers(engine, known)
        elapsed = timed(lambda: create_in_batches(services, news, BATCH))
        with engine.connect() as conn:
            written = {
                table.name: [dict(r._mapping) for r in conn.execute(select(table).order_by("id"))]
                for table in WRITTEN
            }
    return len(news) / elapsed, written


def measure_core(
    kind: str,
    source: PackSource,
    written: Written,
    known: int,
    *,
    everything: bool,
) -> float:
    """Records/s of Core executemany of the engine's own rows into a fresh database, one
    transaction per batch. Without `everything`: the `records` rows alone, ids left to the
    database (the issue's baseline). With it: each batch's records and every row they
    brought, new customers first, ids kept so the rows still point at each other (the
    floor for the engine's whole write set). The `known` customers are there beforehand."""
    with database(kind) as engine:
        prepare(engine, source, written, known, everything=everything)
        write = all_rows(engine, written, known) if everything else records_only(engine, written)
        return len(written[RECORDS.name]) / timed(write)


def measure_driver(kind: str, source: PackSource, written: Written, known: int) -> float:
    """Records/s of the driver alone (sqlite3 / psycopg `executemany`) sending the very
    statements and values of the whole-write-set Core baseline, batch by batch: recorded on
    one fresh database, replayed on another (bench/floor.py). The database's own floor."""
    with database(kind) as engine:
        prepare(engine, source, written, known, everything=True)
        transactions = record(engine, all_rows(engine, written, known))
    with database(kind) as engine:
        prepare(engine, source, written, known, everything=True)
        return len(written[RECORDS.name]) / replay(engine, transactions)


def prepare(
    engine: Engine, source: PackSource, written: Written, known: int, *, everything: bool
) -> None:
    """The published pack and the customers the rows point at: all of them for the records
    alone, the `known` ones for the whole write set (which adds the new ones itself)."""
    Services(make_session_factory(engine), VirtualClock(NOW)).publish(source, by="bench")
    customers = written[CUSTOMERS.name]  # by id: the seeded ones first
    with engine.begin() as conn:
        conn.execute(insert(CUSTOMERS), customers[:known] if everything else customers)


def records_only(engine: Engine, written: Written) -> Callable[[], None]:
    plain = [{k: v for k, v in row.items() if k != "id"} for row in written[RECORDS.name]]

    def write() -> None:
        for first in range(0, len(plain), BATCH):
            with engine.begin() as conn:
                conn.execute(insert(RECORDS), plain[first : first + BATCH])

    return write


def all_rows(engine: Engine, written: Written, known: int) -> Callable[[], None]:
    rows = written[RECORDS.name]
    customers = written[CUSTOMERS.name]
    by_id = {c["id"]: c for c in customers}
    children = {table.name: _group(written[table.name], "record_id") for table in CHILDREN}

    def write() -> None:
        customer_ids = {c["id"] for c in customers[known:]}
        for first in range(0, len(rows), BATCH):
            batch = rows[first : first + BATCH]
            new = {r["customer_id"] for r in batch} & customer_ids
            customer_ids.difference_update(new)
            with engine.begin() as conn:
                if new:
                    conn.execute(insert(CUSTOMERS), [by_id[c] for c in sorted(new)])
                conn.execute(insert(RECORDS), batch)
                for table in CHILDREN:
                    own = children[table.name]
                    conn.execute(insert(table), [c for r in batch for c in own[r["id"]]])

    return write


def _group(rows: Sequence[dict[str, Any]], key: str) -> dict[int, list[dict[str, Any]]]:
    grouped: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row[key], []).append(row)
    return grouped


def main() -> None:
    args = arguments(__doc__.splitlines()[0], SMALL, FULL)
    source = checked_source(ROOT / "workflows" / PACK)
    data = Generator()
    known = data.customers(args.n // 2)
    intakes = data.intakes(args.n, NOW, known=known)
    news = [intake.new_record() for intake in intakes]
    vips = sum(tier_rank(c.tier) == 0 for c in known)
    print(
        f"# intake: {args.n:,} records in batches of {BATCH}, {len(known):,} known customers "
        f"({vips:,} served first), median of {args.runs} runs",
        flush=True,
    )
    for kind in backends(args.db):
        ours, baseline, floor, driver = [], [], [], []
        for _ in range(args.runs):
            rate, written = measure_ours(kind, source, known, news)
            ours.append(rate)
            baseline.append(measure_core(kind, source, written, len(known), everything=False))
            floor.append(measure_core(kind, source, written, len(known), everything=True))
            driver.append(measure_driver(kind, source, written, len(known)))
        Row(
            f"intake create_records {args.n:,}",
            kind,
            "records/s",
            statistics.median(ours),
            statistics.median(baseline),
            f">= {GOAL}x Core executemany",
        ).print()
        rows = (sum(len(written[t.name]) for t in WRITTEN) - len(known)) / args.n
        print(
            f"#   for scale: with all {rows:.2f} rows a record brings (customer on first "
            f"contact, history, clocks, timers), Core executemany does "
            f"{statistics.median(floor):,.1f} records/s; "
            f"ours is {statistics.median(ours) / statistics.median(floor):.2f}x of that",
            flush=True,
        )
        Row(
            f"intake vs driver floor {args.n:,}",
            kind,
            "records/s",
            statistics.median(ours),
            statistics.median(driver),
            "- (the database's own floor)",
        ).print()
        print(
            f"#   driver floor: the same {rows:.2f} rows a record, the same statements and "
            f"values, by the driver's executemany alone; Core executemany reaches "
            f"{statistics.median(floor) / statistics.median(driver):.2f}x of it",
            flush=True,
        )


if __name__ == "__main__":
    main()
