"""Moving a record's deadline from the desk (R-3.2): a new time and the reason the customer is
told, at least a day before the deadline; later only a supervisor may override.

Thin like `thread.py`: parse the form, call the engine, come back to the record page. What the
engine refuses (too late, a time before the current deadline, no reason) is shown there with
what was typed kept, never as a 500.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.errors import ConflictError, InvalidInput
from engine.time.extensions import ExtensionRefused
from forms.views import _record_page, _tz, _visible
from web import DB_ID
from web import current_services as services

bp = Blueprint("deadline", __name__)
MAX_REASON = 500
LOCAL_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?")


@bp.post(f"/records/<{DB_ID}:record_id>/deadline")
@login_required  # type: ignore[untyped-decorator]
def extend(record_id: int) -> Any:
    with services().uow() as uow:
        _visible(uow.session, record_id)  # 404 for a record this user may not open
    typed = {
        "box": "deadline",
        "deadline": request.form.get("deadline", "")[:32],
        "reason": request.form.get("reason", "")[:MAX_REASON],
    }
    moment = _moment(typed["deadline"])
    if moment is None:
        flash(_("请填写新的截止时间，例如 2026-11-27 18:00。"), "error")
        return _record_page(record_id, status=400, compose=typed)
    override = bool(request.form.get("override")) and current_user.role == "supervisor"
    try:
        services().extend_deadline(
            record_id, moment, typed["reason"], actor=current_user.username, override=override
        )
    except ConflictError:
        flash(_("记录已被他人更新：以下是最新内容，请确认后重试。"), "error")
        return _record_page(record_id, status=409, compose=typed)
    except ExtensionRefused as exc:
        flash(_refusal(exc), "error")
        return _record_page(record_id, status=400, compose=typed)
    except InvalidInput as exc:
        flash(_("未能延期：%(reason)s", reason=str(exc)), "error")
        return _record_page(record_id, status=400, compose=typed)
    flash(_("截止时间已调整，客户将收到延期通知。"), "success")
    return redirect(url_for("desk.record", record_id=record_id))


def _moment(text: str) -> datetime | None:
    """A `datetime-local` value (2026-11-27T18:00), read in the signed-in user's timezone.

    Matched whole first: `fromisoformat` alone lets a trailing NUL byte through."""
    if not LOCAL_TIME.fullmatch(text):
        return None
    try:
        moment = datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(_tz()))
    except ValueError:
        return None
    return moment if 2000 <= moment.year <= 2999 else None


def _refusal(exc: ExtensionRefused) -> str:
    if exc.fields.get("deadline") == "too late to move without a supervisor":
        return str(_("距截止时间已不足通知期限（须提前告知客户），需由主管批准延期。"))
    if exc.fields.get("deadline") == "passed":
        return str(_("截止时间已过，不能再延期。"))
    return str(_("未能延期：%(reason)s", reason=str(exc)))
