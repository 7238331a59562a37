"""What the queue page posts: save or delete a view, and the supervisors' bulk changes.

A bulk change runs each record through the engine's own use case (`supervise`, `transition`)
in its own transaction, so history, SLA re-planning and hooks are as for one record, and one
refused record does not undo the others; the flash says how many were done and why not.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from engine.errors import CareloopError, ConflictError, InvalidInput, NotFound
from engine.records import savedviews
from engine.records.queue import may_see
from engine.records.transitions import get_record
from forms import queuefilters
from forms.views import bp, me
from signin.auth import role_required
from web import DB_ID
from web import current_services as services

MAX_BULK = 100  # one page of the queue at most


@bp.post("/queue/views", endpoint="save_view")
@login_required  # type: ignore[untyped-decorator]
def save_view() -> Response:
    """Keep the filters the page was showing under a name, for oneself or for the team."""
    query = urlencode(queuefilters.query_of(request.form))
    with services().uow() as uow:
        try:
            view = savedviews.save_view(
                uow.session,
                me(uow.session),
                request.form.get("name", "")[:200],
                query,
                share=request.form.get("share") == "1",
                now=services().clock.now(),
            )
        except InvalidInput as exc:
            full = exc.fields.get("name") == "full"
            flash(
                _("最多保存 10 个视图，请先删除一个。") if full else _("请为视图起名（1–64 字）。"),
                "error",
            )
            kept: dict[str, Any] = queuefilters.query_of(request.form)
            return redirect(url_for("desk.queue", **kept))
        uow.commit()
        flash(_("已保存视图“%(name)s”。", name=view.name), "success")
    return redirect(url_for("desk.queue") + (f"?{query}" if query else ""))


@bp.post(f"/queue/views/<{DB_ID}:view_id>/delete", endpoint="delete_view")
@login_required  # type: ignore[untyped-decorator]
def delete_view(view_id: int) -> Response:
    """Delete one's own view; a view shared by someone else stays (only its owner deletes it)."""
    with services().uow() as uow:
        deleted = savedviews.delete_view(uow.session, me(uow.session), view_id)
        uow.commit()
    flash(
        _("已删除视图。") if deleted else _("只能删除自己的视图。"), "info" if deleted else "error"
    )
    return redirect(url_for("desk.queue"))


@bp.post("/queue/bulk", endpoint="queue_bulk")
@role_required("supervisor", "operations")
def queue_bulk() -> Response:
    """Assign the selected records to someone, or apply one transition to each of them."""
    ids = sorted({int(i) for i in request.form.getlist("ids") if i.isdigit() and len(i) <= 9})
    action = request.form.get("action")
    # Back to the page the change was made from: its filters only, re-encoded.
    back = urlencode(queuefilters.query_of(dict(parse_qsl(request.form.get("back", "")))))
    target = url_for("desk.queue") + (f"?{back}" if back else "")
    if not ids or len(ids) > MAX_BULK or action not in ("assign", "transition"):
        flash(_("请选择 1–100 条记录和一个操作。"), "error")
        return redirect(target)
    failures: dict[str, int] = {}
    done = 0
    for record_id in ids:
        reason = _one(record_id, action)
        if reason is None:
            done += 1
        else:
            failures[reason] = failures.get(reason, 0) + 1
    if failures:
        reasons = "；".join(f"{why} ×{n}" for why, n in failures.items())
        flash(
            _(
                "已处理 %(done)s 条，%(failed)s 条未能处理（%(reasons)s）",
                done=done,
                failed=sum(failures.values()),
                reasons=reasons,
            ),
            "warning",
        )
    else:
        flash(_("已处理 %(done)s 条。", done=done), "success")
    return redirect(target)


def _one(record_id: int, action: str | None) -> str | None:
    """Apply the action to one record; None if done, else why not (in the user's language)."""
    service, actor = services(), current_user.username
    try:
        if action == "assign":
            service.supervise(record_id, actor=actor, reassign_to=request.form.get("assignee", ""))
            return None
        transition = request.form.get("transition", "")
        with service.uow() as uow:
            current = get_record(uow.session, record_id)
            if not may_see(me(uow.session), current):
                raise NotFound(str(record_id))
            spec = service.specs.get(uow.session, current.pack_version_id)
            rtype = spec.record_types.get(current.record_type)
            if rtype is None or transition not in {
                t.id for t in rtype.transitions_from(current.stage)
            }:
                return str(_("当前阶段不能执行此操作"))
        service.transition(record_id, transition, {}, actor=actor)
        return None
    except NotFound:
        return str(_("记录不存在"))
    except ConflictError:
        return str(_("记录已被他人修改"))
    except CareloopError:
        return str(_("流程不允许或缺少必填项"))
