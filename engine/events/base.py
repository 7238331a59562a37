"""The base of every history event: a kind, its changes and, for a stage, where from."""

from __future__ import annotations

from typing import Any


class Event:
    """An outcome worth a line in a record's history."""

    @property
    def kind(self) -> str:
        raise NotImplementedError

    def changes(self) -> dict[str, Any]:
        """The history row's `changes`: what the timeline and webhooks show of the event."""
        return {}

    @property
    def transition(self) -> str | None:
        return None

    @property
    def from_stage(self) -> str | None:
        return None

    @property
    def to_stage(self) -> str | None:
        return None
