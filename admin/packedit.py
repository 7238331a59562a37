"""One structured save of the pack page: the files as edited and which input edits which path.

A save turns submitted values into in-place edits (`workflows.edit`) of the file
that defines them. It also records which data path each input edits, so the
pack's validation errors (which carry data paths) are shown next to the input
that caused them (`field_of`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from workflows.edit import Path, delete_key, edit_sequence, set_value
from workflows.loader import LoadedPack


@dataclass
class Edit:
    """Files as edited, which input edits which data path, and inputs that could not be read."""

    files: dict[str, str]
    pack: LoadedPack
    where: dict[Path, str] = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=dict)

    def set(self, path: Path, value: object) -> None:
        owner = self.pack.owner(path)
        self.files[owner] = set_value(self.files[owner], owner, path, value)

    def delete(self, path: Path) -> None:
        owner = self.pack.owner(path)
        self.files[owner] = delete_key(self.files[owner], owner, path)

    def sequence(self, path: Path, plan: list[object]) -> None:
        owner = self.pack.owner(path)
        self.files[owner] = edit_sequence(self.files[owner], owner, path, plan)

    def merge(self, path: Path, old: Mapping[str, object], new: Mapping[str, object]) -> None:
        """Edit a mapping key by key, so the text of unchanged entries stays as written."""
        for key in old:
            if key not in new:
                self.delete((*path, key))
        for key, value in new.items():
            if key not in old or old[key] != value:
                self.set((*path, key), value)

    def problem(self, name: str, message: str) -> None:
        self.problems.setdefault(name, []).append(message)


def value_key(path: Path) -> str:
    """The name of the input that edits the single value at `path` (`v:a|b|0`)."""
    return "v:" + "|".join(map(str, path))


def path_of(name: str) -> Path:
    """The data path a `v:`/`sla:` input edits: the inverse of `value_key`."""
    text = name.split(":", 1)[1]
    return tuple(int(p) if p.isdigit() else p for p in text.split("|"))


def value_at(data: Any, path: Path) -> Any:
    """The value at `path` in the pack's data, or None where the path leads nowhere."""
    for step in path:
        if isinstance(data, dict):
            data = data.get(str(step))
        elif isinstance(data, list) and isinstance(step, int) and step < len(data):
            data = data[step]
        else:
            return None
    return data


def input_text(value: object) -> str:
    """A value as its input shows it: empty for a missing value."""
    return "" if value is None else str(value)


def field_of(where: Mapping[Path, str], path: Path) -> str | None:
    """The input whose data path is the longest prefix of an error's path."""
    for end in range(len(path), 0, -1):
        if tuple(path[:end]) in where:
            return where[tuple(path[:end])]
    return None
