"""The desk's new-record form (issue #21): what an agent fills for a phone call, a walk-in or a
paper form, built from the pack like the transition forms (`forms.builder`).

It holds the record type's intake fields (R-1.2), channel, priority and category (R-1.1, R-1.4,
R-1.5), and a customer look-up. Required fields are marked from the pack but checked by the
engine, so a customer found by number may lend their stored contact to a blank contact field
without that contact ever being written into the page.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms.fields import HiddenField, StringField
from wtforms.validators import Length, Optional

from engine.specs.pack import FieldSpec, PackSpec, RecordTypeSpec
from forms.builder import pack_field

# The form's own fields, beside the pack's; named so that no pack field is likely to clash.
LOOKUP = "desk_lookup"
CONFIRM = "desk_confirm"
CORE = ("channel", "priority", "category")

_CACHE: dict[tuple[int, str, str], type[FlaskForm]] = {}
_CACHE_LOCK = threading.Lock()


class NulFreeForm(FlaskForm):  # type: ignore[misc]
    """Refuses a NUL anywhere: PostgreSQL stores no NUL in text, and no one types one."""

    def validate(self, extra_validators: Mapping[str, Sequence[Any]] | None = None) -> bool:
        valid: bool = super().validate(extra_validators)
        for field in self:
            if any("\x00" in raw for raw in field.raw_data or [] if isinstance(raw, str)):
                field.errors = [*field.errors, str(_l("不能包含空字符。"))]
                valid = False
        return valid


def intake_fields(rtype: RecordTypeSpec) -> list[FieldSpec]:
    """The fields filled when a record comes in: the required ones and those no transition
    asks for or sets later (a solution or a satisfaction score belongs to handling, not intake).
    """
    later = {item.field for t in rtype.transitions.values() for item in t.form}
    later |= {name for t in rtype.transitions.values() for e in t.effects for name in e.values}
    return [f for f in rtype.fields.values() if f.required or f.id not in later]


def description_field(rtype: RecordTypeSpec) -> str | None:
    """Where the caller's words go: the first multiline text field, else the first text field.

    "Add to #N" posts this field's text on the open record's thread instead.
    """
    texts = [f for f in rtype.fields.values() if f.type == "text"]
    chosen = next((f for f in texts if f.multiline), texts[0] if texts else None)
    return chosen.id if chosen is not None else None


def contact_field(rtype: RecordTypeSpec) -> str | None:
    return next((f.id for f in rtype.fields.values() if f.type == "contact"), None)


def customer_field(rtype: RecordTypeSpec) -> str | None:
    return next((f.id for f in rtype.fields.values() if f.type == "customer"), None)


def required_names(pack: PackSpec, rtype: RecordTypeSpec) -> frozenset[str]:
    """What the page marks with *: the pack's required fields, the channel and the priority."""
    core = {"priority", "channel"} if pack.channels else {"priority"}
    return frozenset(core | {f.id for f in rtype.fields.values() if f.required})


def new_record_form_class(
    pack: PackSpec, rtype: RecordTypeSpec, *, version_id: int, timezone: ZoneInfo
) -> type[FlaskForm]:
    """The form class for one record type of one pack version; cached, versions never change."""
    key = (version_id, rtype.id, str(timezone.key))
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = _build(pack, rtype, timezone)
        return _CACHE[key]


def _build(pack: PackSpec, rtype: RecordTypeSpec, timezone: ZoneInfo) -> type[FlaskForm]:
    fields: dict[str, Any] = {
        LOOKUP: StringField(
            _l("查找客户"),
            description=_l("客户编号、手机号或邮箱"),
            validators=[Optional(), Length(max=200)],
        ),
        CONFIRM: HiddenField(),
    }
    for name in CORE:
        if name == "channel" and not pack.channels:
            continue  # a pack without channels takes a record from anywhere
        fields[name] = pack_field(pack, rtype, name, required=name != "category", timezone=timezone)
    for spec in intake_fields(rtype):
        fields[spec.id] = pack_field(pack, rtype, spec.id, required=False, timezone=timezone)
    return type(f"NewRecordForm_{rtype.id}", (NulFreeForm,), fields)


def pack_names(form: FlaskForm) -> list[str]:
    """The form's fields that go to the engine as the record's own fields."""
    own = (LOOKUP, CONFIRM, "csrf_token", *CORE)
    return [field.name for field in form if field.name not in own]
