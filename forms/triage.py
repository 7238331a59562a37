"""Triage on the record page (R-2.1, R-2.9): what is known about a problem like this one.

The agent sees the most similar known problems, published articles and solved
cases, and may apply one: link the record to the known problem, or carry its
solution into the pack's own transition forms (solve on the spot, resolve).
Resolving still goes through those forms and the engine, never around them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup
from sqlalchemy.orm import Session

from engine import bounds
from engine.knowledge import articles, search
from engine.knowledge.search import Hit
from engine.store.models import KnownProblem, Record

KINDS = ("problem", "article", "case")
SOLUTION_FIELD = "solution"


@dataclass
class Triage:
    """What the record page shows under 相似问题与知识."""

    hits: dict[str, list[Hit]] = field(default_factory=dict)
    linked: KnownProblem | None = None
    applied: str | None = None  # "kind:id" of the solution carried into the forms
    target: str | None = None  # the first transition whose form takes a solution

    def snippet(self, hit: Hit) -> Markup:
        return Markup(hit.snippet)  # escaped by engine.highlight; only <mark> is markup


def triage(session: Session, record: Record, forms: dict[str, Any], apply: str | None) -> Triage:
    """Suggestions for an open record, with a chosen solution put into the empty forms."""
    found = Triage(linked=articles.linked_problem(session, record.id))
    if not record.is_open:
        return found
    found.hits = articles.suggestions(session, record)
    takers = {name: form for name, form in forms.items() if SOLUTION_FIELD in form}
    found.target = next(iter(takers), None)
    solution = _solution(session, apply) if takers else None
    if solution:
        for form in takers.values():
            if not form[SOLUTION_FIELD].data:
                form[SOLUTION_FIELD].data = solution
        found.applied = apply
    return found


def _solution(session: Session, apply: str | None) -> str | None:
    """The solution of `kind:id`, read from the index (so never a draft article's)."""
    kind, _, ref = (apply or "").partition(":")
    number = bounds.parse_id(ref)
    if kind not in KINDS or number is None:
        return None
    doc = search.document(session, kind, number)
    return doc.solution if doc is not None else None
