"""How a pack answers its customers (issue #20): on which channel, through a gateway or not,
and when not to send (no SMS at night).

Pack data, not code or settings: which channel a customer who phoned is answered on, and
which hours are quiet, are a service desk's rules. The deployment only says where each
gateway listens (`CARELOOP_GATEWAYS`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import time

# The written channels answered through a gateway the team runs, unless the pack says others.
DEFAULT_GATEWAYS = ("sms", "wechat", "online_chat")
QUIET = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


@dataclass(frozen=True)
class QuietHours:
    """A daily window (in the pack's time zone) in which nothing goes out on a channel.

    `start` after `end` means the window spans midnight: 21:00-08:00.
    """

    start: time
    end: time

    def holds(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


@dataclass(frozen=True)
class AnsweringSpec:
    """`answering:` of a pack: the channel to answer a record's channel on, quiet hours by
    channel, and the channels whose replies go out through a gateway."""

    by_channel: dict[str, str] = field(default_factory=dict)
    quiet_hours: dict[str, QuietHours] = field(default_factory=dict)
    gateways: tuple[str, ...] = DEFAULT_GATEWAYS


def parse_quiet_hours(text: str) -> QuietHours | None:
    """`21:00-08:00` as a window; None when it is no pair of clock times or starts as it ends."""
    found = QUIET.match(text.strip())
    if found is None:
        return None
    hours_1, minutes_1, hours_2, minutes_2 = (int(part) for part in found.groups())
    if max(hours_1, hours_2) > 23 or max(minutes_1, minutes_2) > 59:
        return None
    start, end = time(hours_1, minutes_1), time(hours_2, minutes_2)
    return None if start == end else QuietHours(start, end)
