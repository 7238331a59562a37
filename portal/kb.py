"""The public help pages (issue #23, item 1): published articles, by category and searched.

Clean, shareable addresses: `/help/<pack>/` (search and categories), `/help/<pack>/c/<category>`,
`/help/<pack>/a/<id>-<slug>` (an old or missing slug redirects to the current one). "Was this
helpful?" counts a vote; a "yes" is also the question answered without a record, per article
and per query (`engine.selfservice.outcomes`, source `portal`); a "no" offers the web form.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.access.ratelimit import Limit
from engine.errors import NotFound
from engine.knowledge.highlight import plain
from engine.selfservice.outcomes import Kind
from portal.theme import bp, pack
from web import DB_ID
from web import current_services as services
from web.markdown import render
from web.ratelimit import limited

QUERY_MAX = 200
PER_ADDRESS_VOTES = Limit("vote.ip", 30, timedelta(minutes=1))
_NOT_WORD = re.compile(r"[^\w]+", re.UNICODE)
SLUG_MAX = 60


def slug(title: str) -> str:
    """The title as a URL segment: words joined by '-', Chinese kept (browsers show it)."""
    return _NOT_WORD.sub("-", title).strip("-")[:SLUG_MAX].strip("-").lower() or "article"


def query_arg() -> str:
    return (request.args.get("q") or "").strip()[:QUERY_MAX]


@bp.get("/")
def index() -> Any:
    """Search, categories and the newest articles; `?q=` shows the best matches instead."""
    question = query_arg()
    category = request.args.get("c")
    hits = services().help_find(question) if question else []
    categories, articles = services().help_index(category)
    return render_template(
        "portal/index.html",
        question=question,
        hits=hits,
        categories=categories,
        articles=articles,
        category=category,
        slug=slug,
    )


@bp.get(f"/a/<{DB_ID}:article_id>")
@bp.get(f"/a/<{DB_ID}:article_id>-<path:given>")
def article(article_id: int, given: str = "") -> Any:
    """One published article; a draft, a retired article or a wrong id is a 404."""
    try:
        found = services().help_article(article_id)
    except NotFound:
        abort(404)
    canonical = slug(found.title)
    if given != canonical:
        target = url_for("help.article", article_id=article_id, given=canonical)
        query = request.query_string.decode()
        return redirect(f"{target}?{query}" if query else target, 301)
    return render_template(
        "portal/article.html",
        article=found,
        body=render(found.body),
        summary=plain(found.body)[:160],
        question=query_arg(),
        voted=request.args.get("voted"),
    )


@bp.post(f"/a/<{DB_ID}:article_id>/vote")
@limited(PER_ADDRESS_VOTES, template="portal/refused.html")  # no one address inflates a figure
def vote(article_id: int) -> Any:
    """Helpful or not; a helpful article answered the question (counted once per vote)."""
    helpful = request.form.get("helpful") == "yes"
    question = (request.form.get("q") or "").strip()[:QUERY_MAX] or None
    name = pack().name
    try:
        kind: Kind = "helpful" if helpful else "unhelpful"
        services().self_service(kind, "portal", name, article_id=article_id, query=question)
        if helpful:
            services().self_service(
                "answered", "portal", name, article_id=article_id, query=question
            )
    except NotFound:
        abort(404)
    if helpful:
        return render_template("portal/answered.html", title=_("很高兴帮到您"))
    return redirect(url_for("help.article", article_id=article_id, voted="no") + "#more-help")
