"""Rate limits for the public pages (issue #23): fixed windows every process counts together.

A limit allows `count` hits of one subject (an address, a contact) per `window`. The count lives
in the database (one upsert per hit, `INSERT … ON CONFLICT DO UPDATE … RETURNING`, the same on
SQLite and PostgreSQL) or, when `CARELOOP_REDIS_URL` is set, in Redis (`INCR` + `EXPIRE`), so
two web workers or two hosts refuse the 21st post together, not each after its own twenty.
Subjects are hashed before they are stored: the counter table holds no address nor phone.
Windows are aligned to the epoch and read from the injected clock, so tests run in virtual time.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from engine.store import dialect
from engine.store.models import RateLimitCounter
from engine.time.clock import Clock

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NAME_MAX = 30  # the key is the name, a colon and 64 hex digits: within the column's 96


@dataclass(frozen=True)
class Limit:
    """At most `count` hits of one subject per `window`; `name` keeps limits apart."""

    name: str
    count: int
    window: timedelta

    def __post_init__(self) -> None:
        if not 0 < len(self.name) <= NAME_MAX or self.count < 1:
            raise ValueError(f"a limit needs a name of 1–{NAME_MAX} characters and a count ≥ 1")
        if self.window < timedelta(seconds=1):
            raise ValueError("a limit's window is at least one second")


@dataclass(frozen=True)
class Verdict:
    """What one hit came to: allowed or not, the hits so far, seconds until the window ends."""

    allowed: bool
    hits: int
    retry_after: int


class Counter(Protocol):
    """Where hits are counted: `add` one to `key` in its window and return the new total."""

    def add(self, key: str, start: datetime, end: datetime, now: datetime) -> int: ...


class DatabaseCounter:
    """Counts in `rate_limit_counters`, each hit its own short transaction."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._sessions = session_factory

    def add(self, key: str, start: datetime, end: datetime, now: datetime) -> int:
        with self._sessions() as session:
            table = RateLimitCounter.__table__
            insert = dialect.insert(session, table).values(
                key=key, window_start=start, hits=1, expires_at=end
            )
            upsert = insert.on_conflict_do_update(
                index_elements=[table.c.key, table.c.window_start],
                set_={"hits": table.c.hits + 1},
            ).returning(table.c.hits)
            hits = int(session.execute(upsert).scalar_one())
            if hits == 1:  # a new window for this key: its past windows are over
                session.execute(
                    delete(RateLimitCounter).where(
                        RateLimitCounter.key == key, RateLimitCounter.expires_at <= now
                    )
                )
            session.commit()
            return hits


class RedisCounter:
    """Counts in Redis: `INCR` the window's key, `EXPIRE` it when the window ends."""

    def __init__(self, url: str, client: Any = None) -> None:
        if client is None:
            import redis  # the `redis` extra: only a deployment that sets a URL needs it

            client = redis.Redis.from_url(url)
        self._client = client

    def add(self, key: str, start: datetime, end: datetime, now: datetime) -> int:
        name = f"careloop:rl:{key}:{int(start.timestamp())}"
        pipe = self._client.pipeline()
        pipe.incr(name)
        pipe.expire(name, max(1, int((end - now).total_seconds()) + 1))
        hits, _ = pipe.execute()
        return int(hits)


def subject_key(limit: Limit, subject: str) -> str:
    """The stored key: the limit's name and a hash of the subject (never the subject itself)."""
    digest = hashlib.sha256(f"{limit.name}\0{subject}".encode()).hexdigest()
    return f"{limit.name}:{digest}"


def window_of(limit: Limit, now: datetime) -> tuple[datetime, datetime]:
    """The fixed window `now` falls in: [start, end), aligned to the epoch."""
    size = limit.window
    start = EPOCH + ((now - EPOCH) // size) * size
    return start, start + size


class RateLimiter:
    """Counts hits of subjects against limits; the web's `web.ratelimit` answers 429 with it."""

    def __init__(self, counter: Counter, clock: Clock) -> None:
        self.counter = counter
        self.clock = clock

    def hit(self, limit: Limit, subject: str) -> Verdict:
        """Count one hit of `subject`; refused once the window holds more than `limit.count`."""
        now = self.clock.now()
        start, end = window_of(limit, now)
        hits = self.counter.add(subject_key(limit, subject), start, end, now)
        retry_after = max(1, int((end - now).total_seconds() + 0.999))
        return Verdict(hits <= limit.count, hits, retry_after)


def limiter_for(
    session_factory: sessionmaker[Session], clock: Clock, redis_url: str | None
) -> RateLimiter:
    """Redis when a URL is configured (several hosts, no database write per hit), else the
    database every process already shares."""
    counter: Counter = RedisCounter(redis_url) if redis_url else DatabaseCounter(session_factory)
    return RateLimiter(counter, clock)
