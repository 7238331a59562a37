"""Build the pack's `canned_responses:` (issue #21), noting each problem at its data path.

A canned text must compile with only the canned names; a record type, a transition and the
fields it sets must exist, so a misspelt `transition: wait_for_custmer` is a load error with
its line rather than a checkbox that never appears.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.specs.canned import CannedResponseSpec, compile_canned
from engine.specs.expressions import ExpressionError
from engine.specs.pack import RecordTypeSpec, TransitionSpec
from engine.specs.problems import Path, ProblemLog, section


def build_canned(
    log: ProblemLog, data: Mapping[str, Any], record_types: Mapping[str, RecordTypeSpec]
) -> tuple[CannedResponseSpec, ...]:
    """The pack's canned responses in their written order; those with problems left out."""
    built = []
    for cid, entry in section(data, "canned_responses").items():
        spec = _canned(log, ("canned_responses", cid), cid, entry, record_types)
        if spec is not None:
            built.append(spec)
    return tuple(built)


def _canned(
    log: ProblemLog,
    path: Path,
    cid: str,
    data: Mapping[str, Any],
    record_types: Mapping[str, RecordTypeSpec],
) -> CannedResponseSpec | None:
    try:
        body = compile_canned(data["body"])
    except ExpressionError as exc:
        log.problem((*path, "body"), exc.message, exc.hint)
        return None
    types = list(data.get("record_types", []))
    for i, tid in enumerate(types):
        log.reference((*path, "record_types", i), "record type", tid, record_types)
    transition = data.get("transition")
    values = dict(data.get("set") or {})
    if transition is not None:
        serving = [t for tid, t in record_types.items() if not types or tid in types]
        found = [t.transitions[transition] for t in serving if transition in t.transitions]
        known = {x for t in serving for x in t.transitions}
        if log.reference((*path, "transition"), "transition", transition, known):
            _check_set(log, path, values, found)
    elif values:
        log.problem((*path, "set"), "`set` needs a transition", "name the transition to apply")
    return CannedResponseSpec(
        cid,
        data["title"],
        body,
        frozenset(types),
        tuple(data.get("keywords", [])),
        transition,
        values,
    )


def _check_set(
    log: ProblemLog, path: Path, values: Mapping[str, Any], found: list[TransitionSpec]
) -> None:
    """Every field set is one the transition's form asks for (in each record type that has it)."""
    for transition in found:
        asked = [f.field for f in transition.form]
        for name in values:
            log.reference((*path, "set", name), f"field of '{transition.id}'s form", name, asked)
