"""A calendar's working time as sorted UTC intervals with prefix sums (R-2.8, issue #24 item 3).

Every intake, triage and resume asks for a deadline per SLA clock, and the escalation ladder
more, so `BusinessCalendar.add` sits on every write path. Walking days (or hours) to answer it
costs a holiday lookup per day crossed; here each local year's working intervals are computed
once, joined with their neighbours into one array of starts and cumulative working seconds
(POSIX seconds, so daylight saving needs no special case). A deadline is then one binary search
for the start's position and one for the target's, whatever the span: across days, New Year,
Spring Festival or a 25-hour autumn day alike.

Per interval two constants are kept so that each search is followed by one comparison and one
addition rather than four lookups: `cap`, where the interval's working time stops growing (its
end), and `base`, what to add to an instant inside it to get its position. Their first entry
serves instants before the first interval (position 0), so no search result needs a test.

The target's search starts at the start's interval k and looks first among the next `NEAR`
(a deadline of a few days is rarely further): 3 comparisons instead of about 11, then the
rest of the array if the target lies beyond. This is exact, not a guess: interval bounds are
whole POSIX seconds, so `base[k]` is exact and a start's position is at least `cum[k - 1]`;
a target above the position is then above every `cum` before k, where a full search would
not stop either (issue #24 item 3).

The index is immutable: a calendar swaps in a wider one when asked about a year outside it, so
threads reading the old one never see a half-built array.
"""

from __future__ import annotations

import itertools
import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from datetime import timezone
from typing import NamedTuple
from zoneinfo import ZoneInfo

Interval = tuple[float, float]  # [start, end) in POSIX seconds
# tzinfo types whose utcoffset() is never None, so a start with one is aware without asking
ALWAYS_AWARE = frozenset({ZoneInfo, timezone})
NEAR = 8  # intervals after the start's searched first for a target: days of working hours
PAD = (math.inf,) * NEAR  # ends `cum`, so a window of NEAR from any interval stays inside it


# What `BusinessCalendar.add` and `add_each` read, in one plain tuple: unpacking a NamedTuple
# takes the generic path (86 ns for eight fields), a tuple the specialised one (19 ns), on a
# deadline of about 1 us (CPython 3.11, issue #24 item 3)
Hot = tuple[float, float, list[float], list[float], list[float], list[float], float]


class WorkIndex(NamedTuple):
    """Merged working intervals of the local years `years`, which span [lo, hi) in POSIX seconds.

    With k = bisect_right(starts, x) for an x in [lo, hi), x's working position is
    min(x, cap[k]) + base[k]; a position p in (0, total] is reached at p - base[m] with
    m = bisect_left(cum, p). `BusinessCalendar.add` and `add_each` spell out the same arithmetic,
    so both answer alike to the last bit.
    """

    years: range
    lo: float  # local midnight of January 1 of the first year
    hi: float  # local midnight of January 1 of the year after the last
    starts: list[float]
    cum: list[float]  # working seconds before each interval, the total, then NEAR times +inf
    cap: list[float]  # by k: lo, then the end of interval k - 1
    base: list[float]  # by k: -lo, then cum minus start of interval k - 1
    total: float  # working seconds in `years`
    hot: Hot  # lo, hi, starts, cum, cap, base, total again, as a plain tuple: see `Hot`

    def covers(self, instant: float) -> bool:
        """Whether `instant` lies within the indexed years, so `position` may be asked for it."""
        return self.lo <= instant < self.hi

    def position(self, instant: float) -> float:
        """Working seconds from the start of `years` to `instant`, which must lie within them."""
        k = bisect_right(self.starts, instant)
        cap = self.cap[k]
        return (instant if instant < cap else cap) + self.base[k]

    def instant(self, position: float) -> float:
        """The first instant at `position` > 0: an interval's end rather than the next start."""
        # cum[m - 1] < position <= cum[m]; min() absorbs a last-ulp overshoot of the total
        m = min(bisect_left(self.cum, position), len(self.starts))
        return position - self.base[m]


def _index(
    years: range,
    lo: float,
    hi: float,
    arrays: tuple[list[float], list[float], list[float], list[float]],
    total: float,
) -> WorkIndex:
    """A WorkIndex with its `hot` tuple made from the same objects."""
    starts, cum, cap, base = arrays
    return WorkIndex(
        years, lo, hi, starts, cum, cap, base, total, (lo, hi, starts, cum, cap, base, total)
    )


EMPTY = _index(range(0), math.inf, -math.inf, ([], [0.0, *PAD], [math.inf], [0.0]), 0.0)


def build(years: range, lo: float, hi: float, intervals: Iterable[Interval]) -> WorkIndex:
    """The index of intervals given in order; touching (24x7 days, New Year's midnight) or
    overlapping ones (a wall-clock range across a daylight-saving gap) are merged."""
    merged: list[Interval] = []
    for a, b in intervals:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    starts = [a for a, _ in merged]
    cum = list(itertools.accumulate((b - a for a, b in merged), initial=0.0))
    total = cum[-1]
    cum.extend(PAD)
    cap = [lo, *(b for _, b in merged)]
    base = [-lo, *(before - a for before, (a, _) in zip(cum, merged, strict=False))]
    return _index(years, lo, hi, (starts, cum, cap, base), total)
