"""The record page's corrections (issue #21, item 2): edit fields, reassign, re-grade with a
reason, tags and followers. Thin: check who may (`engine.records.editing.allowed`), call the
engine's use case, flash in the user's language and go back to the record.

A stale edit form (someone changed the record since it was opened) comes back with 409, the
record as it is now and what the agent had changed typed back in, ready to save again.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy.orm import Session

from engine.errors import ConflictError, InvalidInput
from engine.records import editing, queue, tags
from engine.records.editing import Allowed
from engine.records.transitions import get_record
from engine.store.models import Record
from forms import recordedit
from forms.views import _record_page, _tz, _visible, bp, me
from web import DB_ID
from web import current_services as services

# The engine's words for a refused value (InvalidInput.fields), in the user's language.
HINTS = {
    "required": _l("请填写此项。"),
    "bad_tag": _l("标签为 1–32 个字符，不含空格和逗号。"),
    "too_many": _l("一条记录最多 20 个标签。"),
    "cannot_see": _l("该用户无权查看此记录。"),
    "unknown": _l("没有这个用户。"),
}
STALE = _l("记录已被他人更新：以下是最新内容，请确认后重试。")


def _allowed(session: Session, record_id: int) -> tuple[Record, Allowed]:
    current = _visible(session, record_id)
    return current, editing.allowed(me(session), current)


def _back(record_id: int, anchor: str = "") -> Any:
    """To the record, or to the queue when the change put it out of the user's sight."""
    with services().uow() as uow:
        if not queue.may_see(me(uow.session), get_record(uow.session, record_id)):
            return redirect(url_for("desk.queue"))
    return redirect(url_for("desk.record", record_id=record_id) + anchor)


def _refused(record_id: int, exc: InvalidInput) -> Any:
    """The record page again (400), with the engine's reason in the user's language."""
    reason = next(iter(exc.fields.values()), "")
    flash(str(HINTS.get(reason, _("此项的值无效。"))), "error")
    return _record_page(record_id, status=400)


def _version() -> int | None:
    text = request.form.get("row_version", "")
    return int(text) if text.isdigit() and len(text) < 10 else None


@bp.post(f"/records/<{DB_ID}:record_id>/fields")
@login_required  # type: ignore[untyped-decorator]
def edit_fields(record_id: int) -> Any:
    with services().uow() as uow:
        current, allowed = _allowed(uow.session, record_id)
        if not allowed.edit:
            abort(403)
        spec = services().specs.get(uow.session, current.pack_version_id)
        rtype = spec.record_type(current.record_type)
        form_class = recordedit.edit_form_class(
            spec, rtype, version_id=current.pack_version_id, timezone=ZoneInfo(_tz())
        )
        form = form_class(prefix=recordedit.PREFIX)
        fresh = recordedit.fresh_form(form_class, rtype, current)
    if not form.validate_on_submit():
        flash(_("未能保存：请检查标出的字段。"), "error")
        return _record_page(record_id, edit=form, status=400)
    values = recordedit.changed(form, rtype)
    if not values:
        flash(_("没有需要保存的修改。"), "info")
        return _back(record_id)
    try:
        changes = services().edit_fields(
            record_id,
            values,
            actor=current_user.username,
            expected_version=int(form.row_version.data),
        )
    except ConflictError:
        flash(_("记录已被他人更新：您修改的内容已保留，请核对后再保存。"), "error")
        return _record_page(record_id, edit=recordedit.keep_typed(fresh, form, rtype), status=409)
    except InvalidInput as exc:
        for name, reason in exc.fields.items():
            if name in form:
                form[name].errors = [
                    *form[name].errors,
                    str(HINTS.get(reason, _("此项的值无效。"))),
                ]
        flash(_("未能保存：请检查标出的字段。"), "error")
        return _record_page(record_id, edit=form, status=400)
    labels = "、".join(rtype.fields[n].label for n in changes) or "—"
    flash(_("已保存修改：%(fields)s", fields=labels), "success")
    return _back(record_id)


@bp.post(f"/records/<{DB_ID}:record_id>/assignee")
@login_required  # type: ignore[untyped-decorator]
def reassign(record_id: int) -> Any:
    """To a person (`user:<name>`) or a team's queue (`team:<id>`), among those offered."""
    target = request.form.get("to", "")
    with services().uow() as uow:
        current, allowed = _allowed(uow.session, record_id)
        if not allowed.reassign:
            abort(403)
        user = me(uow.session)
        spec = services().specs.get(uow.session, current.pack_version_id)
        people = {
            u.username: u.display_name for u in editing.people_for(uow.session, user, current)
        }
        teams = {
            str(t.id): recordedit.team_title(spec, t)
            for t in recordedit.teams_offered(uow.session, user, spec)
        }
    kind, _sep, key = target.partition(":")
    if not ((kind == "user" and key in people) or (kind == "team" and key in teams)):
        flash(_("不能转派给所选对象。"), "error")
        return _record_page(record_id, status=400)
    try:
        services().reassign(
            record_id,
            actor=current_user.username,
            person=key if kind == "user" else None,
            team=int(key) if kind == "team" else None,
            expected_version=_version(),
        )
    except ConflictError:
        flash(str(STALE), "error")
        return _record_page(record_id, status=409)
    if kind == "user":
        flash(_("已转派给 %(name)s。", name=people[key]), "success")
    else:
        flash(_("已转交「%(team)s」的队列。", team=teams[key]), "success")
    return _back(record_id)


@bp.post(f"/records/<{DB_ID}:record_id>/priority")
@login_required  # type: ignore[untyped-decorator]
def regrade(record_id: int) -> Any:
    """A new priority with the reason the history keeps; the SLA clocks re-plan (R-2.4)."""
    priority = request.form.get("priority", "")
    reason = request.form.get("reason", "").strip()[:200]
    with services().uow() as uow:
        current, allowed = _allowed(uow.session, record_id)
        if not allowed.priority:
            abort(403)
        spec = services().specs.get(uow.session, current.pack_version_id)
    titles = {p.id: p.title for p in spec.priorities}
    if priority not in titles or not reason or "\x00" in reason:
        flash(_("请选择优先级并填写调整原因。"), "error")
        return _record_page(record_id, status=400)
    try:
        changed = services().regrade(
            record_id, priority, reason, actor=current_user.username, expected_version=_version()
        )
    except ConflictError:
        flash(str(STALE), "error")
        return _record_page(record_id, status=409)
    if changed:
        shown = f"{priority} {titles[priority]}"
        flash(_("优先级已调整为 %(priority)s。", priority=shown), "success")
    else:
        flash(_("优先级未改变。"), "info")
    return _back(record_id)


@bp.post(f"/records/<{DB_ID}:record_id>/tags")
@login_required  # type: ignore[untyped-decorator]
def retag(record_id: int) -> Any:
    """`add`: tags typed in one box (spaces or commas between them); `remove`: one tag."""
    with services().uow() as uow:
        _current, allowed = _allowed(uow.session, record_id)
        if not allowed.tag:
            abort(403)
    typed = request.form.get("add", "")[:200]
    removed = request.form.get("remove", "")[:64]
    try:
        services().retag(
            record_id,
            add=tags.split(typed) if typed.strip() else [],
            remove=[removed] if removed else [],
            actor=current_user.username,
        )
    except InvalidInput as exc:
        return _refused(record_id, exc)
    return _back(record_id, "#tags")


@bp.post(f"/records/<{DB_ID}:record_id>/followers")
@login_required  # type: ignore[untyped-decorator]
def refollow(record_id: int) -> Any:
    """`follow` / `unfollow` (oneself, one click), or `add` / `remove` a colleague by name."""
    with services().uow() as uow:
        _current, allowed = _allowed(uow.session, record_id)
        if not allowed.follow:
            abort(403)
    me_, form = current_user.username, request.form
    add = [me_] if "follow" in form else _names(form.get("add"))
    remove = [me_] if "unfollow" in form else _names(form.get("remove"))
    if not add and not remove:
        return _back(record_id, "#followers")
    try:
        services().refollow(record_id, add=add, remove=remove, actor=me_)
    except InvalidInput as exc:
        return _refused(record_id, exc)
    if "follow" in form:
        flash(_("已关注：阶段、负责人、优先级的变化和客户的新消息会通知您。"), "success")
    elif "unfollow" in form:
        flash(_("已取消关注。"), "success")
    return _back(record_id, "#followers")


def _names(value: str | None) -> list[str]:
    """A colleague's username as posted, if any (the engine refuses one nobody has)."""
    return [value] if value else []
