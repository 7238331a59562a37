"""Pack expressions (guards, routing rules) compiled in Jinja2's sandbox, never `eval`.

A bad expression is refused when the pack is loaded, not at 3 a.m.: syntax,
unknown names and any attribute starting with `_` (`__class__` and friends)
are load-time errors.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

# The longest text or list, and the largest power, that `*` and `**` may make in a pack's text
# (engine/specs/sandbox.py).
MAX_PRODUCT_LENGTH = 100_000
MAX_EXPONENT = 64

if TYPE_CHECKING:
    from jinja2 import Template, nodes
    from jinja2.sandbox import ImmutableSandboxedEnvironment


@functools.cache
def _sandbox() -> ImmutableSandboxedEnvironment:
    """Jinja2 is imported when a pack's first expression or text is compiled, not with the
    spec's types: a scheduler reaches its first sweep without it (issue #24 item 2)."""
    from engine.specs.sandbox import BoundedSandbox

    return BoundedSandbox()


class ExpressionError(ValueError):
    """An expression that does not compile, with a hint that says how to fix it."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class Expression:
    """A compiled, sandboxed expression and the text it came from.

    Evaluated as Jinja2's `TemplateExpression` does (its template assigns the value to
    `result`; undefined is None), with the globals merged into one dict once, as
    `MessageTemplate` does: Jinja2 merges them from a ChainMap on every call, a quarter of
    a short condition's time, and intake and the sweep ask one for every record and timer
    (issue #24).
    """

    source: str
    _template: Template = field(repr=False, compare=False)
    _globals: dict[str, Any] = field(repr=False, compare=False)
    _undefined: type = field(repr=False, compare=False)  # jinja2.Undefined, imported lazily

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        template = self._template
        names = template.new_context({**self._globals, **context}, shared=True)
        for _ in template.root_render_func(names):
            pass  # an assignment yields no text
        value = names.vars["result"]
        return None if isinstance(value, self._undefined) else value

    def holds(self, context: Mapping[str, Any]) -> bool:
        return bool(self.evaluate(context))


def compile_expression(source: str, names: Iterable[str]) -> Expression:
    """Compile `source`, allowing only the given top-level names."""
    from jinja2 import TemplateSyntaxError

    allowed = sorted(names)
    try:
        tree = _sandbox().parse("{{ (" + source + ") }}")
    except TemplateSyntaxError as exc:
        raise ExpressionError(
            f"expression does not parse: {exc.message}",
            "write it as in Jinja2, e.g. record.priority == 'P0' and customer.tier == 'vip'",
        ) from None
    _check(tree, allowed, "expression")
    from jinja2 import Undefined

    # Jinja2's own parse of an expression into `{% set result = … %}`, kept as its template
    template = _sandbox().compile_expression(source)._template
    return Expression(source, template, dict(template.globals), Undefined)


@dataclass(frozen=True)
class MessageTemplate:
    """A compiled, sandboxed text template (message subjects and bodies).

    Rendered as `Template.render` does, but with the template's globals (`range`, `dict`, …)
    merged into one plain dict once: `render` merges them from a ChainMap on every call,
    half of a short message's 10 us, and a sweep renders a message for every notification
    and contact it sends (issue #24 item 2).
    """

    source: str
    _template: Template = field(repr=False, compare=False)
    _globals: dict[str, Any] = field(repr=False, compare=False)

    def render(self, context: Mapping[str, Any]) -> str:
        template = self._template
        names = template.new_context({**self._globals, **context}, shared=True)
        try:
            return template.environment.concat(template.root_render_func(names))
        except Exception:
            template.environment.handle_exception()  # re-raised with the template's lines


def compile_template(source: str, names: Iterable[str]) -> MessageTemplate:
    """Compile a message text, with the same load-time checks as expressions."""
    from jinja2 import TemplateSyntaxError

    allowed = sorted(names)
    try:
        tree = _sandbox().parse(source)
    except TemplateSyntaxError as exc:
        raise ExpressionError(
            f"template does not parse (line {exc.lineno}): {exc.message}",
            "write it as in Jinja2, e.g. 记录 {{ record.id }} 将于 {{ deadline }} 到期",
        ) from None
    _check(tree, allowed, "template")
    template = _sandbox().from_string(source)
    return MessageTemplate(source, template, dict(template.globals))


def _check(tree: nodes.Template, allowed: list[str], what: str) -> None:
    """Refuse private attributes and names the context will not have, at load time."""
    from jinja2 import meta

    _refuse_private_access(tree)
    for name in sorted(meta.find_undeclared_variables(tree)):
        if name not in allowed:
            close = difflib.get_close_matches(name, allowed, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known names: {', '.join(allowed)}"
            raise ExpressionError(f"unknown name '{name}' in {what}", hint)


def _refuse_private_access(tree: nodes.Template) -> None:
    from jinja2 import nodes

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
    from jinja2 import nodes

    return node.arg.value if isinstance(node.arg, nodes.Const) else None
