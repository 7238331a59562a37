"""The public pages' rate limits (issue #23, item 5): fixed windows shared by every process.

Two limiters over one database (two web workers) count together; the 21st hit of a window is
refused with the seconds to wait; the next window starts again; subjects are stored hashed.
Redis, where one answers on 6379, counts the same way (INCR + EXPIRE).
"""

from __future__ import annotations

import socket
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from engine.access.ratelimit import DatabaseCounter, Limit, RateLimiter, RedisCounter, window_of
from engine.store.db import make_session_factory
from engine.store.models import RateLimitCounter
from engine.time.clock import VirtualClock

FORM = Limit("form.ip", 20, timedelta(minutes=1))


def test_the_21st_hit_in_a_minute_is_refused_across_two_workers(
    db_engine: Engine, clock: VirtualClock
) -> None:
    clock.set(window_of(FORM, clock.now())[0] + timedelta(seconds=15))
    one = RateLimiter(DatabaseCounter(make_session_factory(db_engine)), clock)
    two = RateLimiter(DatabaseCounter(make_session_factory(db_engine)), clock)
    verdicts = [(one if n % 2 else two).hit(FORM, "203.0.113.7") for n in range(20)]
    assert all(v.allowed for v in verdicts) and verdicts[-1].hits == 20
    refused = one.hit(FORM, "203.0.113.7")
    assert not refused.allowed and refused.hits == 21 and refused.retry_after == 45
    assert two.hit(FORM, "198.51.100.9").allowed  # another address has its own count
    clock.advance(timedelta(seconds=45))  # the next window
    fresh = two.hit(FORM, "203.0.113.7")
    assert fresh.allowed and fresh.hits == 1


def test_counters_hold_no_address_and_old_windows_go(
    db_engine: Engine, clock: VirtualClock
) -> None:
    factory = make_session_factory(db_engine)
    limiter = RateLimiter(DatabaseCounter(factory), clock)
    limiter.hit(FORM, "wang@example.com")
    clock.advance(timedelta(minutes=5))
    limiter.hit(FORM, "wang@example.com")
    with factory() as session:
        rows = session.scalars(select(RateLimitCounter)).all()
    assert len(rows) == 1  # the earlier window was deleted when the key was hit again
    assert "wang" not in rows[0].key and rows[0].key.startswith("form.ip:")


def test_a_limit_must_make_sense() -> None:
    with pytest.raises(ValueError):
        Limit("", 1, timedelta(minutes=1))
    with pytest.raises(ValueError):
        Limit("x", 0, timedelta(minutes=1))
    with pytest.raises(ValueError):
        Limit("x", 1, timedelta(0))


def redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not redis_answers(), reason="no Redis on 127.0.0.1:6379")
def test_redis_counts_the_same_way(clock: VirtualClock) -> None:
    limit = Limit(f"t{uuid.uuid4().hex[:8]}", 2, timedelta(minutes=1))
    limiter = RateLimiter(RedisCounter("redis://127.0.0.1:6379/0"), clock)
    assert [limiter.hit(limit, "x").allowed for _ in range(3)] == [True, True, False]
    clock.advance(timedelta(minutes=1))
    assert limiter.hit(limit, "x").allowed
