"""Check and normalise a record type's field values: bad input is refused, each field named."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from engine import bounds
from engine.errors import InvalidInput
from engine.specs.pack import FieldSpec, PackSpec, RecordTypeSpec


def coerce_values(
    pack: PackSpec, rtype: RecordTypeSpec, values: Mapping[str, Any]
) -> dict[str, Any]:
    """Return normalised values (JSON-ready), or raise InvalidInput naming every bad field."""
    result: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, raw in values.items():
        try:
            result[name] = _coerce(pack, rtype, name, raw)
        except ValueError as exc:
            errors[name] = str(exc)
    if errors:
        listing = "; ".join(f"{name}: {message}" for name, message in errors.items())
        raise InvalidInput(f"invalid values: {listing}", fields=errors)
    return result


def _blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _coerce(pack: PackSpec, rtype: RecordTypeSpec, name: str, raw: Any) -> Any:
    if name in _CORE_CHOICES:
        known = getattr(pack, _CORE_CHOICES[name])
        known_ids = [p.id for p in known] if isinstance(known, tuple) else list(known)
        if _blank(raw):
            return None
        if raw not in known_ids:
            raise ValueError(f"'{raw}' is not one of {', '.join(known_ids)}")
        return raw
    if name == "assignee":
        return None if _blank(raw) else _text(raw)
    field = rtype.fields.get(name)
    if field is None:
        raise ValueError(f"record type {rtype.id} has no field '{name}'")
    return None if _blank(raw) else _FIELD_COERCERS[field.type](field, raw)


_CORE_CHOICES = {
    "priority": "priorities",
    "category": "categories",
    "channel": "channels",
    "department": "departments",
}


def _text(raw: Any) -> str:
    if not isinstance(raw, str | int | float) or isinstance(raw, bool):
        raise ValueError("expected text")
    text = str(raw).strip()
    problem = bounds.text_problem(text)
    if problem is not None:
        raise ValueError(problem)
    return text


def _number(field: FieldSpec, raw: Any) -> int | float:
    try:
        value = float(raw) if not isinstance(raw, bool) else None
    except (TypeError, ValueError):
        value = None
    if value is None:
        raise ValueError(f"expected a number, got '{raw}'")
    if field.min is not None and value < field.min:
        raise ValueError(f"must be at least {field.min:g}")
    if field.max is not None and value > field.max:
        raise ValueError(f"must be at most {field.max:g}")
    return int(value) if value.is_integer() else value


def _choice(field: FieldSpec, raw: Any) -> str:
    if not isinstance(raw, str | int | float) or str(raw) not in field.choices:
        raise ValueError(f"'{raw}' is not one of {', '.join(field.choices)}")
    return str(raw)


def _date(_field: FieldSpec, raw: Any) -> str:
    if isinstance(raw, datetime):
        raise ValueError("expected a date such as 2026-11-22, got a date and time")
    if isinstance(raw, date):
        return raw.isoformat()
    try:
        return date.fromisoformat(str(raw)).isoformat()
    except ValueError:
        raise ValueError(f"expected a date such as 2026-11-22, got '{raw}'") from None


def _datetime(_field: FieldSpec, raw: Any) -> str:
    try:
        value = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw))
    except ValueError:
        raise ValueError(f"expected a time such as 2026-11-22T09:30+08:00, got '{raw}'") from None
    if value.tzinfo is None:
        raise ValueError(f"'{raw}' has no timezone offset; add one such as +08:00")
    return value.isoformat()


_FIELD_COERCERS = {
    "text": lambda f, raw: _text(raw),
    "contact": lambda f, raw: _text(raw),
    "customer": lambda f, raw: _text(raw),
    "number": _number,
    "choice": _choice,
    "date": _date,
    "datetime": _datetime,
}


def require_values(rtype: RecordTypeSpec, values: Mapping[str, Any], required: list[str]) -> None:
    """Refuse the intake or form when a required value is missing, naming each field."""
    missing = [name for name in required if values.get(name) in (None, "")]
    if missing:
        labels = ", ".join(rtype.fields[n].label if n in rtype.fields else n for n in missing)
        raise InvalidInput(f"required: {labels}", fields={n: "required" for n in missing})
