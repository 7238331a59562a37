"""Build a record type's SLA: targets, the ordered terms that set them, escalation, pauses.

Checked here (R-2.4, R-2.5): each term's condition names attributes and values the pack
declares, its targets exist, durations parse, calendars exist; a term no record can reach
(an earlier one covers all it matches) and a record some target has no term for are
reported with the fix. The priority-only `policies:` form becomes one term per priority.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from engine.specs.pack import (
    EscalationStep,
    FieldSpec,
    SlaSpec,
    SlaTargetSpec,
    StageSelector,
    StageSpec,
)
from engine.specs.problems import Path, ProblemLog, entries
from engine.specs.slaterms import (
    DIMENSIONS,
    Condition,
    SlaTerm,
    TermRule,
    uncovered,
    unreachable,
)

DEFAULT_WARNING = 0.8
RESERVED_TERM_KEYS = ("when", "name")


@dataclass(frozen=True)
class PackContext:
    """What record types may refer to; calendar names are the declared ones, valid or not.
    `values` holds the declared ids of the attributes a term's condition may name."""

    priorities: list[str]
    calendar_names: list[str]
    message_names: list[str]
    values: Mapping[str, Sequence[str]]


class SlaBuilder(ProblemLog):
    """The `sla` key of a record type."""

    def sla(
        self,
        path: Path,
        data: Mapping[str, Any],
        stages: Mapping[str, StageSpec],
        fields: Mapping[str, FieldSpec],
        ctx: PackContext,
    ) -> SlaSpec:
        warning = _percent(data.get("warning"), DEFAULT_WARNING)
        targets = {
            name: self.sla_target((*path, "targets", name), name, t, stages)
            for name, t in data["targets"].items()
        }
        values = _declared(ctx, fields)
        if "terms" in data:
            rules = [
                self.term_rule((*path, "terms", i), f"term {i + 1}", entry, targets, warning, ctx)
                for i, entry in enumerate(data["terms"])
            ]
            self.check_conditions((*path, "terms"), data["terms"], values)
            self.check_names((*path, "terms"), rules)
        else:
            rules = [
                self.term_rule(
                    (*path, "policies", p), p, {"when": {"priority": [p]}, **terms},
                    targets, warning, ctx, legacy=True,
                )
                for p, terms in data["policies"].items()
            ]  # fmt: skip
        self.check_rules(path, "terms" if "terms" in data else "policies", rules, targets, values)
        escalation = tuple(
            EscalationStep(
                index=i,
                at=step["at"],
                after=self.duration((*path, "escalation", i, "after"), step["after"])
                if "after" in step
                else None,
                notify=tuple(step.get("notify", [])),
                raise_priority=step.get("raise_priority", False),
            )
            for i, step in enumerate(entries(data, "escalation"))
        )
        pause_in = self.selector((*path, "pause_in"), data.get("pause_in"), stages)
        return SlaSpec(targets, tuple(rules), escalation, pause_in)

    def sla_target(
        self, path: Path, name: str, t: Mapping[str, Any], stages: Mapping[str, StageSpec]
    ) -> SlaTargetSpec:
        on: Literal["leaving", "entering"] = "leaving" if "leaving" in t["met_by"] else "entering"
        selector = self.selector((*path, "met_by", on), t["met_by"][on], stages)
        return SlaTargetSpec(
            name,
            t.get("title", name),
            on,
            selector or StageSelector(),
            bool(t["met_by"].get("first_reply", False)),
        )

    def term_rule(
        self,
        path: Path,
        default_name: str,
        entry: Mapping[str, Any],
        targets: Mapping[str, SlaTargetSpec],
        warning: float,
        ctx: PackContext,
        *,
        legacy: bool = False,
    ) -> TermRule:
        name = str(entry.get("name") or default_name)
        when = {key: _listed(v) for key, v in (entry.get("when") or {}).items()}
        if legacy:
            self.reference(path, "priority", name, ctx.priorities)
        terms = {}
        for target, term in entry.items():
            if target in RESERVED_TERM_KEYS:
                continue
            tpath = (*path, target)
            self.reference(tpath, "SLA target", target, targets)
            within = self.duration((*tpath, "within"), term["within"])
            calendar = term["calendar"]
            if (
                self.reference((*tpath, "calendar"), "calendar", calendar, ctx.calendar_names)
                and within is not None
            ):
                share = _percent(term.get("warning"), warning)
                terms[target] = SlaTerm(target, within, calendar, share, name)
        return TermRule(name, Condition.of(when), terms)

    def check_conditions(
        self, path: Path, data: Sequence[Mapping[str, Any]], values: Mapping[str, Sequence[str]]
    ) -> None:
        """Each condition names an attribute a record has and values declared for it."""
        for i, entry in enumerate(data):
            for key, wanted in (entry.get("when") or {}).items():
                where = (*path, i, "when", key)
                if not self.reference(where, "attribute for an SLA term", key, values):
                    continue
                for j, value in enumerate(_listed(wanted)):
                    at = (*where, j) if isinstance(wanted, list) else where
                    self.reference(at, key, value, values[key])

    def check_names(self, path: Path, rules: Sequence[TermRule]) -> None:
        """A clock knows its term by name: two terms of one name could not be told apart."""
        seen: set[str] = set()
        for i, rule in enumerate(rules):
            if rule.name in seen:
                self.problem(
                    (*path, i, "name"),
                    f"two SLA terms are named '{rule.name}'",
                    "give each term its own name",
                )
            seen.add(rule.name)

    def check_rules(
        self,
        path: Path,
        key: str,
        rules: Sequence[TermRule],
        targets: Mapping[str, SlaTargetSpec],
        values: Mapping[str, Sequence[str]],
    ) -> None:
        """Report terms no record reaches, and records some target has no term for (R-2.5)."""
        for j, i in unreachable(rules):
            self.problem(
                (*path, key, j) if key == "terms" else (*path, key, rules[j].name),
                f"SLA term '{rules[j].name}' can never apply: '{rules[i].name}' comes first "
                f"and matches every record it would ({rules[i].when.describe()})",
                f"move it above '{rules[i].name}', or narrow the `when` of '{rules[i].name}'",
            )
        if key == "policies":  # the old form: a priority without a policy gets no clocks
            return
        used = {k for rule in rules for k in rule.when.keys if k in values}
        possible: dict[str, list[str | None]] = {
            k: [*values[k], *([] if k == "priority" else [None])] for k in used
        }
        if "channel" in possible and values["channel"]:
            possible["channel"].remove(None)  # a pack with channels requires one (intake)
        for target, facts in uncovered(rules, list(targets), possible).items():
            shown = ", ".join(f"{k} '{v}'" if v else f"no {k}" for k, v in facts.items())
            self.problem(
                (*path, key),
                f"a record with {shown or 'any values'} gets no '{target}' term",
                f"add a last term without `when` that sets '{target}', "
                "or widen the `when` of a term that sets it",
            )


def _declared(ctx: PackContext, fields: Mapping[str, FieldSpec]) -> dict[str, Sequence[str]]:
    """What each attribute a condition may name can hold: the pack's lists, the choices of
    the record type's choice fields (a `type` of the record, R-2.2)."""
    values: dict[str, Sequence[str]] = {
        "priority": ctx.priorities,
        **{k: v for k, v in ctx.values.items() if k in DIMENSIONS},
    }
    for f in fields.values():
        if f.type == "choice" and f.id not in values:
            values[f.id] = list(f.choices)
    return values


def _listed(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _percent(text: str | None, default: float) -> float:
    return default if text is None else float(str(text).rstrip("%")) / 100
