"""Mapped objects filled the way the ORM fills the ones it loads: their values put in place,
no attribute events (issue #24).

An intake builds a record and its SLA clocks as objects because callers use them, but writes
them as plain rows (`records.intakerows`) and then joins them to the session as loaded. The
declarative constructor sets each value through the attribute instrumentation (history, a
backref, an event per attribute): for about forty values a record and its clocks that was a
fifth of a batch intake's CPU, for history that `make_transient_to_detached` then discards.
Here the object gets its instance state as a loaded row does and its values go straight into
its `__dict__`. Only for objects in that path: anything flushed by the unit of work needs the
events to know what changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy.orm.instrumentation import manager_of_class

T = TypeVar("T")


def row_object(cls: type[T], values: Mapping[str, Any]) -> T:
    """A transient `cls` holding `values` (columns, or the object a many-to-one names) without
    events. A collection is set with `attributes.set_committed_value`, which makes the list the
    ORM's own; plain mutable values (JSON) should go through the attribute to be tracked."""
    instance: T = manager_of_class(cls).new_instance()
    instance.__dict__.update(values)
    return instance
