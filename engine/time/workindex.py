"""A calendar's working time as sorted UTC intervals with prefix sums (R-2.8, issue #24 item 3).

Every intake, triage and resume asks for a deadline per SLA clock, and the escalation ladder
more, so `BusinessCalendar.add` sits on every write path. Walking days (or hours) to answer it
costs a holiday lookup per day crossed; here each local year's working intervals are computed
once, joined with their neighbours into one array of starts and ends (POSIX seconds, so daylight
saving needs no special case) and cumulative working seconds. A deadline is then one binary search
for the start's position and one for the target's, whatever the span: across days, New Year,
Spring Festival or a 25-hour autumn day alike.

The index is immutable: a calendar swaps in a wider one when asked about a year outside it, so
threads reading the old one never see a half-built array.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Iterable
from typing import NamedTuple

Interval = tuple[float, float]  # [start, end) in POSIX seconds


class WorkIndex(NamedTuple):
    """Merged working intervals of the local years `years`, which span [lo, hi) in POSIX seconds."""

    years: range
    lo: float  # local midnight of January 1 of the first year
    hi: float  # local midnight of January 1 of the year after the last
    starts: list[float]
    ends: list[float]
    cum: list[float]  # working seconds before each interval, then the total

    def covers(self, instant: float) -> bool:
        """Whether `instant` lies within the indexed years, so `position` may be asked for it."""
        return self.lo <= instant < self.hi

    def position(self, instant: float) -> float:
        """Working seconds from the start of `years` to `instant`, which must lie within them."""
        i = bisect.bisect_right(self.starts, instant) - 1
        return 0.0 if i < 0 else self.cum[i] + min(instant, self.ends[i]) - self.starts[i]

    def instant(self, position: float) -> float:
        """The first instant at `position` > 0: an interval's end rather than the next start."""
        # cum[j] < position <= cum[j + 1]; min() absorbs a last-ulp overshoot of the total
        j = min(bisect.bisect_left(self.cum, position), len(self.starts)) - 1
        return self.starts[j] + (position - self.cum[j])


EMPTY = WorkIndex(range(0), math.inf, -math.inf, [], [], [0.0])


def build(years: range, lo: float, hi: float, intervals: Iterable[Interval]) -> WorkIndex:
    """The index of intervals given in order; touching (24x7 days, New Year's midnight) or
    overlapping ones (a wall-clock range across a daylight-saving gap) are merged."""
    merged: list[Interval] = []
    for a, b in intervals:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    starts, ends = [a for a, _ in merged], [b for _, b in merged]
    cum = list(itertools.accumulate((b - a for a, b in merged), initial=0.0))
    return WorkIndex(years, lo, hi, starts, ends, cum)
