"""The knowledge base for staff: search articles, known problems and cases; read an article.

S2 asks for an online knowledge base; agents also reach articles from a
record's suggestions. Only published articles are shown, rendered safely.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request
from flask_login import login_required
from markupsafe import Markup

from engine.store.models import Article
from web import DB_ID
from web import current_services as services
from web.markdown import render

bp = Blueprint("kb", __name__, template_folder="templates", url_prefix="/kb")
MAX_QUESTION = 500


@bp.get("/")
@login_required  # type: ignore[untyped-decorator]
def index() -> Any:
    question = request.args.get("q", "").strip()[:MAX_QUESTION]
    hits = services().knowledge_search(question) if question else {}
    return render_template("desk/kb.html", question=question, hits=hits, markup=Markup)


@bp.get(f"/articles/<{DB_ID}:article_id>")
@login_required  # type: ignore[untyped-decorator]
def article(article_id: int) -> Any:
    with services().uow() as uow:
        found = uow.session.get(Article, article_id)
        if found is None or found.status != "published":
            abort(404)
        return render_template("desk/article.html", article=found, body=render(found.body))
