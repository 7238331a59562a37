"""The survivor's side of a merge (issue #21): the duplicate's side is its closing StageEntered."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.events.base import Event


@dataclass(frozen=True)
class RecordsMerged(Event):
    """Record `merged` was merged into this one; `messages` of its thread moved here."""

    merged: int
    messages: int

    @property
    def kind(self) -> str:
        return "record.merged"

    def changes(self) -> dict[str, Any]:
        return {"merged": self.merged, "messages": self.messages}
