"""Events other areas report on a record: customers/, insight/, knowledge/."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.events.base import Event


@dataclass(frozen=True)
class SatisfactionAnswered(Event):
    """The customer answered the satisfaction survey (R-5)."""

    score: int
    via: str
    nps: int | None = None
    text: str | None = None

    @property
    def kind(self) -> str:
        return "satisfaction.answered"

    def changes(self) -> dict[str, Any]:
        changes: dict[str, Any] = {"score": self.score, "via": self.via}
        if self.nps is not None:
            changes["nps"] = self.nps
        if self.text:
            changes["text"] = self.text
        return changes


@dataclass(frozen=True)
class WarningEscalated(Event):
    """An early warning's level rose while its response record is open (R-6)."""

    old_level: str | None
    level: str
    text: str

    @property
    def kind(self) -> str:
        return "warning.escalated"

    def changes(self) -> dict[str, Any]:
        return {"level": [self.old_level, self.level], "text": self.text}


@dataclass(frozen=True)
class KnownProblemLinked(Event):
    """The record was said to be an instance of a known problem."""

    problem: int
    title: str

    @property
    def kind(self) -> str:
        return "known_problem.linked"

    def changes(self) -> dict[str, Any]:
        return {"known_problem": self.problem, "title": self.title}
