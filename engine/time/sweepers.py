"""Sweepers side by side in one process (issue #24 item 2).

A batch of timers or contacts is about 60 % Python and 40 % waiting on PostgreSQL; two
threads, each with its own session, overlap one's wait with the other's work and share the
due rows as separate processes do (`FOR … SKIP LOCKED`, a unique key per effect), so a
single scheduler uses both cores (one-process sweep of 20,000 due, quiet: 2,360-2,390 →
3,046-3,380 timers/s). SQLite has one writer: one sweeper there.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

SWEEPERS = 2
Result = TypeVar("Result")


class Held:
    """A sweeper's due rows passed over because another transaction held their record.

    They are skipped while the sweeper has others to take, then tried again when nothing
    else is left, as long as the last try did something: the sweeper that held their
    records may have found nothing left while it had them, and ended. Each try must make
    progress, so the sweep still ends.
    """

    def __init__(self) -> None:
        self.ids: set[int] = set()
        self._tried_at: int | None = None  # done when the held ones were last tried again

    def try_again(self, done: int) -> bool:
        """Whether to try the held ones again, forgetting them, with `done` rows done so far;
        False when there are none or the last try did nothing: the sweep ends."""
        if not self.ids or self._tried_at == done:
            return False
        self.ids.clear()
        self._tried_at = done
        return True


def how_many(session_factory: sessionmaker[Session], wanted: int | None = None) -> int:
    """`wanted` (else `SWEEPERS`) on PostgreSQL, 1 on SQLite, which has one writer.

    Two threads let one process use both cores of a two-core machine; where several
    scheduler processes already fill the cores, more threads only contend (two processes
    caught up 200,000 late 2-11 % faster with one thread each than with two, in each of five
    alternated pairs), so the scheduler's setting (CARELOOP_SWEEPERS) says how many."""
    with session_factory() as session:
        if session.get_bind().dialect.name != "postgresql":
            return 1
    return wanted or SWEEPERS


def side_by_side(count: int, sweep: Callable[[], Result]) -> list[Result]:
    """`sweep` run by `count` threads at once (in this thread if one); each one's result."""
    if count == 1:
        return [sweep()]
    with ThreadPoolExecutor(count, thread_name_prefix="sweeper") as pool:
        futures = [pool.submit(sweep) for _ in range(count)]
        return [future.result() for future in futures]
