"""The pack page's upload of a year's official schedule (休/班 text or an .ics feed) into the
draft (R-2.8): the same draft `careloop calendar load` writes, reviewed in the page's preview
(diff and impact) and published like any change.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

from engine.access.users import audit
from engine.errors import NotFound
from engine.time.officialdays import ScheduleInvalid, read_schedule
from web import current_services as services
from workflows.calendardraft import load_into_draft
from workflows.calendars import CalendarLoadError

MAX_BYTES = 256 * 1024  # a year's notice is a few dozen lines; a feed of many years a few KB


def load_upload(pack: str, calendar: str, upload: FileStorage | None, by: str) -> Any:
    """Read the uploaded file, write it into the draft, and say what happened."""
    back = redirect(url_for(".pack", pack=pack, _anchor="pane-calendars"))
    data = upload.read(MAX_BYTES + 1) if upload is not None else b""
    if not data:
        flash(_("请选择一个官方安排文件（文本或 .ics）。"), "error")
        return back
    if len(data) > MAX_BYTES:
        flash(_("文件太大：一年的官方安排只有几十行。"), "error")
        return back
    try:
        schedule = read_schedule((upload.filename if upload else None) or "", data)
    except ScheduleInvalid as exc:
        for error in exc.errors:
            flash(_("第 %(n)s 行：%(message)s", n=error.line, message=error.message), "error")
        return back
    now = services().clock.now()
    with services().uow() as uow:
        try:
            result = load_into_draft(uow.session, pack, calendar, schedule, by, now)
        except NotFound:
            abort(404)
        except CalendarLoadError as exc:
            flash(str(exc), "error")
            return back
        if result.diff and not result.problems:
            audit(uow.session, by, "pack.draft", pack, now, form="calendar-load", target=calendar)
            uow.commit()
    for problem in result.problems:
        flash(problem, "error")
    if result.problems:
        return back
    if not result.diff:
        flash(_("没有改动：草稿已有这些日期。"), "info")
        return back
    flash(_("已载入草稿：确认差异与影响后发布。"), "success")
    return redirect(url_for(".pack", pack=pack))
