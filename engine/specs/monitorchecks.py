"""Checks of monitors whose metric needs more than a window and levels (R-6.1).

A drop compares the window with the one before it, so it takes no baseline or filter; a stage
share counts how a record type's records ended (the calls abandoned while ringing: 1 − the
answer rate), so it names the type and stages that type closes in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.specs.economics import Path, Problem


def check_drop(problem: Problem, path: Path, data: Mapping[str, Any]) -> None:
    """A drop compares the window with the one before it (R-6.1): a share lost, 0–1."""
    for key in ("baseline", "where", "keywords", "by"):
        if key in data:
            problem((*path, key), f"{data['metric']} takes no {key}", f"remove {key}")
    if data.get("direction", "above") != "above":
        problem((*path, "direction"), "a drop rises as activity falls", "use above")


def check_stage_share(
    problem: Problem, path: Path, data: Mapping[str, Any], record_types: Mapping[str, Any]
) -> None:
    """`stage_share` needs `where: {record_type}` and `stages` that type closes in."""
    tid = (data.get("where") or {}).get("record_type")
    rtype = record_types.get(tid) if tid else None
    if rtype is None:
        problem(
            (*path, "where"),
            "stage_share counts the records of one type",
            "add `where: {record_type: <id>}` naming a record type of the pack",
        )
        return
    stages = data.get("stages") or []
    if not stages:
        problem((*path, "stages"), "stage_share needs the stages it counts", None)
    closing = [s.id for s in rtype.stages.values() if s.is_closed]
    for i, stage in enumerate(stages):
        if stage not in closing:
            problem(
                (*path, "stages", i),
                f"'{stage}' is not a closing stage of '{tid}'",
                f"name one of: {', '.join(closing)}",
            )
