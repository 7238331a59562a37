"""Records and their SLA clocks as plain values, for paths that work on a batch of them.

A sweep batch reads a few columns of each record and clock, changes fewer, and writes
the changes back itself, one statement per table. Building ORM instances for it
(identity map, instrumented attributes, a `selectin` load of the clocks) was the largest
share of a batch's time, so the batch reads rows into these instead. Functions that
only read a record or a clock (`sla.nearest_deadline`, `outbox.message_rows`,
`webhooks.hooks_for`) take either form: `RecordView` and `ClockView`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.store.models import Record, SlaClock


@dataclass(slots=True)
class ClockRow:
    """The columns of an SLA clock that firing its timers reads or changes."""

    id: int
    record_id: int
    target: str
    calendar: str
    working: bool
    running_since: datetime | None
    warning_at: datetime | None
    deadline: datetime | None
    warned_at: datetime | None
    met_at: datetime | None
    breached_at: datetime | None


@dataclass(slots=True)
class RecordRow:
    """The columns of a record that firing its timers reads or changes, and its clocks."""

    id: int
    pack_version_id: int
    pack: str
    record_type: str
    stage: str
    is_open: bool
    priority: str
    priority_rank: int
    channel: str | None
    category: str | None
    department: str | None
    assignee: str | None
    external_id: str | None
    fields: dict[str, Any]
    private_fields: dict[str, Any] | None  # decrypted on read (`engine.records.personal`)
    next_deadline: datetime | None
    clocks: list[ClockRow] = field(default_factory=list)


RecordView = Record | RecordRow
ClockView = SlaClock | ClockRow
