"""Jinja2's sandbox with `*` and `**` bounded: what pack expressions and texts compile in.

Its own module so that Jinja2 is imported when a pack's first expression or text is compiled
(engine/specs/expressions.py), not with the spec's types (issue #24 item 2).
"""

from __future__ import annotations

from typing import Any

from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from engine.specs.expressions import MAX_EXPONENT, MAX_PRODUCT_LENGTH


class BoundedSandbox(ImmutableSandboxedEnvironment):
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
