"""The public knowledge base (issue #23): only published articles, by category, searched.

What a stranger may read is exactly what `status == "published"` says; drafts and retired
articles are a 404 on the portal as they are absent from the search index. Search is the
knowledge base's own (jieba words, FTS5 or tsvector, `engine.knowledge.search`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.knowledge import search
from engine.store.models import Article

PAGE_SIZE = 20
UNCATEGORISED = ""


@dataclass(frozen=True)
class Category:
    """A category of published articles and how many it holds ("" for those without one)."""

    id: str
    count: int


def categories(session: Session) -> list[Category]:
    """The published articles' categories, largest first: one GROUP BY."""
    count = func.count(Article.id)
    rows = session.execute(
        select(Article.category, count)
        .where(Article.status == "published")
        .group_by(Article.category)
        .order_by(count.desc(), Article.category)
    )
    return [Category(category or UNCATEGORISED, int(n)) for category, n in rows]


def articles(session: Session, category: str | None = None, *, page: int = 1) -> list[Article]:
    """Published articles, newest first, of one category when given, a page at a time."""
    query = select(Article).where(Article.status == "published")
    if category is not None:
        query = query.where(
            Article.category.is_(None)
            if category == UNCATEGORISED
            else Article.category == category
        )
    offset = (max(page, 1) - 1) * PAGE_SIZE
    query = query.order_by(Article.updated_at.desc(), Article.id.desc())
    return list(session.scalars(query.offset(offset).limit(PAGE_SIZE)))


def published(session: Session, article_id: int) -> Article:
    """One published article; NotFound for a draft, a retired one or none."""
    article = session.get(Article, article_id)
    if article is None or article.status != "published":
        raise NotFound(f"article {article_id} is not published")
    return article


def find(session: Session, question: str, *, limit: int = 10) -> list[search.Hit]:
    """The published articles best matching a customer's words, best first."""
    return search.search(session, question, kind="article", limit=limit)
