"""Canned responses (issue #21): texts an agent inserts in the reply box, the pack's or their own.

A canned text is a template rendered for one record in Jinja2's sandbox. It may use only the
names `CANNED_NAMES` (the record with personal fields masked, the customer's own name and
number, the record's reference and the agent's name) and only plain substitution, `if`, and a
few filters that never make a text longer than their input: an agent's own text is typed on a
web page, so a loop, a call or `*` (`{% for %}` of 10^9, `'x' * 10**9`) must be refused when it
is saved, not found when a page hangs.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.specs.expressions import ExpressionError, MessageTemplate, compile_template

if TYPE_CHECKING:
    from jinja2 import Environment, nodes

CANNED_NAMES = ("record", "customer", "reference", "agent")
MAX_CANNED_LENGTH = 4000
# Filters whose output is no longer than what they are given (or a default the author wrote).
SAFE_FILTERS = frozenset(
    {"default", "d", "upper", "lower", "title", "capitalize", "trim", "truncate", "string"}
)


@functools.cache
def _safe_nodes() -> tuple[type[nodes.Node], ...]:
    """The nodes of plain text with substitutions and conditions: no loops, macros, calls or
    maths. Jinja2 is imported with the first canned text compiled (issue #24 item 2)."""
    from jinja2 import nodes

    return (
        nodes.Template,
        nodes.Output,
        nodes.TemplateData,
        nodes.Name,
        nodes.Getattr,
        nodes.Getitem,
        nodes.Const,
        nodes.Filter,
        nodes.Keyword,
        nodes.If,
        nodes.CondExpr,
        nodes.Compare,
        nodes.Operand,
        nodes.And,
        nodes.Or,
        nodes.Not,
        nodes.Concat,
    )


@functools.cache
def _parser() -> Environment:
    from jinja2 import Environment

    return Environment()


@dataclass(frozen=True)
class CannedResponseSpec:
    """A pack's canned response; `transition` is offered after sending where the record's stage
    allows it, with `set` as the values of that transition's form."""

    id: str
    title: str
    body: MessageTemplate
    record_types: frozenset[str] = frozenset()  # empty: every record type
    keywords: tuple[str, ...] = ()
    transition: str | None = None
    set: Mapping[str, Any] = field(default_factory=dict)

    def serves(self, record_type: str) -> bool:
        return not self.record_types or record_type in self.record_types


def compile_canned(source: str) -> MessageTemplate:
    """Compile a canned text, refusing unknown names and anything whose cost is not bounded."""
    if len(source) > MAX_CANNED_LENGTH:
        raise ExpressionError(
            f"the text is longer than {MAX_CANNED_LENGTH} characters", "shorten it"
        )
    from jinja2 import TemplateSyntaxError, nodes

    template = compile_template(source, CANNED_NAMES)
    try:
        tree = _parser().parse(source)
    except TemplateSyntaxError as exc:  # compile_template parsed it already; kept for mypy
        raise ExpressionError(exc.message or "template does not parse") from None
    for node in tree.find_all(nodes.Node):
        _refuse_unbounded(node)
    return template


def _refuse_unbounded(node: nodes.Node) -> None:
    from jinja2 import nodes

    if not isinstance(node, _safe_nodes()):
        raise ExpressionError(
            f"'{type(node).__name__}' is not allowed in a canned response",
            "use {{ customer.name }}, {{ record.product }}, {{ reference }}, {{ agent }} "
            "and {% if %}; loops, calls and arithmetic are not allowed",
        )
    if isinstance(node, nodes.Name) and node.name not in CANNED_NAMES:  # Jinja's globals
        raise ExpressionError(
            f"unknown name '{node.name}' in template", f"known names: {', '.join(CANNED_NAMES)}"
        )
    if isinstance(node, nodes.Filter) and node.name not in SAFE_FILTERS:
        raise ExpressionError(
            f"the filter '{node.name}' is not allowed in a canned response",
            f"allowed filters: {', '.join(sorted(SAFE_FILTERS))}",
        )
