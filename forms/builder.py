"""WTForms classes built from a pack transition's `form`: what the agent fills to advance a record.

One converter per field type turns a FieldSpec into an unbound field, and the class is made with
`type(name, (FlaskForm,), fields)` as Flask-Admin `contrib/sqla/form.py` does. Pack versions are
immutable, so each class is built once per (version, record type, transition, timezone).
`form_values` hands the engine values in the shapes `engine.fieldvalues` accepts.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_wtf import FlaskForm
from wtforms import Field, ValidationError
from wtforms.fields import (
    DateField,
    DateTimeLocalField,
    FloatField,
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from engine import bounds
from engine.specs.pack import (
    CORE_FIELDS,
    FORM_ATTRIBUTES,
    FieldSpec,
    PackSpec,
    RecordTypeSpec,
    TransitionSpec,
)

Converter = Callable[[PackSpec, FieldSpec, dict[str, Any]], Field]
CORE_LABELS = {
    "priority": "优先级",
    "category": "类别",
    "channel": "渠道",
    "assignee": "负责人",
    "department": "部门",
}
# The browser sends minutes; seconds are accepted too. The first format is the one rendered.
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]

_CONVERTERS: dict[str, Converter] = {}
_CACHE: dict[tuple[int, str, str, str], type[FlaskForm]] = {}
_CACHE_LOCK = threading.Lock()


def converts(*kinds: str) -> Callable[[Converter], Converter]:
    """Register a converter for field types (or core field names), as Flask-Admin does."""

    def register(converter: Converter) -> Converter:
        for kind in kinds:
            _CONVERTERS[kind] = converter
        return converter

    return register


def _finite(_form: FlaskForm, field: Field) -> None:
    """`nan` and `inf` parse as floats, but are no answer the engine can store as JSON."""
    if field.data is not None and not math.isfinite(field.data):
        raise ValidationError("请输入一个有限的数字")


def _select_choices(options: dict[str, str], kwargs: dict[str, Any]) -> list[SelectChoice]:
    """An optional select starts blank, so leaving it alone sends nothing."""
    choices = [SelectChoice(value, label) for value, label in options.items()]
    required = any(isinstance(v, DataRequired) for v in kwargs["validators"])
    return choices if required else [SelectChoice("", ""), *choices]


@converts("text")
def _text(_pack: PackSpec, spec: FieldSpec, kwargs: dict[str, Any]) -> Field:
    kwargs["validators"].append(Length(max=10000 if spec.multiline else 2000))
    return TextAreaField(**kwargs) if spec.multiline else StringField(**kwargs)


@converts("customer", "contact")
def _short_text(_pack: PackSpec, _spec: FieldSpec, kwargs: dict[str, Any]) -> Field:
    kwargs["validators"].append(Length(max=200))
    return StringField(**kwargs)


@converts("assignee")
def _assignee(_pack: PackSpec, _spec: FieldSpec, kwargs: dict[str, Any]) -> Field:
    kwargs["validators"].append(Length(max=128))
    return StringField(**kwargs)


@converts("number")
def _number(_pack: PackSpec, spec: FieldSpec, kwargs: dict[str, Any]) -> Field:
    kwargs["validators"].append(_finite)
    if spec.min is not None or spec.max is not None:
        kwargs["validators"].append(NumberRange(min=spec.min, max=spec.max))
    return FloatField(**kwargs)


@converts("choice")
def _choice(_pack: PackSpec, spec: FieldSpec, kwargs: dict[str, Any]) -> Field:
    return SelectField(choices=_select_choices(spec.choices, kwargs), **kwargs)


@converts("priority")
def _priority(pack: PackSpec, _spec: FieldSpec, kwargs: dict[str, Any]) -> Field:
    options = {p.id: f"{p.id} {p.title}" for p in pack.priorities}
    return SelectField(choices=_select_choices(options, kwargs), **kwargs)


@converts("category", "channel", "department")
def _pack_list(pack: PackSpec, spec: FieldSpec, kwargs: dict[str, Any]) -> Field:
    listing = {"category": pack.categories, "channel": pack.channels}.get(spec.id)
    options = {o.id: o.title for o in (listing or pack.departments).values()}
    return SelectField(choices=_select_choices(options, kwargs), **kwargs)


@converts("date")
def _date(_pack: PackSpec, _spec: FieldSpec, kwargs: dict[str, Any]) -> Field:
    return DateField(**kwargs)


@converts("datetime")
def _datetime(_pack: PackSpec, _spec: FieldSpec, kwargs: dict[str, Any]) -> Field:
    """`tz` (set by the builder) reads the naive input in the user's zone and renders in it."""
    return DateTimeLocalField(format=DATETIME_FORMATS, **kwargs)


def _spec_of(rtype: RecordTypeSpec, name: str) -> FieldSpec:
    """The record type's field, or a stand-in for a core field (its type is its own name)."""
    if name in CORE_FIELDS:
        return FieldSpec(id=name, type=name, label=CORE_LABELS[name])
    return rtype.fields[name]


def pack_field(
    pack: PackSpec,
    rtype: RecordTypeSpec,
    name: str,
    *,
    required: bool,
    timezone: ZoneInfo,
    label: str | None = None,
) -> Field:
    """One unbound field for a record type's field or a core field, as the pack describes it:
    a transition's form and the desk's new-record form (`forms.intakeform`) share it."""
    spec = _spec_of(rtype, name)
    needed = InputRequired() if spec.type == "number" else DataRequired()
    kwargs: dict[str, Any] = {
        "label": label or spec.label,
        "description": spec.help or "",
        "validators": [needed if required else Optional()],
    }
    if spec.type == "datetime":
        kwargs["tz"] = timezone
    return _CONVERTERS[spec.type](pack, spec, kwargs)


def transition_form_class(
    pack: PackSpec,
    rtype: RecordTypeSpec,
    transition: TransitionSpec,
    *,
    version_id: int,
    timezone: ZoneInfo,
) -> type[FlaskForm]:
    """The form class for one transition; cached, since a published pack version never changes."""
    key = (version_id, rtype.id, transition.id, str(timezone.key))
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = _build(pack, rtype, transition, timezone)
        return _CACHE[key]


def _build(
    pack: PackSpec, rtype: RecordTypeSpec, transition: TransitionSpec, timezone: ZoneInfo
) -> type[FlaskForm]:
    fields: dict[str, Any] = {}
    for item in transition.form:
        if item.field in FORM_ATTRIBUTES:  # the pack builder refuses these already
            raise ValueError(
                f"record type {rtype.id}: field '{item.field}' clashes with a form attribute;"
                " rename it in the pack"
            )
        fields[item.field] = pack_field(
            pack, rtype, item.field, required=item.required, timezone=timezone, label=item.label
        )
    # The record version the agent saw: the view passes it on as `expected_version`. A
    # HiddenField, so pages render it with the hidden tags and never as a labelled input.
    fields["row_version"] = HiddenField(validators=[InputRequired()], filters=[_version])
    return type(f"TransitionForm_{rtype.id}_{transition.id}", (FlaskForm,), fields)


def _version(value: Any) -> int | None:
    """The posted row version as a number; anything else fails the form (WTForms' filters)."""
    if value in (None, ""):
        return None
    number = bounds.parse_id(str(value))  # past INTEGER would overflow PostgreSQL's compare
    if number is None:
        raise ValueError(f"not a row version: {value!r}")
    return number


def form_values(form: FlaskForm, transition: TransitionSpec) -> dict[str, Any]:
    """The transition's filled fields as the engine takes them; blanks are left out, not ''."""
    return values_of(form, [item.field for item in transition.form])


def values_of(form: FlaskForm, names: Iterable[str]) -> dict[str, Any]:
    """The named fields' values in the shapes the engine takes; blanks are left out, not ''."""
    values: dict[str, Any] = {}
    for name in names:
        data = form[name].data
        if isinstance(data, str):
            data = data.strip() or None
        elif isinstance(data, float):
            data = int(data) if data.is_integer() else data
        elif isinstance(data, datetime):  # aware: the field's `tz` is the user's zone
            data = data.isoformat()
        elif isinstance(data, date):
            data = data.isoformat()
        if data is not None:
            values[name] = data
    return values


def initial_data(
    rtype: RecordTypeSpec,
    transition: TransitionSpec,
    current: Mapping[str, Any],
    *,
    row_version: int,
) -> dict[str, Any]:
    """`data=` for a GET: stored dates are ISO text, but the date inputs render only objects."""
    names = [item.field for item in transition.form]
    return {"row_version": row_version, **initial_values(rtype, names, current)}


def initial_values(
    rtype: RecordTypeSpec, names: Iterable[str], current: Mapping[str, Any]
) -> dict[str, Any]:
    """The named fields' stored values as the form's inputs take them (dates as objects)."""
    data: dict[str, Any] = {}
    for name in names:
        value, spec = current.get(name), rtype.fields.get(name)
        if isinstance(value, str) and spec is not None and spec.type in ("date", "datetime"):
            try:
                value = (date if spec.type == "date" else datetime).fromisoformat(value)
            except ValueError:  # not one any more: the input starts blank
                value = None
        data[name] = value
    return data
