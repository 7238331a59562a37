"""Conditional SLA terms (R-2.4, R-2.5): chosen per target by the first term that matches,
and checked for terms no record reaches and records some target has no term for."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from engine.specs.build import build_pack_spec, jsonable
from engine.specs.slaterms import Condition, SlaTerm, TermRule, choose, uncovered, unreachable
from engine.time.durations import parse_duration
from workflows.loader import load_pack

PACK = Path(__file__).resolve().parents[2] / "workflows" / "after_sales"


def rule(name: str, when: dict[str, list[str]], **targets: str) -> TermRule:
    terms = {t: SlaTerm(t, parse_duration(text), "24x7", 0.8, name) for t, text in targets.items()}
    return TermRule(name, Condition.of(when), terms)


# together: chat and calls by channel, the resolve time by priority.
RULES = [
    rule("chat", {"channel": ["online_chat", "wechat"]}, respond="15m"),
    rule("call", {"channel": ["phone"]}, respond="3m"),
    rule("P0", {"priority": ["P0"]}, respond="2h", resolve="24h"),
    rule("others", {}, respond="4h", resolve="3 days"),
]


def chosen(**facts: str | None) -> dict[str, tuple[str, str]]:
    return {t: (term.term, term.within.text) for t, term in choose(RULES, facts).items()}


def test_a_chat_is_answered_in_15_minutes_and_resolved_by_its_priority() -> None:
    assert chosen(channel="wechat", priority="P0") == {
        "respond": ("chat", "15m"),
        "resolve": ("P0", "24h"),
    }


def test_a_call_is_picked_up_in_3_minutes_and_other_channels_fall_through() -> None:
    assert chosen(channel="phone", priority="P1")["respond"] == ("call", "3m")
    assert chosen(channel="email", priority="P1") == {
        "respond": ("others", "4h"),
        "resolve": ("others", "3 days"),
    }


def test_a_term_after_one_that_matches_everything_it_does_is_unreachable() -> None:
    later = [*RULES, rule("late calls", {"channel": ["phone"], "priority": ["P1"]}, respond="1m")]
    assert unreachable(later) == [(4, 1)]
    after_all = [*RULES, rule("never", {"category": ["quality"]}, resolve="1h")]
    assert unreachable(after_all) == [(4, 3)]


def test_a_narrower_term_first_and_a_term_setting_another_target_stay_reachable() -> None:
    assert unreachable(RULES) == []
    wider_later = [rule("a", {"channel": ["phone"]}, respond="3m"), rule("b", {}, resolve="1h")]
    assert unreachable(wider_later) == []


def test_records_no_term_covers_are_found_by_target() -> None:
    partial = RULES[:3]
    values: dict[str, list[str | None]] = {
        "channel": ["phone", "email"],
        "priority": ["P0", "P1"],
    }
    assert uncovered(partial, ["respond", "resolve"], values) == {
        "respond": {"channel": "email", "priority": "P1"},
        "resolve": {"channel": "phone", "priority": "P1"},
    }
    assert uncovered(RULES, ["respond", "resolve"], values) == {}


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    return jsonable(load_pack(PACK).data)  # type: ignore[no-any-return]


def with_terms(data: dict[str, Any], terms: list[dict[str, Any]]) -> dict[str, Any]:
    changed = copy.deepcopy(data)
    sla = changed["record_types"]["feedback"]["sla"]
    del sla["policies"]
    sla["terms"] = terms
    return changed


P2 = {
    "respond": {"within": "8 working hours", "calendar": "cn_workdays"},
    "resolve": {"within": "5 working days", "calendar": "cn_workdays"},
}


def test_the_builder_keeps_term_names_and_reads_conditions(data: dict[str, Any]) -> None:
    terms: list[dict[str, Any]] = [
        {"name": "chat", "when": {"channel": ["online_chat", "wechat"]},
         "respond": {"within": "15m", "calendar": "24x7"}},
        {"when": {"channel": "phone"}, "respond": {"within": "3m", "calendar": "24x7"}},
        P2,
    ]  # fmt: skip
    spec, found = build_pack_spec(with_terms(data, terms))
    assert found == [] and spec is not None
    sla = spec.record_type("feedback").sla
    assert sla is not None
    assert sla.depends_on == {"channel"}
    picked = sla.terms_of({"channel": "phone", "priority": "P1"})
    assert (picked["respond"].term, picked["respond"].within.text) == ("term 2", "3m")
    assert picked["resolve"].term == "term 3"
    assert sla.terms_of({"channel": "wechat"})["respond"].term == "chat"


def test_the_builder_reports_unknown_values_unreachable_and_uncovered(
    data: dict[str, Any],
) -> None:
    terms: list[dict[str, Any]] = [
        {"when": {"channel": ["phon"]}, "respond": {"within": "3m", "calendar": "24x7"}},
        {"when": {"priority": "P2"}, **P2},
        {"when": {"priority": "P2", "channel": "email"}, **P2},
    ]
    spec, found = build_pack_spec(with_terms(data, terms))
    assert spec is None
    where = ("record_types", "feedback", "sla", "terms")
    messages = {(p.path, p.message) for p in found}
    assert ((*where, 0, "when", "channel", 0), "unknown channel 'phon'") in messages
    assert (
        (*where, 2),
        "SLA term 'term 3' can never apply: 'term 2' comes first and matches every record "
        "it would (priority in [P2])",
    ) in messages
    assert any(
        path == where and "gets no 'resolve' term" in message and "priority 'P0'" in message
        for path, message in messages
    )


def test_the_priority_only_form_is_one_term_per_priority(data: dict[str, Any]) -> None:
    spec, found = build_pack_spec(data)
    assert found == [] and spec is not None
    sla = spec.record_type("feedback").sla
    assert sla is not None
    assert [r.name for r in sla.rules] == ["P0", "P1", "P2"]
    assert sla.depends_on == {"priority"}
    assert sla.terms_for("P1")["resolve"].term == "P1"


def test_the_priority_only_form_may_still_leave_a_priority_without_clocks(
    data: dict[str, Any],
) -> None:
    partial = copy.deepcopy(data)
    del partial["record_types"]["feedback"]["sla"]["policies"]["P2"]
    spec, found = build_pack_spec(partial)
    assert found == [] and spec is not None
    sla = spec.record_type("feedback").sla
    assert sla is not None and sla.terms_for("P2") == {}


def test_two_terms_of_one_name_are_reported(data: dict[str, Any]) -> None:
    terms: list[dict[str, Any]] = [
        {
            "name": "fast",
            "when": {"channel": "phone"},
            "respond": {"within": "3m", "calendar": "24x7"},
        },
        {"name": "fast", **P2},
    ]
    spec, found = build_pack_spec(with_terms(data, terms))
    assert spec is None
    where = ("record_types", "feedback", "sla", "terms", 1, "name")
    assert [(p.path, p.message) for p in found] == [(where, "two SLA terms are named 'fast'")]
