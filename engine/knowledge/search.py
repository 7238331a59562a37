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

from engine.knowledge import highlight, segment, synonyms
from engine.knowledge.synonyms import Term
from engine.store.models import SearchDoc

KINDS = ("article", "problem", "case")
# Title words weigh three times body words, on both databases (FTS5 weights, tsvector A/B).
TITLE_WEIGHT = 3.0
# Only the newest matches of a kind are ranked: a question full of common words (物流 matches
# a quarter of a million cases at 1,000,000) would otherwise rank all of them; this bounds
# the time whatever the size, and recent cases are the ones worth suggesting anyway.
CANDIDATES = 1000


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
        statement, params = _postgresql(kind, terms)
    else:
        statement, params = _sqlite(kind, terms)
    where = ""
    if exclude is not None:
        where += " AND d.ref_id <> :exclude"
    if kind == "article":  # whatever the index holds, only published articles come out
        where += (
            " AND EXISTS (SELECT 1 FROM kb_articles a"
            " WHERE a.id = d.ref_id AND a.status = 'published')"
        )
    sql = statement.replace("{where}", where)
    params.update(exclude=exclude, limit=limit, candidates=CANDIDATES)
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
    """FTS5, one table per kind (`kind` is one of KINDS, never the caller's text)."""
    fts = f"search_fts_{kind}"
    match = " OR ".join(
        "(" + " AND ".join(_fts5_string(word) for word in term) + ")" for term in terms
    )
    sql = (
        f"SELECT {_COLUMNS}, -c.rank AS score FROM ("
        f"SELECT rowid AS id, bm25({fts}, {TITLE_WEIGHT}, 1.0) AS rank FROM {fts} "
        f"WHERE {fts} MATCH :match ORDER BY rowid DESC LIMIT :candidates"
        ") c JOIN search_docs d ON d.id = c.id WHERE 1 = 1{where} "
        "ORDER BY c.rank, d.id LIMIT :limit"
    )
    return sql, {"match": match}


def _fts5_string(words: str) -> str:
    """An FTS5 string: whatever is inside is a word or a phrase, never query syntax."""
    return '"' + words.replace('"', '""') + '"'


def _postgresql(kind: str, terms: Sequence[Term]) -> tuple[str, dict[str, Any]]:
    """tsquery: an OR of one `plainto_tsquery` per term (the AND of its words).

    The kind is written into the statement (one of KINDS) so the planner sees which partial
    GIN index applies; the newest candidates come from the (kind, ref_id) index when the
    words are common, from the GIN index when they are rare.
    """
    parts, params = [], {}
    for number, term in enumerate(terms):
        parts.append(f"plainto_tsquery('simple', :t{number})")
        params[f"t{number}"] = " ".join(term)
    weights = f"'{{0.1, 0.2, {1.0 / TITLE_WEIGHT:.3f}, 1.0}}'"
    sql = (
        f"SELECT {_COLUMNS}, ts_rank({weights}, d.search_vector, q.query) AS score "
        f"FROM (SELECT {' || '.join(parts)} AS query) q CROSS JOIN LATERAL ("
        f"SELECT m.id FROM search_docs m WHERE m.kind = '{kind}' "
        "AND m.search_vector @@ q.query ORDER BY m.ref_id DESC LIMIT :candidates) c "
        "JOIN search_docs d ON d.id = c.id WHERE 1 = 1{where} "
        "ORDER BY score DESC, d.id LIMIT :limit"
    )
    return sql, params
