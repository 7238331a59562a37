"""Canned responses on the desk (issue #21): the reply box's search and "我的快捷回复".

The reply box asks `/records/<id>/canned` for the texts rendered for its record (on the
server, in the sandbox); `web/static/canned.js` filters them by title and keywords and inserts
one. A pack's text
may name a transition: the box then offers "发送后：…", applied here once the reply stands,
through the same service as the record page's forms. A refused transition is flashed; the
reply is kept, as it is already on the thread.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.errors import ConflictError, InvalidInput, NotFound, TransitionRefused
from forms.views import _visible
from web import DB_ID
from web import current_services as services

bp = Blueprint("canned", __name__)


@bp.get(f"/records/<{DB_ID}:record_id>/canned")
@login_required  # type: ignore[untyped-decorator]
def for_record(record_id: int) -> Any:
    """The texts the reply box offers on the record, rendered for it; `q` filters them by
    title and keywords (every word must match)."""
    with services().uow() as uow:
        _visible(uow.session, record_id)
    offered = services().canned_for(
        record_id, current_user.username, current_user.user.display_name
    )
    words = request.args.get("q", "").lower().split()
    return jsonify(
        [
            {
                "key": o.key,
                "title": o.title,
                "keywords": list(o.keywords),
                "text": o.text,
                "transition": o.transition,
                "then": _("发送后：%(action)s", action=o.transition_title) if o.transition else "",
            }
            for o in offered
            if all(w in " ".join((o.title, *o.keywords)).lower() for w in words)
        ]
    )


def apply_after_reply(record_id: int) -> None:
    """Apply the transition of the canned response the reply used, when the agent ticked it."""
    key = request.form.get("canned", "")
    if request.form.get("then") != "1" or not key:
        return
    chosen = services().canned_after_sending(record_id, key)
    if chosen is None:
        flash(_("回复已发送；记录当前的阶段不能再执行快捷回复所带的处理。"), "error")
        return
    transition, values = chosen
    try:
        services().transition(record_id, transition.id, values, actor=current_user.username)
    except (InvalidInput, TransitionRefused, ConflictError) as exc:
        flash(_("回复已发送，但未能执行处理：%(reason)s", reason=str(exc)), "error")
        return
    flash(_("已%(action)s。", action=transition.title), "success")


@bp.get("/me/canned")
@login_required  # type: ignore[untyped-decorator]
def mine() -> Any:
    return _page()


@bp.post("/me/canned")
@login_required  # type: ignore[untyped-decorator]
def add() -> Any:
    return _save(None)


@bp.get(f"/me/canned/<{DB_ID}:canned_id>")
@login_required  # type: ignore[untyped-decorator]
def edit(canned_id: int) -> Any:
    try:
        row = services().get_own_canned(current_user.username, canned_id)
    except NotFound:
        abort(404)
    return _page(editing=canned_id, typed={"title": row.title, "body": row.body})


@bp.post(f"/me/canned/<{DB_ID}:canned_id>")
@login_required  # type: ignore[untyped-decorator]
def change(canned_id: int) -> Any:
    return _save(canned_id)


@bp.post(f"/me/canned/<{DB_ID}:canned_id>/delete")
@login_required  # type: ignore[untyped-decorator]
def delete(canned_id: int) -> Any:
    try:
        services().delete_canned(current_user.username, canned_id)
    except NotFound:
        abort(404)
    flash(_("已删除快捷回复。"), "success")
    return redirect(url_for("canned.mine"))


def _save(canned_id: int | None) -> Any:
    typed = {"title": request.form.get("title", ""), "body": request.form.get("body", "")}
    try:
        services().save_canned(current_user.username, typed["title"], typed["body"], canned_id)
    except NotFound:
        abort(404)
    except InvalidInput as exc:
        flash(_("未能保存：%(reason)s", reason=str(exc)), "error")
        return _page(editing=canned_id, typed=typed, error=str(exc), status=400)
    flash(_("已保存快捷回复。"), "success")
    return redirect(url_for("canned.mine"))


def _page(
    *,
    editing: int | None = None,
    typed: dict[str, str] | None = None,
    error: str = "",
    status: int = 200,
) -> Any:
    rows = services().own_canned(current_user.username)
    page = render_template(
        "desk/canned.html", rows=rows, editing=editing, typed=typed or {}, error=error
    )
    return page, status
