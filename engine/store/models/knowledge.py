"""The knowledge base: articles and their versions, known problems, synonyms, the search docs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from engine.store.models.base import Model


class Article(Model):
    """A knowledge-base article as it reads now; each save also keeps an ArticleVersion."""

    __tablename__ = "kb_articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    # Markdown, rendered with raw HTML escaped wherever it is shown.
    body: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(64))
    product: Mapped[str | None] = mapped_column(String(128))
    # Comma-separated, as operations staff type them.
    tags: Mapped[str | None] = mapped_column(String(500))
    # draft, published or retired: only published articles are searched and answered.
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    version: Mapped[int] = mapped_column(default=0)
    updated_by: Mapped[str] = mapped_column(String(128), default="")
    updated_at: Mapped[datetime]

    versions: Mapped[list[ArticleVersion]] = relationship(
        back_populates="article", order_by="ArticleVersion.version"
    )

    def __str__(self) -> str:
        return self.title


class ArticleVersion(Model):
    """An article as one save left it: never changed, so any earlier text can be read again."""

    __tablename__ = "kb_article_versions"
    __table_args__ = (
        UniqueConstraint("article_id", "version", name="uq_kb_article_versions_article_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id"), index=True)
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(64))
    product: Mapped[str | None] = mapped_column(String(128))
    tags: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16))
    saved_by: Mapped[str] = mapped_column(String(128))
    saved_at: Mapped[datetime]

    article: Mapped[Article] = relationship(back_populates="versions")


class KnownProblemLink(Model):
    """One record is an instance of one known problem: the record id is the key."""

    __tablename__ = "known_problem_links"

    # A link table, not a column on records: the hot records table stays as it is.
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("known_problems.id"), index=True)
    linked_by: Mapped[str] = mapped_column(String(128))
    linked_at: Mapped[datetime]


class KnownProblem(Model):
    """A problem seen before, with its solution; records are linked to it (R-2.1, R-4.2)."""

    __tablename__ = "known_problems"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    symptoms: Mapped[str] = mapped_column(Text, default="")
    solution: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str | None] = mapped_column(String(64))
    product: Mapped[str | None] = mapped_column(String(128))
    # open while the cause is being fixed, fixed once it no longer recurs.
    status: Mapped[str] = mapped_column(String(16), default="open")
    updated_by: Mapped[str] = mapped_column(String(128), default="")
    updated_at: Mapped[datetime]
    # How many records are this problem: the review's frequent problems.
    record_count: Mapped[int] = column_property(
        select(func.count(KnownProblemLink.record_id))
        .where(KnownProblemLink.problem_id == id)
        .correlate_except(KnownProblemLink)
        .scalar_subquery()
    )

    def __str__(self) -> str:
        return self.title


class SynonymGroup(Model):
    """Words that mean the same to a customer (快递, 物流, 配送), kept by operations staff."""

    __tablename__ = "kb_synonyms"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Separated by commas or spaces; a query naming one of them also looks for the others.
    words: Mapped[str] = mapped_column(String(500))
    updated_by: Mapped[str] = mapped_column(String(128), default="")
    updated_at: Mapped[datetime]

    def __str__(self) -> str:
        return self.words


class SearchDoc(Model):
    """What search reads: an article, known problem or resolved case as segmented tokens.

    `title_tokens` and `body_tokens` hold jieba's words joined by spaces, so
    SQLite FTS5 (a table `search_fts_<kind>` per kind, kept in step by triggers)
    and PostgreSQL (a stored `search_vector` tsvector with a partial GIN index
    per kind) both split on spaces. Both live only in migration 0010: neither
    dialect can declare the other's.
    """

    __tablename__ = "search_docs"
    __table_args__ = (UniqueConstraint("kind", "ref_id", name="uq_search_docs_kind_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    ref_id: Mapped[int]
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    solution: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(64))
    product: Mapped[str | None] = mapped_column(String(128))
    title_tokens: Mapped[str] = mapped_column(Text)
    body_tokens: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]
