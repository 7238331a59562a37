"""Conditional SLA terms (R-2.4, R-2.5): which promise a record gets, chosen by what it is.

A record type's SLA is an ordered list of terms. Each term has a condition on the record's
channel, category, priority, its customer's tier or loyalty level (R-5.4), or one of its
choice fields (a `type` such as `refund_type`), and the targets it sets, each with its own
time and calendar. For each target the first term that matches the record and names that
target wins, so a chat gets "answered in 15 min" from a channel term and "resolved in 3
working days" from the priority term below it. The old priority-only `policies:` form is
the same list with one term per priority. Pure values: the builder checks a list with
`unreachable` and `uncovered`, the SLA clocks call `choose`.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from engine.time.durations import Duration

# The record's own attributes a condition may name; a record type's choice fields come on top.
DIMENSIONS = ("channel", "category", "priority", "tier", "loyalty_level")
# Combinations looked at for `uncovered`; beyond it the check would cost more than it tells.
MAX_COMBINATIONS = 20_000

Facts = Mapping[str, str | None]


@dataclass(frozen=True)
class SlaTerm:
    """One target's number under one term: `within`, on `calendar`, warned at `warning`.

    `term` names the term it came from, so a clock knows whether a changed record still
    falls under the same term (then nothing moves) or under another (then it re-plans).
    """

    target: str
    within: Duration
    calendar: str
    warning: float
    term: str = ""


@dataclass(frozen=True)
class Condition:
    """`{channel: [online_chat, wechat], priority: P1}`: every named attribute holds one of its
    values. No attribute named: every record matches."""

    values: tuple[tuple[str, frozenset[str]], ...] = ()

    @classmethod
    def of(cls, mapping: Mapping[str, Sequence[str]]) -> Condition:
        return cls(tuple((key, frozenset(mapping[key])) for key in sorted(mapping)))

    def matches(self, facts: Facts) -> bool:
        return all(facts.get(key) in allowed for key, allowed in self.values)

    def covers(self, other: Condition) -> bool:
        """Every record `other` matches, this matches too (so a later `other` never wins)."""
        theirs = dict(other.values)
        return all(key in theirs and theirs[key] <= allowed for key, allowed in self.values)

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(key for key, _ in self.values)

    def describe(self) -> str:
        if not self.values:
            return "every record"
        return ", ".join(f"{key} in [{', '.join(sorted(v))}]" for key, v in self.values)


@dataclass(frozen=True)
class TermRule:
    """One entry of the list: its name, its condition, and the targets it sets."""

    name: str
    when: Condition
    targets: Mapping[str, SlaTerm]


def choose(rules: Sequence[TermRule], facts: Facts) -> dict[str, SlaTerm]:
    """target → the term of the first rule that matches `facts` and names the target."""
    chosen: dict[str, SlaTerm] = {}
    for rule in rules:
        if rule.when.matches(facts):
            for target, term in rule.targets.items():
                chosen.setdefault(target, term)
    return chosen


def unreachable(rules: Sequence[TermRule]) -> list[tuple[int, int]]:
    """(rule, earlier rule) for each rule that can never set any of its targets: for every
    target it names, an earlier rule naming that target covers all it matches. Pairs the
    rule with the first earlier rule that covers it, for the message."""
    found = []
    for j, rule in enumerate(rules):
        shadows = [
            i
            for i in range(j)
            if rules[i].when.covers(rule.when) and set(rule.targets) & set(rules[i].targets)
        ]
        if rule.targets and all(
            any(target in rules[i].targets for i in shadows) for target in rule.targets
        ):
            found.append((j, shadows[0]))
    return found


def uncovered(
    rules: Sequence[TermRule], targets: Sequence[str], values: Mapping[str, Sequence[str | None]]
) -> dict[str, dict[str, str | None]]:
    """target → one combination of the declared `values` that no rule gives that target.

    `values` lists, per attribute, what a record may hold (None where it may be empty, like a
    category before triage). None when the combinations are too many to walk.
    """
    keys = sorted(values)
    total = 1
    for key in keys:
        total *= max(len(values[key]), 1)
    if total > MAX_COMBINATIONS:
        return {}
    missing: dict[str, dict[str, str | None]] = {}
    for combo in itertools.product(*(values[key] for key in keys)):
        facts = dict(zip(keys, combo, strict=True))
        chosen = choose(rules, facts)
        for target in targets:
            if target not in chosen and target not in missing:
                missing[target] = facts
    return missing
