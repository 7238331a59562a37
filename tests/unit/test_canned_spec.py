"""The pack's canned responses are checked at load time (issue #21, R-3.1): an unknown name,
transition or field is a problem at its path, and a text that could run unbounded is refused."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from engine.specs.build import build_pack_spec, jsonable
from engine.specs.canned import compile_canned
from engine.specs.expressions import ExpressionError
from workflows.loader import load_pack

PACK = Path(__file__).resolve().parents[2] / "workflows" / "after_sales"
CANNED = ("canned_responses",)


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    return jsonable(load_pack(PACK).data)  # type: ignore[no-any-return]


def problems(data: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    spec, found = build_pack_spec(data)
    assert spec is None
    return [(p.path, p.message) for p in found]


def test_the_default_pack_offers_the_r_3_1_canned_responses(data: dict[str, Any]) -> None:
    """R-3.1: proof of purchase waits on the customer; "solved" resolves as a service solution."""
    spec, found = build_pack_spec(data)
    assert found == [] and spec is not None
    canned = {c.id: c for c in spec.canned_responses}
    assert 5 <= len(canned) <= 8
    assert canned["proof_of_purchase"].transition == "wait_for_customer"
    assert canned["proof_of_purchase"].set == {"wait_reason": "等待客户提供购买凭证"}
    assert canned["solved"].serves("feedback") and not canned["solved"].serves("care_call")
    assert canned["photo_received"].serves("care_call")
    text = canned["photo_received"].body.render(
        {"customer": {"name": "张先生"}, "record": {"product": "洗衣机"}, "reference": "CL-7"}
    )
    assert "张先生" in text and "洗衣机" in text and "CL-7" in text


def test_an_unknown_variable_is_a_problem_at_the_body(data: dict[str, Any]) -> None:
    broken = copy.deepcopy(data)
    broken["canned_responses"]["apology"]["body"] = "{{ custmer.name }}，抱歉"
    assert problems(broken) == [
        ((*CANNED, "apology", "body"), "unknown name 'custmer' in template")
    ]


def test_an_unknown_transition_type_or_field_is_a_problem_at_its_path(
    data: dict[str, Any],
) -> None:
    broken = copy.deepcopy(data)
    broken["canned_responses"]["proof_of_purchase"]["transition"] = "wait_for_custmer"
    broken["canned_responses"]["solved"]["set"]["solutoin"] = "x"
    broken["canned_responses"]["apology"]["record_types"] = ["feedbak"]
    assert problems(broken) == [
        ((*CANNED, "proof_of_purchase", "transition"), "unknown transition 'wait_for_custmer'"),
        ((*CANNED, "apology", "record_types", 0), "unknown record type 'feedbak'"),
        ((*CANNED, "solved", "set", "solutoin"), "unknown field of 'resolve's form 'solutoin'"),
    ]


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__ }}",
        "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
        "{{ 'x' * 1000000000 }}",
        "{{ 9 ** 9 ** 9 }}",
        "{{ 'x' | center(1000000000) }}",
        "{{ lipsum(100000) }}",
        "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
        "{{ cycler }}",
    ],
)
def test_a_text_that_reaches_internals_or_runs_unbounded_is_refused(source: str) -> None:
    """An agent's own text is typed on a web page: only substitution and `if` pass (R-8.3)."""
    with pytest.raises(ExpressionError):
        compile_canned(source)


def test_substitution_conditions_and_short_filters_pass() -> None:
    template = compile_canned(
        "{{ customer.name or '您好' }}{% if record.visit_at %}，{{ record.visit_at }}{% endif %}"
        "{{ agent | default('客服') | truncate(20) }}"
    )
    assert template.render({"customer": {"name": ""}, "record": {}, "agent": "李"}) == "您好李"
