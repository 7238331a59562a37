"""Problems of meaning in pack data, and the checks every part of the pack builder shares.

The builder notes a problem and carries on with a stand-in value rather than raising, so an
author sees every problem of a pack at once (like SpiffWorkflow's `WorkflowSpec.validate`).
Each problem has the path of the data it is about, which the loader maps to a line.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.specs.expressions import (
    Expression,
    ExpressionError,
    MessageTemplate,
    compile_expression,
    compile_template,
)
from engine.specs.pack import EXPRESSION_NAMES, TEMPLATE_NAMES, StageSelector, StageSpec
from engine.time.durations import Duration, DurationError, Offset, parse_duration, parse_offset

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class SpecProblem:
    """A problem of meaning at a path of the pack data."""

    path: Path
    message: str
    hint: str | None = None


def section(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """An optional mapping of the pack data; absent and empty (`key:` alone in YAML) alike."""
    return data.get(key) or {}


def entries(data: Mapping[str, Any], key: str) -> list[Any]:
    """An optional list of the pack data; absent and empty alike."""
    return data.get(key) or []


def suggest(name: str, known: Iterable[str]) -> str:
    """The hint for an unknown name: the closest known one, else all of them."""
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=1)
    return f"did you mean '{close[0]}'?" if close else f"known: {', '.join(known) or 'none'}"


class ProblemLog:
    """Notes problems; its checks return a value or None, noting why there is none."""

    def __init__(self) -> None:
        self.problems: list[SpecProblem] = []

    def problem(self, path: Path, message: str, hint: str | None = None) -> None:
        self.problems.append(SpecProblem(path, message, hint))

    def reference(self, path: Path, kind: str, name: str, known: Iterable[str]) -> bool:
        known = list(known)
        if name in known:
            return True
        self.problem(path, f"unknown {kind} '{name}'", suggest(name, known))
        return False

    def duration(self, path: Path, text: Any) -> Duration | None:
        try:
            return parse_duration(text)
        except DurationError as exc:
            self.problem(path, exc.message, exc.hint)
            return None

    def offset(self, path: Path, text: Any) -> Offset | None:
        try:
            return parse_offset(text)
        except DurationError as exc:
            self.problem(path, exc.message, exc.hint)
            return None

    def expression(
        self, path: Path, source: str | None, names: tuple[str, ...] = EXPRESSION_NAMES
    ) -> Expression | None:
        if source is None:
            return None
        try:
            return compile_expression(source, names)
        except ExpressionError as exc:
            self.problem(path, exc.message, exc.hint)
            return None

    def template(self, path: Path, source: str) -> MessageTemplate | None:
        try:
            return compile_template(source, TEMPLATE_NAMES)
        except ExpressionError as exc:
            self.problem(path, exc.message, exc.hint)
            return None

    def selector(
        self, path: Path, data: Mapping[str, Any] | None, stages: Mapping[str, StageSpec]
    ) -> StageSelector | None:
        if data is None:
            return None
        for i, sid in enumerate(data.get("stages", [])):
            self.reference((*path, "stages", i), "stage", sid, stages)
        return StageSelector(frozenset(data.get("stages", [])), frozenset(data.get("kinds", [])))
