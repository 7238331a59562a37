"""Per-process caches of rows that rarely change: pack versions, API tokens, webhook
subscriptions (issue #24 item 1).

Reading them on every request was a third of an API write's time. A cache keeps what it read
for at most `ttl` seconds, so a change made by another process (another gunicorn worker, the
CLI) shows within that; a change made in this process empties the caches of its table when
its transaction commits, so here it shows at once. The watch is on the engine's statements
(`after_execute`), not on ORM objects, so bulk updates and Core inserts count too; only raw
SQL text goes unseen, and the ttl bounds that.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Delete, Engine, Insert, TextClause, Update, event

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_TOUCHED = "careloop.rowcache.touched"


class RowCache(Generic[K, V]):
    """Values by key, each read once per `ttl` seconds and dropped when `table` changes here."""

    def __init__(
        self, table: str, ttl: float, *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.table = table
        self.ttl = ttl
        self._monotonic = monotonic
        self._values: dict[K, tuple[float, V]] = {}
        self._lock = threading.Lock()
        self._generation = 0  # bumped by each change, so a read racing one is not kept
        _watch(self)

    def get(self, key: K, load: Callable[[], V]) -> V:
        """The cached value, or `load()`'s, kept from now on until the ttl or a change.

        None is not kept: unknown keys (a guessed token) would fill the memory otherwise."""
        now = self._monotonic()
        with self._lock:
            hit = self._values.get(key)
            generation = self._generation
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        value = load()
        with self._lock:
            if value is not None and generation == self._generation:  # none changed meanwhile
                self._values[key] = (now, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._generation += 1


_caches: dict[str, list[RowCache[Any, Any]]] = {}
_registry_lock = threading.Lock()


def _watch(cache: RowCache[Any, Any]) -> None:
    with _registry_lock:
        _caches.setdefault(cache.table, []).append(cache)


def changed(table: str) -> None:
    """Empty this process's caches of `table` (its rows changed)."""
    for cache in list(_caches.get(table, ())):
        cache.clear()


@event.listens_for(Engine, "after_execute")
def _note_write(conn: Connection, clause: Any, *_args: Any) -> None:
    """Remember which watched tables a connection wrote to, and drop their caches at once, so
    a read in the meantime does not keep the old rows past the commit."""
    names: set[str]
    if isinstance(clause, Insert | Update | Delete):
        names = {str(getattr(clause.table, "name", ""))} & set(_caches)
    elif isinstance(clause, TextClause) and clause.text.lstrip()[:8].upper() == "TRUNCATE":
        names = set(_caches)  # a restore or a test's clean slate: every table may have changed
    else:
        return
    for name in names:
        conn.info.setdefault(_TOUCHED, set()).add(name)
        changed(name)


@event.listens_for(Engine, "commit")
@event.listens_for(Engine, "rollback")
def _on_end(conn: Connection) -> None:
    """At the end of a transaction that wrote, drop again what was read meanwhile: after a
    commit the rows are new, after a rollback what the transaction itself read is gone. A
    connection the server dropped has lost its notes (asking raises): all are dropped then."""
    if conn.invalidated:
        for name in list(_caches):
            changed(name)
        return
    for name in conn.info.pop(_TOUCHED, ()):
        changed(name)
