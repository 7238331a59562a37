"""The knowledge base: articles with their versions, known problems and the case library.

Each change here also keeps the search index in step, in the same
transaction: a published article is searchable, a draft or retired one is
not; a record becomes a searchable case when it is resolved with a solution
or lessons (R-4.1) and stops being one when it is reopened.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from engine.errors import InvalidInput, NotFound
from engine.events import KnownProblemLinked
from engine.knowledge import highlight, search
from engine.records.journal import add_event
from engine.store.models import (
    Article,
    ArticleVersion,
    KnownProblem,
    KnownProblemLink,
    Record,
    SearchDoc,
)

STATUSES = ("draft", "published", "retired")
PROBLEM_STATUSES = ("open", "fixed")
# What a resolved record contributes to the case library: never its personal fields.
CASE_FIELDS = ("product", "description", "solution", "lessons")
SOLVED_KINDS = ("resolved", "closed")
# What a record is searched by when it arrives: what the customer said about which product.
QUESTION_FIELDS = ("product", "description", "scenario")


def save_article(session: Session, article: Article, *, actor: str, now: datetime) -> Article:
    """Keep the article as saved now as its next version, and (un)index it by its status."""
    if article.status not in STATUSES:
        raise InvalidInput(
            f"status must be one of {', '.join(STATUSES)}", fields={"status": article.status}
        )
    if not (article.title or "").strip():
        raise InvalidInput("an article needs a title", fields={"title": "required"})
    article.body = article.body or ""
    article.version = (article.version or 0) + 1
    article.updated_by, article.updated_at = actor, now
    if article.id is None:
        session.add(article)
    session.add(
        ArticleVersion(
            article=article,
            version=article.version,
            title=article.title,
            body=article.body,
            category=article.category,
            product=article.product,
            tags=article.tags,
            status=article.status,
            saved_by=actor,
            saved_at=now,
        )
    )
    session.flush()
    if article.status == "published":
        search.index(session, article_document(article), now)
    else:
        search.unindex(session, "article", article.id)
    return article


def article_document(article: Article) -> search.Document:
    body = " ".join(
        part for part in (highlight.plain(article.body), article.tags, article.product) if part
    )
    return search.Document(
        "article",
        article.id,
        article.title,
        body,
        solution=article.body,
        category=article.category,
        product=article.product,
    )


def save_problem(
    session: Session, problem: KnownProblem, *, actor: str, now: datetime
) -> KnownProblem:
    if not (problem.title or "").strip():
        raise InvalidInput("a known problem needs a title", fields={"title": "required"})
    problem.status = problem.status or "open"
    if problem.status not in PROBLEM_STATUSES:
        raise InvalidInput(
            f"status must be one of {', '.join(PROBLEM_STATUSES)}",
            fields={"status": problem.status},
        )
    problem.symptoms, problem.solution = problem.symptoms or "", problem.solution or ""
    problem.updated_by, problem.updated_at = actor, now
    if problem.id is None:
        session.add(problem)
    session.flush()
    search.index(session, problem_document(problem), now)
    return problem


def problem_document(problem: KnownProblem) -> search.Document:
    return search.Document(
        "problem",
        problem.id,
        problem.title,
        f"{problem.symptoms} {problem.solution}".strip(),
        solution=problem.solution,
        category=problem.category,
        product=problem.product,
    )


def link_problem(
    session: Session, record: Record, problem_id: int, *, actor: str, now: datetime
) -> KnownProblem:
    """Say the record is an instance of a known problem (one problem, many records)."""
    problem = session.get(KnownProblem, problem_id)
    if problem is None:
        raise NotFound(f"known problem {problem_id} does not exist")
    link = session.get(KnownProblemLink, record.id)
    if link is not None and link.problem_id == problem_id:
        return problem
    if link is None:
        session.add(
            KnownProblemLink(
                record_id=record.id, problem_id=problem_id, linked_by=actor, linked_at=now
            )
        )
    else:
        link.problem_id, link.linked_by, link.linked_at = problem_id, actor, now
    add_event(session, record, now, KnownProblemLinked(problem.id, problem.title), actor=actor)
    record.updated_at = now
    return problem


def linked_problem(session: Session, record_id: int) -> KnownProblem | None:
    return session.scalars(
        select(KnownProblem)
        .join(KnownProblemLink, KnownProblemLink.problem_id == KnownProblem.id)
        .where(KnownProblemLink.record_id == record_id)
    ).first()


def top_problems(session: Session, limit: int = 20) -> list[tuple[KnownProblem, int]]:
    """Known problems by the number of records linked to them, most first (R-4.2, R-7.2)."""
    count = func.count(KnownProblemLink.record_id)
    rows = session.execute(
        select(KnownProblem, count)
        .join(KnownProblemLink, KnownProblemLink.problem_id == KnownProblem.id)
        .group_by(KnownProblem.id)
        .order_by(count.desc(), KnownProblem.id)
        .limit(limit)
    )
    return [(problem, int(n)) for problem, n in rows]


def suggestions(session: Session, record: Record, *, limit: int = 5) -> dict[str, list[search.Hit]]:
    """Each kind's documents most like the record's own words (never its personal fields)."""
    fields = record.fields or {}
    question = " ".join(str(fields.get(name) or "") for name in QUESTION_FIELDS)
    return {
        kind: search.search(
            session,
            question,
            kind=kind,
            limit=limit,
            exclude=record.id if kind == "case" else None,
        )
        for kind in search.KINDS
    }


def case_document(
    record_id: int, fields: dict[str, Any] | None, category: str | None, record_type: str
) -> search.Document | None:
    """A solved record as a case, or None when it holds no solution and no lessons."""
    text = {name: str((fields or {}).get(name) or "").strip() for name in CASE_FIELDS}
    if not (text["solution"] or text["lessons"]):
        return None
    head = text["description"][:60] or category or record_type
    title = f"{text['product']} · {head}" if text["product"] else head
    body = " ".join(text[name] for name in ("description", "solution", "lessons") if text[name])
    return search.Document(
        "case",
        record_id,
        title,
        body,
        solution=text["solution"] or text["lessons"],
        category=category,
        product=text["product"] or None,
    )


def on_stage_change(
    session: Session, record: Record, old_kind: str, new_kind: str, now: datetime
) -> None:
    """A resolved or closed record joins the case library; a reopened one leaves it."""
    if new_kind in SOLVED_KINDS:
        document = case_document(record.id, record.fields, record.category, record.record_type)
        if document is not None:
            search.index(session, document, now)
            return
    if old_kind in SOLVED_KINDS or new_kind in SOLVED_KINDS:
        search.unindex(session, "case", record.id)


def reindex(session: Session, now: datetime, *, batch_size: int = 2000) -> dict[str, int]:
    """Rebuild the whole index: published articles, known problems, solved cases (backfill).

    Set-based: records are read as plain rows a batch at a time in id order and
    their documents inserted with one executemany per batch, not object by object.
    """
    session.execute(delete(SearchDoc))
    counts = {"article": 0, "problem": 0, "case": 0}
    for article in session.scalars(select(Article).where(Article.status == "published")):
        search.index(session, article_document(article), now)
        counts["article"] += 1
    for problem in session.scalars(select(KnownProblem)):
        search.index(session, problem_document(problem), now)
        counts["problem"] += 1
    session.flush()
    after = 0
    while True:
        rows = session.execute(
            select(Record.id, Record.fields, Record.category, Record.record_type)
            .where(Record.stage_kind.in_(SOLVED_KINDS), Record.id > after)
            .order_by(Record.id)
            .limit(batch_size)
        ).all()
        if not rows:
            return counts
        documents = [case_document(*r) for r in rows]
        values = [search.row(d, now) for d in documents if d is not None]
        if values:
            session.execute(insert(SearchDoc), values)
        counts["case"] += len(values)
        after = rows[-1].id
