"""The chat box's answer to one question (issue #23, S0 7×24): an order's status, knowledge-base
articles, or "no answer" (the box then offers a person).

The articles come from `engine.knowledge.search.search(kind="article")`, the very call behind
`GET /api/v1/answers`, so the chat answers exactly as well as the API; the order number and
phone are taken out of the question first, so digits never reach the search or the index.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from sqlalchemy.orm import Session

from engine.knowledge import search
from engine.knowledge.search import Hit
from engine.selfservice import orders
from engine.selfservice.orders import OrderQuery, OrderStatus
from engine.specs.instant import InstantAnswersSpec

ARTICLES: Final = 3  # as many as a phone screen shows without scrolling past the question
MAX_QUESTION: Final = 500

ReplyKind = Literal["order", "order_not_found", "order_incomplete", "articles", "no_answer"]


@dataclass(frozen=True)
class Reply:
    """What the chat box says: its kind, and the order or the articles it is about."""

    kind: ReplyKind
    query: OrderQuery
    order: OrderStatus | None = None
    articles: tuple[Hit, ...] = ()


def answer(session: Session, spec: InstantAnswersSpec, question: str) -> Reply:
    """An order's status when the question names an order number and a phone (from the orders
    Careloop holds; the caller asks the pack's lookup when this says `order_not_found`); a
    request for the missing half when it names only one; else the best published articles."""
    query = orders.order_query(spec, question)
    if query.complete:
        assert query.order is not None and query.phone is not None
        found = orders.find_order(session, query.order, query.phone)
        return Reply("order" if found else "order_not_found", query, order=found)
    if query.order is not None or query.phone is not None:
        return Reply("order_incomplete", query)
    hits = search.search(session, question, kind="article", limit=ARTICLES)
    return Reply("articles" if hits else "no_answer", query, articles=tuple(hits))
