"""How the admin's list and detail cells read: times in the reader's zone, to the minute, and
a record's pack keys by their titles.

Flask-Admin prints a datetime as Python does (UTC, with microseconds) and a column as stored
(`pending`, `rnd`); staff read local times and the pack's titles everywhere else
(forms/present.py), so the admin does the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask_admin.model import typefmt
from flask_login import current_user

from engine.specs.pack import PackSpec
from engine.store.models import Record
from forms.present import local
from web import current_services as services


def local_minute(_view: Any, value: datetime, _name: str) -> str:
    """A stored (aware, UTC) time in the signed-in user's zone: 2026-12-01 09:30."""
    return local(value, str(current_user.user.timezone))


LIST = {**typefmt.BASE_FORMATTERS, datetime: local_minute}
DETAIL = {**typefmt.DETAIL_FORMATTERS, datetime: local_minute}
EXPORT = {**typefmt.EXPORT_FORMATTERS, datetime: local_minute}


def _title(spec: PackSpec, record: Record, column: str) -> str | None:
    """The title the record's own pack version gives the key in `column`, if any."""
    key = getattr(record, column)
    rtype = spec.record_types.get(record.record_type)
    by_column: dict[str, Mapping[str, Any]] = {
        "pack": {spec.name: spec},
        "record_type": spec.record_types,
        "stage": rtype.stages if rtype is not None else {},
        "channel": spec.channels,
        "category": spec.categories,
        "department": spec.departments,
    }
    found = by_column[column].get(key) if key is not None else None
    return str(found.title) if found is not None else None


def pack_title(view: Any, _context: Any, record: Record, column: str) -> str:
    """A record's pack key as its title (待受理, not pending); the key where the pack has none."""
    spec = services().specs.get(view.session, record.pack_version_id)
    shown = _title(spec, record, column)
    return shown if shown is not None else str(getattr(record, column) or "")


# The record columns that hold a key of the record's pack.
PACK_TITLES = {
    column: pack_title
    for column in ("pack", "record_type", "stage", "channel", "category", "department")
}
