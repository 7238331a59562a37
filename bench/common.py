"""Shared bench plumbing: databases to measure on, medians of several runs, one printed row.

Every bench prints its figure, the baseline's figure measured in the same
process, and the ratio, so the numbers mean something on a noisy machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, Table, create_engine, text
from sqlalchemy.orm import DeclarativeBase

from engine.store.db import make_engine
from engine.store.migrate import upgrade
from ops.settings import configure_engine_keys, load

PG_ADMIN_URL = os.environ.get(
    "CARELOOP_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
ROOT = Path(__file__).resolve().parents[1]


def arguments(
    description: str,
    small: int,
    full: int,
    more: Callable[[argparse.ArgumentParser], None] | None = None,
) -> argparse.Namespace:
    """--n (default: the small size `make bench` uses), --full, --runs, --db, and the bench's
    own options (`more`)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--n", type=int, default=None, help=f"size (small {small}, full {full})")
    parser.add_argument("--full", action="store_true", help=f"use the full size ({full})")
    parser.add_argument("--runs", type=int, default=3, help="runs; the median is printed")
    parser.add_argument("--db", choices=["sqlite", "pg", "both"], default="both")
    if more is not None:
        more(parser)
    args = parser.parse_args()
    # A bench writes customers' personal data like the app does: with the configured keys
    # (`make bench` runs with CARELOOP_INSECURE_DEV=1, the public development keys).
    configure_engine_keys(load())
    args.n = args.n or (full if args.full else small)
    return args


def backends(choice: str) -> list[str]:
    return ["sqlite", "pg"] if choice == "both" else [choice]


@contextmanager
def database(kind: str) -> Iterator[Engine]:
    """A fresh migrated database: a SQLite file (WAL) or a PostgreSQL database of its own."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            engine = make_engine(f"sqlite:///{folder}/bench.db")
            upgrade(engine)
            try:
                yield engine
            finally:
                engine.dispose()
        return
    name = f"careloop_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def table_of(model: type[DeclarativeBase]) -> Table:
    """A model's table: SQLAlchemy types `__table__` as the wider `FromClause`."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def median_of(runs: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(runs))


def timed(action: Callable[[], object]) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


@dataclass(frozen=True)
class Row:
    """One printed line: what, on which database, ours, the baseline's, the ratio, the goal."""

    bench: str
    db: str
    unit: str
    ours: float
    baseline: float
    goal: str
    higher_is_better: bool = True

    @property
    def ratio(self) -> float:
        if self.higher_is_better:
            return self.ours / self.baseline if self.baseline else float("inf")
        return self.baseline / self.ours if self.ours else float("inf")

    def print(self) -> None:
        print(
            f"{self.bench:<34} {self.db:<7} ours {self.ours:>12,.1f} {self.unit:<12} "
            f"baseline {self.baseline:>12,.1f}  ratio {self.ratio:>7.2f}x  goal {self.goal}",
            flush=True,
        )


def wait_for(url: str, seconds: float = 60) -> None:
    """Until `url` answers 200 (a server the bench started), or fail saying which did not."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer in {seconds:.0f} s")


def process_cpu(pid: int) -> float | None:
    """CPU seconds (user and system) a process of this machine has used, from /proc; None when
    it cannot be read (gone, or another user's)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            after_name = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(after_name[11]) + int(after_name[12])) / os.sysconf("SC_CLK_TCK")


def processes_cpu(pids: Iterable[int]) -> float | None:
    """CPU seconds of all these processes together; None when one cannot be read."""
    spent = [process_cpu(pid) for pid in pids]
    return None if None in spent else sum(s for s in spent if s is not None)


def backend_cpu(engine: Engine) -> float | None:
    """CPU seconds of the PostgreSQL backends connected to the engine's database, from /proc:
    the pools' connections, which live as long as their pools. None on SQLite, or when the
    server is not a process of this machine."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        pids = conn.execute(
            text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        ).scalars()
        return processes_cpu(pids)
