"""Checks of monitors whose metric needs more than a window and levels (R-6.1).

A drop compares the window with the one before it, so it takes no baseline or filter; a stage
share counts how a record type's records ended (the calls abandoned while ringing: 1 − the
answer rate), so it names the type and stages that type closes in; a stage duration measures
the time records stay in stages (a call's time in `talking`), so it names the type and stages
that type has, and at most one cut (`longer_than` or `shorter_than`) that turns the average
into a share.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.specs.economics import Path, Problem
from engine.time.durations import DurationError, parse_duration

CUTS = ("longer_than", "shorter_than")
# Against the window before (engine/insight/customersignals.py): no baseline, filter or split.
DROPS = ("activity_drop", "customer_activity_drop", "repurchase_drop")


def check_metric(
    problem: Problem, path: Path, data: Mapping[str, Any], record_types: Mapping[str, Any]
) -> dict[str, Any]:
    """Check what the monitor's metric needs beyond window and levels; return the spec's
    fields it adds (`stages`, `cut`)."""
    metric = data["metric"]
    if metric in DROPS:
        check_drop(problem, path, data)
    if metric == "stage_share":
        check_stage_share(problem, path, data, record_types)
    cut = check_stage_duration(problem, path, data, record_types)
    return {"stages": tuple(data.get("stages") or ()), "cut": cut}


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


def check_stage_duration(
    problem: Problem, path: Path, data: Mapping[str, Any], record_types: Mapping[str, Any]
) -> tuple[str, float] | None:
    """`stage_duration` needs `where: {record_type}` and `stages` of that type; the cut, if
    any, as (`longer_than` | `shorter_than`, seconds). Other metrics may not set a cut."""
    named = [key for key in CUTS if key in data]
    if data["metric"] != "stage_duration":
        for key in named:
            problem((*path, key), f"{data['metric']} takes no {key}", "remove it")
        return None
    tid = (data.get("where") or {}).get("record_type")
    rtype = record_types.get(tid) if tid else None
    if rtype is None:
        hint = "add `where: {record_type: <id>}` naming a record type of the pack"
        problem((*path, "where"), "stage_duration measures the records of one type", hint)
    else:
        for i, stage in enumerate(data.get("stages") or []):
            if stage not in rtype.stages:
                hint = f"name one of: {', '.join(rtype.stages)}"
                problem((*path, "stages", i), f"'{stage}' is not a stage of '{tid}'", hint)
    if not data.get("stages"):
        problem((*path, "stages"), "stage_duration needs the stages it times", None)
    if len(named) > 1:
        problem((*path, named[1]), "one cut per monitor", f"keep {named[0]} or {named[1]}")
    if not named:
        return None
    return named[0], _seconds(problem, (*path, named[0]), str(data[named[0]]))


def _seconds(problem: Problem, path: Path, text: str) -> float:
    """A cut is wall-clock time, as a call lasts: 20m, 1m."""
    try:
        duration = parse_duration(text)
    except DurationError as exc:
        problem(path, exc.message, exc.hint)
        return 0.0
    if duration.working:
        problem(path, f"'{text}' counts working time", "a call lasts wall-clock time: 20m")
    return float(duration.seconds())
