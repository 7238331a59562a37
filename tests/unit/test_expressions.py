"""Pack expressions run in Jinja2's sandbox and fail at load time, not at 3 a.m. (R-8.1)."""

from __future__ import annotations

from typing import Any

import pytest
from jinja2.exceptions import SecurityError

from engine.specs.expressions import ExpressionError, compile_expression, compile_template

NAMES = ("record", "customer", "form")


def test_a_routing_rule_evaluates_over_the_record() -> None:
    rule = compile_expression("record.category in ('quality', 'function')", NAMES)
    assert rule.holds({"record": {"category": "quality"}})
    assert not rule.holds({"record": {"category": "service"}})


def test_a_missing_field_is_none_not_a_crash() -> None:
    guard = compile_expression("form.visit_at or record.resources != 'on_site'", NAMES)
    assert guard.holds({"record": {}, "form": {}})


@pytest.mark.parametrize(
    "source",
    [
        "record.__class__",
        "record['__class__']",
        "record.x | attr('__class__')",
        "record._private",
    ],
)
def test_reaching_python_internals_is_refused(source: str) -> None:
    with pytest.raises(ExpressionError, match="not allowed"):
        compile_expression(source, NAMES)


def test_an_unknown_name_suggests_the_right_one() -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression("recrod.priority == 'P0'", NAMES)
    assert caught.value.message == "unknown name 'recrod' in expression"
    assert caught.value.hint == "did you mean 'record'?"


def test_a_syntax_error_is_an_expression_error() -> None:
    with pytest.raises(ExpressionError, match="does not parse"):
        compile_expression("record.priority ==", NAMES)


@pytest.mark.parametrize(
    "source",
    [
        "{{ 'x' * 1000000000 }}",
        "{{ 1000000000 * 'x' }}",
        "{{ [1] * 10**8 }}",
        "{{ 9 ** 99999999 }}",
    ],
)
def test_arithmetic_that_would_build_gigabytes_is_neither_folded_nor_run(source: str) -> None:
    """R-8.1: compiling a pack's text costs no memory; rendering such a text is refused."""
    template = compile_template(source, [])
    with pytest.raises(SecurityError):
        template.render({})


def test_ordinary_arithmetic_still_works() -> None:
    assert compile_template("{{ '-' * 3 }}{{ 2 ** 10 }}{{ 6 * 7 }}", []).render({}) == "---102442"


def test_a_message_renders_as_jinja_renders_it_globals_and_errors_alike() -> None:
    """`MessageTemplate.render` merges the globals once rather than per call (issue #24):
    the text, the globals a pack may use, a missing name and a refused operation come out as
    `Template.render` gives them, and a given name still shadows a global."""
    loop = compile_template(
        "{% for n in range(2) %}{{ n }}{% endfor %} {{ record.id }}|{{ record.x }}", ["record"]
    )
    context = {"record": {"id": 7}}
    assert loop.render(context) == loop._template.render(**context) == "01 7|"
    shadowed = compile_template("{{ range }}", ["range"])
    assert shadowed.render({"range": "given"}) == "given"
    refused = compile_template("{{ 'x' * 1000000000 }}", [])
    with pytest.raises(SecurityError) as ours:
        refused.render({})
    with pytest.raises(SecurityError) as jinja:
        refused._template.render()
    assert str(ours.value) == str(jinja.value)


def test_an_expression_evaluates_as_jinja_evaluates_it_globals_and_errors_alike() -> None:
    """`Expression.evaluate` merges the globals once rather than per call (issue #24): values,
    a global a pack may use, a missing name (None), a given name shadowing a global and a
    refused operation come out as Jinja2's own `compile_expression` gives them."""
    from engine.specs.expressions import _sandbox

    cases: list[tuple[str, dict[str, Any]]] = [
        (
            "record.priority == 'P0' and customer.tier == 'vip'",
            {"record": {"priority": "P0"}, "customer": {"tier": "vip"}},
        ),
        ("record.priority == 'P0'", {"record": {"priority": "P1"}}),
        ("record.missing", {"record": {}}),
        ("range(3) | list", {}),
        ("range", {"range": "given"}),
        ("customer.tier or 'standard'", {"customer": {"tier": None}}),
    ]
    for source, context in cases:
        ours = compile_expression(source, [*NAMES, "range"]).evaluate(context)
        assert ours == _sandbox().compile_expression(source)(**context), source
    assert compile_expression("record.missing", NAMES).evaluate({"record": {}}) is None
    refused = compile_expression("'x' * 1000000000", [])
    with pytest.raises(SecurityError) as ours_error:
        refused.evaluate({})
    with pytest.raises(SecurityError) as jinja_error:
        _sandbox().compile_expression("'x' * 1000000000")()
    assert str(ours_error.value) == str(jinja_error.value)
