"""Create a record from the desk (issue #21): a phone call, a walk-in or a paper form, typed in
by an agent on the pack's own form (R-1.1, R-1.2, R-1.6).

Thin like `views.py`: parse, call the engine, redirect to the new record. The customer is
found by number or by contact (its keyed hash) and shown masked; their stored contact never
enters the page. Before a second record on the same subject the agent sees the customer's open
ones and may add the call to one of them instead. What the engine refuses comes back with the
typed values kept and 400, never a 500.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session

from engine import bounds
from engine.customers.privacy import find_customer
from engine.errors import InvalidInput, NotFound
from engine.records import queries, queue
from engine.records.intake import NewRecord
from engine.records.versions import latest_versions
from engine.specs.pack import PackSpec, RecordTypeSpec
from engine.store.models import Customer, Record
from forms import intakeform
from forms.builder import values_of
from forms.intakeform import CONFIRM, LOOKUP
from forms.views import me
from signin.auth import role_required
from web import current_services as services

bp = Blueprint("newrecord", __name__, template_folder="templates")
EXCERPT = 60  # characters of the description the warning shows, the … included
# The engine's words for a refused field (InvalidInput.fields), in the user's language.
HINTS = {"required": _l("请填写此项。"), "give it beside the fields": _l("此项不能作为字段填写。")}


@dataclass(frozen=True)
class Chosen:
    """The pack and record type the form is for, and every pack to choose from."""

    spec: PackSpec
    rtype: RecordTypeSpec
    version_id: int
    packs: list[PackSpec]


@bp.route("/records/new", methods=["GET", "POST"])
@role_required("agent", "supervisor")
def new() -> Any:
    """The new-record form; posted, it finds the customer, warns of a same-subject open record,
    adds the call to one of those, or creates the record."""
    chosen = _chosen(request.args.get("pack"), request.args.get("type"))
    form_class = intakeform.new_record_form_class(
        chosen.spec, chosen.rtype, version_id=chosen.version_id, timezone=ZoneInfo(_tz())
    )
    if request.method == "GET":
        return _page(chosen, form_class(formdata=None, data=_defaults(chosen.spec)))
    form = form_class()
    valid = form.validate_on_submit()
    if "find" in request.form:
        return _find(chosen, form)
    if not valid:
        return _page(chosen, form, status=400)
    with services().uow() as uow:
        customer = _customer(uow.session, chosen.rtype, form)
        target = None
        if "add_to" in request.form:
            target = _same_subject_target(uow.session, customer, request.form["add_to"])
        elif customer is not None and not form[CONFIRM].data:
            same = _same_subject(uow.session, chosen, customer, form)
            if same:
                form[CONFIRM].data = "1"
                return _page(chosen, form, customer=customer, same=same)
        values = _values(chosen.rtype, form, customer)
    if target is not None:
        return _add_to(chosen, form, customer, target)
    return _create(chosen, form, customer, values)


def _find(chosen: Chosen, form: FlaskForm) -> Any:
    """Only the look-up: what else is half typed is kept, not yet judged."""
    if form[LOOKUP].errors or ("csrf_token" in form and form["csrf_token"].errors):
        return _page(chosen, form, status=400)
    for field in form:
        field.errors = []
    form[CONFIRM].data = ""  # another customer, another check for their open records
    with services().uow() as uow:
        customer = _customer(uow.session, chosen.rtype, form)
        return _page(chosen, form, customer=customer, looked_up=True)


def _create(
    chosen: Chosen, form: FlaskForm, customer: Customer | None, values: dict[str, Any]
) -> Any:
    core = {name: form[name].data or None for name in intakeform.CORE if name in form}
    try:
        created = services().create_record(
            chosen.spec.name,
            NewRecord(record_type=chosen.rtype.id, fields=values, **core),
            actor=current_user.username,
        )
    except InvalidInput as exc:
        return _refused(chosen, form, customer, exc)
    flash(_("已创建记录 #%(id)s", id=created.id), "success")
    return redirect(url_for("desk.record", record_id=created.id))


def _add_to(chosen: Chosen, form: FlaskForm, customer: Customer | None, target: Record) -> Any:
    """The call joins the open record's thread as the customer's message, not a new record."""
    field = intakeform.description_field(chosen.rtype)
    text = (form[field].data or "").strip() if field and field in form else ""
    channel = (form["channel"].data if "channel" in form else None) or target.channel or "phone"
    try:
        services().receive(target.id, text, channel=channel, author=current_user.username)
    except InvalidInput as exc:
        return _refused(chosen, form, customer, exc)
    flash(_("已添加到记录 #%(id)s", id=target.id), "success")
    return redirect(url_for("desk.record", record_id=target.id) + "#thread")


def _chosen(pack: str | None, type_id: str | None) -> Chosen:
    """The asked pack and type, by default the first pack's first type that is not care's
    work; 404 for one that is not published."""
    with services().uow() as uow:
        versions = latest_versions(uow.session)
        specs = [(v.id, services().specs.of(v)) for v in versions]
    if not specs:
        abort(404)
    version_id, spec = next(((i, s) for i, s in specs if s.name == pack), specs[0])
    if pack is not None and spec.name != pack:
        abort(404)
    if type_id is None:
        kinds = [t for t in spec.record_types if t not in spec.care_task_types]
        type_id = (kinds or list(spec.record_types))[0]
    if type_id not in spec.record_types:
        abort(404)
    return Chosen(spec, spec.record_types[type_id], version_id, [s for _i, s in specs])


def _defaults(spec: PackSpec) -> dict[str, Any]:
    """A phone call at the pack's usual priority: what the desk mostly types in."""
    channels = list(spec.channels)
    channel = "phone" if "phone" in channels else (channels[0] if channels else None)
    return {"channel": channel, "priority": spec.default_priority}


def _customer(session: Session, rtype: RecordTypeSpec, form: FlaskForm) -> Customer | None:
    """The customer looked up (by number or contact), else the one whose number was typed."""
    number_field = intakeform.customer_field(rtype)
    typed = form[number_field].data if number_field in form else None
    for wanted in ((form[LOOKUP].data or "").strip(), (typed or "").strip()):
        if not wanted:
            continue
        try:
            found = find_customer(session, wanted)
        except NotFound:
            continue
        if number_field in form:
            form[number_field].data = found.number
        return found
    return None


def _values(rtype: RecordTypeSpec, form: FlaskForm, customer: Customer | None) -> dict[str, Any]:
    """The record's fields; a blank contact takes the typed look-up when it reads as a contact,
    else the found customer's stored one (to the engine only, never into the page)."""
    values = values_of(form, intakeform.pack_names(form))
    contact = intakeform.contact_field(rtype)
    typed = (form[LOOKUP].data or "").strip()
    if contact is None or values.get(contact):
        return values
    if typed and _contact_like(typed) and (customer is None or typed != customer.number):
        values[contact] = typed
    elif customer is not None and customer.contact:
        values[contact] = customer.contact
    return values


def _contact_like(text: str) -> bool:
    return "@" in text or sum(ch.isdigit() for ch in text) >= 7


def _same_subject(
    session: Session, chosen: Chosen, customer: Customer, form: FlaskForm
) -> list[dict[str, Any]]:
    """The customer's open records of this type on this category, as the warning lists them."""
    category = form["category"].data or None
    user = me(session)
    found = queries.open_same_subject(session, customer.id, chosen.rtype.id, category)
    text = intakeform.description_field(chosen.rtype)
    rows = []
    for record in found:
        if not queue.may_see(user, record):
            continue
        stages = chosen.rtype.stages if record.pack == chosen.spec.name else {}
        excerpt = str(record.fields.get(text or "", "") or "")
        rows.append(
            {
                "id": record.id,
                "stage": stages[record.stage].title if record.stage in stages else record.stage,
                "received": record.received_at,
                "excerpt": excerpt if len(excerpt) <= EXCERPT else excerpt[: EXCERPT - 1] + "…",
            }
        )
    return rows


def _same_subject_target(session: Session, customer: Customer | None, raw: str) -> Record:
    """The open record "add to #N" names: the customer's, open, and visible to the agent."""
    number = bounds.parse_id(raw)
    if customer is None or number is None:
        abort(404)
    record = session.get(Record, number)
    if record is None or record.customer_id != customer.id or not record.is_open:
        abort(404)
    if not queue.may_see(me(session), record):
        abort(404)
    return record


def _refused(chosen: Chosen, form: FlaskForm, customer: Customer | None, exc: InvalidInput) -> Any:
    for name, message in exc.fields.items():
        field = form[name] if name in form else None
        if field is not None:
            hint = HINTS.get(str(message))
            field.errors = [*field.errors, str(hint) if hint else str(message)]
    flash(_("未能创建：%(reason)s", reason=str(exc)), "error")
    return _page(chosen, form, customer=customer, status=400)


def _page(
    chosen: Chosen,
    form: FlaskForm,
    *,
    customer: Customer | None = None,
    looked_up: bool = False,
    same: list[dict[str, Any]] | None = None,
    status: int = 200,
) -> Any:
    return render_template(
        "desk/new.html",
        chosen=chosen,
        form=form,
        required=intakeform.required_names(chosen.spec, chosen.rtype),
        customer=customer,
        looked_up=looked_up,
        same=same or [],
        care=chosen.spec.care_task_types,
        tz=_tz(),
    ), status


def _tz() -> str:
    return str(current_user.user.timezone)
