"""Ranked full-text search over articles, known problems and resolved cases, on either database.

Documents are stored as jieba's words joined by spaces (`engine.segment`);
SQLite matches them with FTS5 and ranks with bm25, PostgreSQL with a GIN
index on a stored tsvector and ts_rank. A question becomes an OR of its words
and their synonyms (a better match ranks higher, a partial one still counts),
every word a bound parameter or a quoted FTS5 string, never a LIKE scan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from engine import highlight, segment, synonyms
from engine.store.models import SearchDoc
from engine.synonyms import Term

KINDS = ("article", "problem", "case")
# Title words weigh three times body words, on both databases (FTS5 weights, tsvector A/B).
TITLE_WEIGHT = 3.0


@dataclass(frozen=True)
class Document:
    """What one article, known problem or resolved case contributes to the index."""

    kind: str
    ref_id: int
    title: str
    body: str
    solution: str | None = None
    category: str | None = None
    product: str | None = None


@dataclass(frozen=True)
class Hit:
    """One ranked answer; `snippet` is escaped HTML with the matched words in `<mark>`."""

    kind: str
    ref_id: int
    title: str
    snippet: str
    solution: str | None
    category: str | None
    product: str | None
    score: float


def row(doc: Document, now: datetime) -> dict[str, Any]:
    """The search_docs row of a document (also used by the set-based reindex)."""
    return {
        "kind": doc.kind,
        "ref_id": doc.ref_id,
        "title": doc.title[:300],
        "body": doc.body,
        "solution": doc.solution,
        "category": doc.category,
        "product": doc.product,
        "title_tokens": segment.tokens(doc.title),
        "body_tokens": segment.tokens(doc.body),
        "updated_at": now,
    }


def index(session: Session, doc: Document, now: datetime) -> None:
    """Add or refresh one document, in the caller's transaction."""
    values = row(doc, now)
    found = document(session, doc.kind, doc.ref_id)
    if found is None:
        session.add(SearchDoc(**values))
        return
    for name, value in values.items():
        setattr(found, name, value)


def document(session: Session, kind: str, ref_id: int) -> SearchDoc | None:
    """One indexed document (a published article, a known problem, a solved case), or None."""
    return session.scalars(
        select(SearchDoc).where(SearchDoc.kind == kind, SearchDoc.ref_id == ref_id)
    ).first()


def unindex(session: Session, kind: str, ref_id: int) -> None:
    session.execute(delete(SearchDoc).where(SearchDoc.kind == kind, SearchDoc.ref_id == ref_id))


def search(
    session: Session,
    question: str,
    *,
    kind: str,
    limit: int = 5,
    exclude: int | None = None,
) -> list[Hit]:
    """The `limit` best documents of one kind for a question, best first."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    words = segment.query_terms(question)
    terms = synonyms.expand(question, words, synonyms.groups(session))
    if not terms:
        return []
    session.flush()  # documents indexed in this transaction are found too
    if session.get_bind().dialect.name == "postgresql":
        statement, params = _postgresql(terms)
    else:
        statement, params = _sqlite(kind, terms)
    where = " AND d.kind = :kind"
    if exclude is not None:
        where += " AND d.ref_id <> :exclude"
    if kind == "article":  # whatever the index holds, only published articles come out
        where += (
            " AND EXISTS (SELECT 1 FROM kb_articles a"
            " WHERE a.id = d.ref_id AND a.status = 'published')"
        )
    sql = statement.replace("{where}", where)
    params.update(kind=kind, exclude=exclude, limit=limit)
    marked = [word for term in terms for word in (*term, "".join(term))]
    return [
        Hit(
            kind=r.kind,
            ref_id=r.ref_id,
            title=r.title,
            snippet=highlight.snippet(r.body, marked),
            solution=r.solution,
            category=r.category,
            product=r.product,
            score=float(r.score),
        )
        for r in session.execute(text(sql), params)
    ]


_COLUMNS = "d.kind, d.ref_id, d.title, d.body, d.solution, d.category, d.product"


def _sqlite(kind: str, terms: Sequence[Term]) -> tuple[str, dict[str, Any]]:
    """FTS5: the kind as an indexed column narrows the ranking to that kind's matches."""
    alternatives = " OR ".join(_fts5_string(" ".join(term)) for term in terms)
    match = f"kind : {_fts5_string(kind)} AND {{title_tokens body_tokens}} : ({alternatives})"
    sql = (
        f"SELECT {_COLUMNS}, -bm25(search_fts, 0.0, {TITLE_WEIGHT}, 1.0) AS score "
        "FROM search_fts JOIN search_docs d ON d.id = search_fts.rowid "
        "WHERE search_fts MATCH :match{where} ORDER BY bm25(search_fts, 0.0, "
        f"{TITLE_WEIGHT}, 1.0) LIMIT :limit"
    )
    return sql, {"match": match}


def _fts5_string(words: str) -> str:
    """An FTS5 string: whatever is inside is a word or a phrase, never query syntax."""
    return '"' + words.replace('"', '""') + '"'


def _postgresql(terms: Sequence[Term]) -> tuple[str, dict[str, Any]]:
    """tsquery: an OR of one `plainto_tsquery` per word, `phraseto_tsquery` per phrase."""
    parts, params = [], {}
    for number, term in enumerate(terms):
        function = "plainto_tsquery" if len(term) == 1 else "phraseto_tsquery"
        parts.append(f"{function}('simple', :t{number})")
        params[f"t{number}"] = " ".join(term)
    weights = f"'{{0.1, 0.2, {1.0 / TITLE_WEIGHT:.3f}, 1.0}}'"
    sql = (
        f"SELECT {_COLUMNS}, ts_rank({weights}, d.search_vector, q.query) AS score "
        f"FROM search_docs d, (SELECT {' || '.join(parts)} AS query) q "
        "WHERE d.search_vector @@ q.query{where} ORDER BY score DESC, d.id LIMIT :limit"
    )
    return sql, params
