"""Merging two records from the record page (issue #21 item 2).

The page's record is one side; the agent types the other's number (`123`, `#123` or
`CL-123`) and says which one stays. Both must be records the agent may see: another team's
record is a 404, as its page is, so the form reveals nothing of what exists. The engine
decides what may merge (`engine.records.merge`); its refusals are shown here in the user's
language, with what was typed kept.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from engine.errors import CareloopError, ConflictError, InvalidInput, NotFound
from engine.records import merge
from forms.views import _record_page, _visible, bp
from web import DB_ID
from web import current_services as services

DIRECTIONS = ("into_this", "into_other")  # the page's record stays / goes into the other
# Why the engine refused, by the field reason it gives (`merge.check`); None: closed or merged.
REFUSALS = {
    "itself": _l("一条记录不能合并到它自己。"),
    "number": _l("请输入记录编号，例如 123 或 CL-123。"),
    "another record type": _l("只能合并同一流程包、同一类型的记录。"),
    "another customer": _l("两条记录属于不同的客户，不能合并。"),
    None: _l("已关闭或已合并的记录不能再合并。"),
}


@bp.post(f"/records/<{DB_ID}:record_id>/merge")
@login_required  # type: ignore[untyped-decorator]
def merge_records(record_id: int) -> Any:
    """Merge the other record into this one, or this one into the other."""
    typed = {
        "box": "merge",
        "other": request.form.get("other", "")[:40],
        "direction": request.form.get("direction", "into_this"),
    }
    if typed["direction"] not in DIRECTIONS:
        typed["direction"] = "into_this"
    version = request.form.get("row_version", "")
    missing: CareloopError | None = None
    with services().uow() as uow:
        _visible(uow.session, record_id)
        try:
            other = _visible(uow.session, merge.find(uow.session, typed["other"]).id).id
        except (NotFound, InvalidInput) as exc:  # rendered below, once this session is closed
            missing = exc
    if isinstance(missing, InvalidInput):
        return _refused(record_id, missing, typed)
    if missing is not None:
        flash(_("没有编号为 %(number)s 的记录。", number=typed["other"]), "error")
        return _record_page(record_id, status=404, compose=typed)
    duplicate, survivor = (
        (other, record_id) if typed["direction"] == "into_this" else (record_id, other)
    )
    expected = {record_id: int(version)} if version.isdigit() and len(version) < 10 else None
    try:
        services().merge_records(
            duplicate, survivor, actor=current_user.username, expected=expected
        )
    except ConflictError:
        flash(_("记录已被他人更新：以下是最新内容，您填写的内容已保留，请核对后再提交。"), "error")
        return _record_page(record_id, status=409, compose=typed)
    except CareloopError as exc:
        return _refused(record_id, exc, typed)
    flash(_("已将记录 #%(merged)s 合并到 #%(into)s。", merged=duplicate, into=survivor), "success")
    return redirect(url_for("desk.record", record_id=survivor))


def _refused(record_id: int, exc: CareloopError, typed: dict[str, str]) -> Any:
    """The engine's refusal in the user's words; what was typed stays in the form."""
    why = getattr(exc, "fields", {}).get("into")
    flash(str(REFUSALS.get(why, REFUSALS[None])), "error")
    return _record_page(record_id, status=409 if why is None else 422, compose=typed)
