"""Pack expressions (guards, routing rules) compiled in Jinja2's sandbox, never `eval`.

A bad expression is refused when the pack is loaded, not at 3 a.m.: syntax,
unknown names and any attribute starting with `_` (`__class__` and friends)
are load-time errors.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Template, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

# The longest text or list, and the largest power, that `*` and `**` may make in a pack's text.
MAX_PRODUCT_LENGTH = 100_000
MAX_EXPONENT = 64


class _BoundedSandbox(ImmutableSandboxedEnvironment):
    """Jinja's sandbox with `*` and `**` bounded.

    Jinja folds constant arithmetic when it compiles, so without this `{{ 'x' * 1000000000 }}`
    built a gigabyte while a pack or a canned text was merely being checked (50 s of a web
    worker), and `{{ 9 ** 99999999 }}` ran for minutes when rendered. Intercepted operators
    are neither folded nor run unchecked.
    """

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"a power above {MAX_EXPONENT} is not allowed")
        if operator == "*":
            for sequence, times in ((left, right), (right, left)):
                sized = isinstance(sequence, str | bytes | list | tuple)
                if sized and isinstance(times, int) and len(sequence) * times > MAX_PRODUCT_LENGTH:
                    raise SecurityError(f"a text longer than {MAX_PRODUCT_LENGTH} is not allowed")
        return super().call_binop(context, operator, left, right)


_ENV = _BoundedSandbox()


class ExpressionError(ValueError):
    """An expression that does not compile, with a hint that says how to fix it."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class Expression:
    """A compiled, sandboxed expression and the text it came from."""

    source: str
    _compiled: Callable[..., Any] = field(repr=False, compare=False)

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        return self._compiled(**context)

    def holds(self, context: Mapping[str, Any]) -> bool:
        return bool(self.evaluate(context))


def compile_expression(source: str, names: Iterable[str]) -> Expression:
    """Compile `source`, allowing only the given top-level names."""
    allowed = sorted(names)
    try:
        tree = _ENV.parse("{{ (" + source + ") }}")
    except TemplateSyntaxError as exc:
        raise ExpressionError(
            f"expression does not parse: {exc.message}",
            "write it as in Jinja2, e.g. record.priority == 'P0' and customer.tier == 'vip'",
        ) from None
    _check(tree, allowed, "expression")
    return Expression(source, _ENV.compile_expression(source, undefined_to_none=True))


@dataclass(frozen=True)
class MessageTemplate:
    """A compiled, sandboxed text template (message subjects and bodies)."""

    source: str
    _template: Template = field(repr=False, compare=False)

    def render(self, context: Mapping[str, Any]) -> str:
        return self._template.render(**context)


def compile_template(source: str, names: Iterable[str]) -> MessageTemplate:
    """Compile a message text, with the same load-time checks as expressions."""
    allowed = sorted(names)
    try:
        tree = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        raise ExpressionError(
            f"template does not parse (line {exc.lineno}): {exc.message}",
            "write it as in Jinja2, e.g. 记录 {{ record.id }} 将于 {{ deadline }} 到期",
        ) from None
    _check(tree, allowed, "template")
    return MessageTemplate(source, _ENV.from_string(source))


def _check(tree: nodes.Template, allowed: list[str], what: str) -> None:
    """Refuse private attributes and names the context will not have, at load time."""
    _refuse_private_access(tree)
    for name in sorted(meta.find_undeclared_variables(tree)):
        if name not in allowed:
            close = difflib.get_close_matches(name, allowed, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known names: {', '.join(allowed)}"
            raise ExpressionError(f"unknown name '{name}' in {what}", hint)


def _refuse_private_access(tree: nodes.Template) -> None:
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Const)):
        if isinstance(node, nodes.Getattr):
            attr: object = node.attr
        elif isinstance(node, nodes.Getitem):
            attr = _constant_key(node)
        else:  # a dunder string handed to a filter such as attr()
            value = node.value if isinstance(node, nodes.Const) else None
            attr = value if isinstance(value, str) and value.startswith("__") else None
        if isinstance(attr, str) and attr.startswith("_"):
            raise ExpressionError(
                f"'{attr}' is not allowed in expressions",
                "names starting with '_' reach Python internals; use the record's fields",
            )


def _constant_key(node: nodes.Getitem) -> object:
    return node.arg.value if isinstance(node.arg, nodes.Const) else None
