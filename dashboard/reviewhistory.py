"""The reviews as they were mailed (issue #25 item 4, R-4.2): a list for supervisors, and each
one's HTML exactly as its recipients got it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from engine.store.models import ReviewRun
from signin.auth import role_required
from web import current_services as services

bp = Blueprint("reviews", __name__, template_folder="templates")
READERS = ("supervisor", "operations")
DOCUMENT_START, DOCUMENT_END = "<!doctype html><html><body>", "</body></html>"


@bp.get("/dashboard/reviews")
@role_required(*READERS)
def history() -> Any:
    with services().uow() as uow:
        runs = list(
            uow.session.scalars(
                select(ReviewRun)
                .order_by(ReviewRun.built_at.desc(), ReviewRun.id.desc())
                .limit(200)
            )
        )
    tz = str(current_user.user.timezone)
    return render_template("dashboard/reviews.html", runs=runs, tz=tz)


@bp.get("/dashboard/reviews/<int:run_id>")
@role_required(*READERS)
def mailed(run_id: int) -> Any:
    with services().uow() as uow:
        run = uow.session.get(ReviewRun, run_id)
        if run is None:
            abort(404)
        # Built by engine/insight/reviewdoc.py, every cell escaped there.
        body = Markup(run.html_body.removeprefix(DOCUMENT_START).removesuffix(DOCUMENT_END))
    return render_template("dashboard/review_mailed.html", run=run, body=body)
