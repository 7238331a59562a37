"""Injected clocks: the engine never reads the wall clock, so SLA scenarios run in virtual time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current time as a timezone-aware datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class VirtualClock:
    """A clock that only moves when told to: tests and `careloop simulate` step it."""

    def __init__(self, start: datetime) -> None:
        require_aware(start)
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("a virtual clock never goes back")
        self._now += delta
        return self._now

    def set(self, moment: datetime) -> datetime:
        require_aware(moment)
        if moment < self._now:
            raise ValueError(f"a virtual clock never goes back ({moment} < {self._now})")
        self._now = moment
        return self._now


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 with offset, or None: how times go into JSON history and messages."""
    return moment.isoformat() if moment is not None else None


def require_aware(moment: datetime) -> datetime:
    """Refuse naive datetimes: a time without a zone is a bug waiting for a timezone change."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: give a timezone offset")
    return moment
