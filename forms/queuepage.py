"""The work queue page and its export: the records the filters find, keyset-paged (issue #21).

Thin: the arguments become a `Finder` (forms.queuefilters), the engine's finder reads the page
in one statement, and the saved views' counts come in one more.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from flask import Response, abort, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from dashboard import export
from engine.access.users import display_names
from engine.records import finder, savedviews, tags
from engine.records.versions import latest_versions
from engine.specs.pack import PackSpec
from engine.store.models import Record, User
from forms import queuefilters, queuerows
from forms.views import bp, me
from web import current_services as services

PAGE = 25
EXPORT_MAX, EXPORT_BATCH = 5000, 500


@bp.get("/queue", endpoint="queue")
@login_required  # type: ignore[untyped-decorator]
def queue_view() -> Any:
    """The queue as filtered, sorted and paged by the arguments, with the saved views' tabs."""
    now = services().clock.now()
    with services().uow() as uow:
        user = me(uow.session)
        parsed = queuefilters.parse(request.args, user)
        wanted = parsed.finder
        after = _after(wanted)
        page = finder.find_page(uow.session, user, wanted, now, limit=PAGE, after=after)
        rows = queuerows.rows_of(page, _specs(uow.session, page), now)
        views = _views(uow.session, user, now)
        options = _options(uow.session)
        names = display_names(uow.session, (r.assignee for r in page))  # people, not logins
        tagged = tags.tags_of(uow.session, (r.id for r in page))  # the page's tags, one query
    if parsed.ignored:
        flash(_("未应用无效的筛选条件：%(names)s", names=", ".join(parsed.ignored)), "warning")
    next_url = None
    if len(page) == PAGE:
        cursor = queuefilters.encode_cursor(wanted.sort, finder.cursor_of(wanted, page[-1]))
        following: dict[str, Any] = {**request.args.to_dict(), "after": cursor}
        next_url = url_for("desk.queue", **following)
    query = queuefilters.query_of(request.args)
    return render_template(
        "desk/queue.html",
        rows=rows,
        next_url=next_url,
        user=user,
        args=request.args,
        views=views,
        options=options,
        query=urlencode(query),
        transitions=_transitions(rows),
        names=names,
        tags=tagged,
    )


@bp.get("/queue/export.<fmt>", endpoint="queue_export")
@login_required  # type: ignore[untyped-decorator]
def queue_export(fmt: str) -> Any:
    """The filtered list as CSV (UTF-8 with a BOM) or XLSX: masked, formula cells defused."""
    if fmt not in ("csv", "xlsx"):
        abort(404)
    now = services().clock.now()
    with services().uow() as uow:
        user = me(uow.session)
        wanted = queuefilters.parse(request.args, user).finder
        cells = [queuerows.export_header()]
        for page in _pages(uow.session, user, wanted, now):
            specs = _specs(uow.session, page)
            tagged = tags.tags_of(uow.session, (r.id for r in page))  # one query a page
            names = display_names(uow.session, (r.assignee for r in page))
            cells.extend(
                queuerows.export_cells(
                    row,
                    user.timezone,
                    names.get(row.record.assignee or "", row.record.assignee),
                    tagged.get(row.record.id, []),
                )
                for row in queuerows.rows_of(page, specs, now)
            )
    stamp = now.strftime("%Y%m%d-%H%M")
    if fmt == "csv":
        body, mime = export.to_csv(cells), "text/csv; charset=utf-8"
    else:
        body = export.to_xlsx(cells, sheet="Queue")
        mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(
        body,
        mimetype=mime,
        headers={"Content-Disposition": f'attachment; filename="queue-{stamp}.{fmt}"'},
    )


def _pages(session: Session, user: User, wanted: finder.Finder, now: datetime) -> Any:
    """The export's records a batch at a time along the same keyset, up to EXPORT_MAX."""
    after, sent = None, 0
    while sent < EXPORT_MAX:
        page = finder.find_page(session, user, wanted, now, limit=EXPORT_BATCH, after=after)
        if not page:
            return
        yield page
        sent += len(page)
        if len(page) < EXPORT_BATCH:
            return
        after = finder.cursor_of(wanted, page[-1])


def _after(wanted: finder.Finder) -> list[Any] | None:
    text = request.args.get("after")
    if not text:
        return None
    try:
        return queuefilters.decode_cursor(text, wanted.sort)
    except queuefilters.BadCursor:
        abort(400)


def _specs(session: Session, records: list[Record]) -> dict[int, PackSpec]:
    versions = {r.pack_version_id for r in records}
    return {v: services().specs.get(session, v) for v in versions}


def _views(session: Session, user: User, now: datetime) -> list[dict[str, Any]]:
    """The user's and their team's saved views, each with its count (one statement)."""
    saved = savedviews.views_for(session, user)
    finders = [queuefilters.parse(MultiDict(parse_qsl(v.query)), user).finder for v in saved]
    counts = finder.count_each(session, user, finders, now)
    return [
        {"view": v, "count": n, "mine": v.owner == user.username}
        for v, n in zip(saved, counts, strict=True)
    ]


def _options(session: Session) -> dict[str, dict[str, str]]:
    """The filters' choices from the packs' latest versions: key → label, never a raw key."""
    found: dict[str, dict[str, str]] = {
        n: {} for n in ("stage", "priority", "channel", "category", "department")
    }
    for version in latest_versions(session):
        spec = services().specs.of(version)
        for rtype in spec.record_types.values():
            found["stage"].update({k: s.title for k, s in rtype.stages.items()})
        found["priority"].update({p.id: p.title for p in spec.priorities})
        for name, options in (
            ("channel", spec.channels),
            ("category", spec.categories),
            ("department", spec.departments),
        ):
            found[name].update({k: o.title for k, o in options.items()})
    found["assignee"] = dict(
        session.execute(select(User.username, User.display_name).where(User.active.is_(True))).all()
    )
    return found


def _transitions(rows: list[queuerows.Row]) -> dict[str, str]:
    """The transitions from the stages on the page, offered for a bulk change (supervisors)."""
    found: dict[str, str] = {}
    for row in rows:
        rtype = row.rtype
        if rtype is not None:
            found.update({t.id: t.title for t in rtype.transitions_from(row.record.stage)})
    return found
