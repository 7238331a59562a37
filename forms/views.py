"""The agent's workspace: the queue, take next, the record page with its forms, the 360° view.

Thin like cosmicpython's entrypoints: parse, call the engine, render or redirect.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import bounds
from engine.access.choices import LOCALES
from engine.access.masking import mask_contact, mask_name
from engine.access.users import audit, display_names, get_user
from engine.conversation.thread import thread_of, threads_of
from engine.customers import loyalty, profiles
from engine.errors import ConflictError, InvalidInput, NotFound, TransitionRefused
from engine.records import merge, queue
from engine.records.transitions import get_record
from engine.records.versions import latest_versions
from engine.specs.pack import PackSpec
from engine.store.models import Record, RecordEvent, User
from forms import carewords, recordedit
from forms.builder import form_values, transition_form_class
from forms.present import (
    ROLES,
    clock_state,
    countdown,
    event_label,
    local,
    shown_fields,
    sla_view,
    tier_titles,
)
from forms.triage import triage
from portal import survey
from signin.auth import role_required
from web import DB_ID
from web import current_services as services

bp = Blueprint(
    "desk",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/desk-static",
)
TIMELINE = 200


def me(session: Session) -> User:
    return get_user(session, int(current_user.id))


@bp.app_context_processor
def helpers() -> dict[str, Any]:
    return {
        "countdown": countdown,
        "local": local,
        "clock_state": clock_state,
        "mask_name": mask_name,
        "mask_contact": mask_contact,
        "event_label": event_label,
        "role_name": lambda role: ROLES.get(role, role),
        "language": getattr(get_locale(), "language", "zh"),  # "zh" or "en", for templates
    }


@bp.post("/queue/take")
@login_required  # type: ignore[untyped-decorator]
def take_next() -> Any:
    with services().uow() as uow:
        record = queue.take_next(uow.session, me(uow.session), services().clock.now())
        uow.commit()
    if record is None:
        flash(_("队列中没有待领取的记录。"), "info")
        return redirect(url_for("desk.queue"))
    return redirect(url_for("desk.record", record_id=record.id))


@bp.get(f"/records/<{DB_ID}:record_id>")
@login_required  # type: ignore[untyped-decorator]
def record(record_id: int) -> Any:
    return _record_page(record_id)


@bp.post(f"/records/<{DB_ID}:record_id>/transitions/<transition_id>")
@login_required  # type: ignore[untyped-decorator]
def transition(record_id: int, transition_id: str) -> Any:
    with services().uow() as uow:
        current = _visible(uow.session, record_id)
        spec = services().specs.get(uow.session, current.pack_version_id)
        rtype = spec.record_type(current.record_type)
        if transition_id not in rtype.transitions:
            abort(404)
        form = _form(spec, current, transition_id)
    if not form.validate_on_submit():
        return _record_page(record_id, forms={transition_id: form}, status=400)
    try:
        services().transition(
            record_id,
            transition_id,
            form_values(form, rtype.transitions[transition_id]),
            actor=current_user.username,
            expected_version=form.row_version.data or None,
        )
    except ConflictError:  # the page reloads the record and keeps what was typed (issue #21)
        flash(_("记录已被他人更新：以下是最新内容，您填写的内容已保留，请核对后再提交。"), "error")
        return _record_page(record_id, forms={transition_id: form}, status=409, stale=True)
    except InvalidInput as exc:
        for name, message in exc.fields.items():
            field = getattr(form, name, None)
            if field is not None:
                field.errors = [*field.errors, message]
        flash(str(exc), "error")
        return _record_page(record_id, forms={transition_id: form}, status=400)
    except TransitionRefused as exc:
        flash(str(exc), "error")
        return _record_page(record_id, forms={transition_id: form}, status=400)
    flash(_("已%(action)s。", action=rtype.transitions[transition_id].title), "success")
    with services().uow() as uow:
        still_mine = queue.may_see(me(uow.session), get_record(uow.session, record_id))
    if not still_mine:  # routed to another team: back to the queue, not to a 404
        return redirect(url_for("desk.queue"))
    return redirect(url_for("desk.record", record_id=record_id))


@bp.post(f"/records/<{DB_ID}:record_id>/known-problem")
@login_required  # type: ignore[untyped-decorator]
def link_known_problem(record_id: int) -> Any:
    """Say this record is one more instance of a known problem (R-2.1; counted for R-4.2)."""
    with services().uow() as uow:
        _visible(uow.session, record_id)
    problem_id = bounds.parse_id(request.form.get("problem_id", ""))
    if problem_id is None:  # not a number, or past any stored id
        abort(400)
    try:
        problem = services().link_known_problem(record_id, problem_id, actor=current_user.username)
    except NotFound:
        abort(404)
    except ConflictError:
        flash(_("记录已被他人更新：以下是最新内容，请确认后重试。"), "error")
        return redirect(url_for("desk.record", record_id=record_id))
    flash(_("已关联已知问题：%(title)s", title=problem.title), "success")
    return redirect(url_for("desk.record", record_id=record_id))


@bp.post(f"/records/<{DB_ID}:record_id>/reveal")
@role_required("supervisor", "operations")
def reveal(record_id: int) -> Any:
    """Show personal data unmasked, once, and write that and why to the audit log (R-8.3).

    A reveal without a reason is refused: the log must say why someone looked.
    """
    reason = request.form.get("reason", "").strip()[:200]
    with services().uow() as uow:
        _visible(uow.session, record_id)
        if reason:
            audit(
                uow.session,
                current_user.username,
                "reveal",
                f"record:{record_id}",
                services().clock.now(),
                reason=reason,
            )
            uow.commit()
    if not reason:
        flash(_("请填写查看原因：它会记入审计日志。"), "error")
        return _record_page(record_id, status=400)
    return _record_page(record_id, reveal=True)


@bp.post("/me/language", endpoint="language")
@login_required  # type: ignore[untyped-decorator]
def set_language() -> Any:
    """Each user reads the workspace in their own language (zh by default, or en)."""
    locale = request.form.get("locale", "zh")
    if locale not in LOCALES:
        abort(400)
    with services().uow() as uow:
        me(uow.session).locale = locale
        uow.commit()
    current_user.user.locale = locale
    return redirect(request.referrer if _same_site(request.referrer) else url_for("desk.queue"))


def _same_site(url: str | None) -> bool:
    return bool(url) and url.startswith(request.host_url)  # type: ignore[union-attr]


@bp.get("/customers/<number>")
@login_required  # type: ignore[untyped-decorator]
def customer(number: str) -> Any:
    """The 360° view: profile, orders, care, and every record with its thread, newest first."""
    with services().uow() as uow:
        try:
            found, records, orders = profiles.customer_view(uow.session, number)
        except NotFound:
            abort(404)
        user = me(uow.session)
        records = [r for r in records if queue.may_see(user, r)]
        now = services().clock.now()
        threads = threads_of(uow.session, [r.id for r in records])  # one query for all (#20)
        rows = []
        for r in records:
            spec = services().specs.get(uow.session, r.pack_version_id)
            stages = (
                spec.record_types[r.record_type].stages
                if r.record_type in spec.record_types
                else {}
            )
            rows.append(
                {
                    "record": r,
                    "sla": sla_view(r, now),
                    "thread": threads[r.id],
                    "channels": spec.channels,
                    "stage": stages[r.stage].title if r.stage in stages else r.stage,
                }
            )
        care = profiles.customer_care(uow.session, found)
        authors = (entry.message.author for entries in threads.values() for entry in entries)
        names = display_names(uow.session, authors)
        latest = [services().specs.of(v) for v in latest_versions(uow.session)]
        points = loyalty.standings(uow.session, latest, found.id, now)
        ledger = loyalty.entries(uow.session, found.id)
    return render_template(
        "desk/customer.html",
        customer=found,
        loyalty=points,
        ledger=ledger,
        rows=rows,
        orders=orders,
        care=care,
        tz=_tz(),
        packs={spec.name: spec.title for spec in latest},
        tiers=tier_titles(latest),
        campaigns=carewords.campaign_titles(latest),
        names=names,
        outcome=carewords.outcome,
        history_line=carewords.history_line,
    )


def _record_page(
    record_id: int,
    *,
    forms: dict[str, Any] | None = None,
    status: int = 200,
    reveal: bool = False,
    compose: dict[str, Any] | None = None,
    stale: bool = False,
    edit: Any = None,
) -> Any:
    """The record page; `compose` keeps a refused reply or note as it was typed, `forms` a
    refused transition's form; with `stale` those forms were typed on an older version of the
    record: they keep their values but take its current row version, to be sent again; `edit`
    a refused or stale edit form (forms.recordedit)."""
    now = services().clock.now()
    with services().uow() as uow:
        current = _visible(uow.session, record_id)
        spec = services().specs.get(uow.session, current.pack_version_id)
        rtype = spec.record_types.get(current.record_type)
        transitions = rtype.transitions_from(current.stage) if rtype else []
        built = {
            t.id: (forms or {}).get(t.id) or _form(spec, current, t.id, fresh=True)
            for t in transitions
        }
        for kept in (forms or {}).values() if stale else ():
            kept.row_version.data = current.row_version
            kept.form_errors = [_("记录已被他人更新，请核对后再提交。")]  # keeps it open
        merged = merge.links(uow.session, record_id)
        suggested = triage(uow.session, current, built, request.args.get("apply"))
        events = list(
            uow.session.scalars(
                select(RecordEvent)  # with the history of the records merged into it
                .where(RecordEvent.record_id.in_([record_id, *merged.merged]))
                .order_by(*((RecordEvent.at.desc(),) if merged.merged else ()))
                .order_by(RecordEvent.id.desc())
                .limit(TIMELINE)
            )
        )
        thread = thread_of(uow.session, record_id)
        page = render_template(
            "desk/record.html",
            record=current,
            spec=spec,
            rtype=rtype,
            fields=shown_fields(rtype, current, reveal),
            transitions=transitions,
            forms=built,
            events=events,
            sla=sla_view(current, now),
            now=now,
            tz=_tz(),
            revealed=reveal,
            satisfaction=survey.panel(uow.session, spec, current),
            triage=suggested,
            thread=thread,
            compose=compose or {},
            # People by name: the owner, who acted in the history, who wrote our messages.
            names=display_names(
                uow.session,
                [current.assignee, *(e.actor for e in events), *(t.message.author for t in thread)],
            ),
            merged=merged,
            desk=recordedit.panel(
                uow.session, me(uow.session), current, spec, rtype, _tz(), form=edit
            ),
        )
    return page, status


def _form(spec: PackSpec, current: Record, transition_id: str, *, fresh: bool = False) -> Any:
    rtype = spec.record_type(current.record_type)
    form_class = transition_form_class(
        spec,
        rtype,
        rtype.transitions[transition_id],
        version_id=current.pack_version_id,
        timezone=ZoneInfo(_tz()),
    )
    # Each transition's form on the page gets its own prefix, so ids and names never clash.
    form = (
        form_class(formdata=None, prefix=transition_id)
        if fresh
        else form_class(prefix=transition_id)
    )
    if fresh or not form.row_version.data:
        form.row_version.data = current.row_version
    return form


def _visible(session: Session, record_id: int) -> Record:
    """The record, or 404 for one the user may not see (no hint that it exists)."""
    try:
        current = get_record(session, record_id)
    except NotFound:
        abort(404)
    if not queue.may_see(me(session), current):
        abort(404)
    return current


def _tz() -> str:
    """The signed-in user's timezone (every view here requires sign-in)."""
    return str(current_user.user.timezone)
