"""Events of the desk's record page (issue #21, item 2): fields edited, a record handed to a
team, tags and followers changed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.events.base import Event


@dataclass(frozen=True)
class FieldsEdited(Event):
    """Someone corrected the record's fields: {field: [old, new]}, personal ones masked."""

    values: Mapping[str, list[Any]] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return "fields.edited"

    def changes(self) -> dict[str, Any]:
        return {name: list(pair) for name, pair in self.values.items()}


@dataclass(frozen=True)
class TeamAssigned(Event):
    """The record went to a team's queue: its department is the team's, its owner nobody
    until the team's rule or a member takes it (R-2.2, R-2.3)."""

    team: str
    previous: str | None
    department: str | None
    title: str = ""  # the department's title in the pack, as the timeline names the team

    @property
    def kind(self) -> str:
        return "team.assigned"

    def changes(self) -> dict[str, Any]:
        return {
            "team": self.team,
            "department": [self.previous, self.department],
            "title": self.title,
        }


@dataclass(frozen=True)
class TagsChanged(Event):
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return "tags.changed"

    def changes(self) -> dict[str, Any]:
        return {"added": list(self.added), "removed": list(self.removed)}


@dataclass(frozen=True)
class FollowersChanged(Event):
    """Who follows the record now: usernames added and removed."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return "followers.changed"

    def changes(self) -> dict[str, Any]:
        return {"added": list(self.added), "removed": list(self.removed)}
