"""How the admin's list and detail cells read: times in the reader's zone, to the minute.

Flask-Admin prints a datetime as Python does (UTC, with microseconds); staff read local
times everywhere else (forms/present.py `local`), so the admin does the same.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_admin.model import typefmt
from flask_login import current_user

from forms.present import local


def local_minute(_view: Any, value: datetime, _name: str) -> str:
    """A stored (aware, UTC) time in the signed-in user's zone: 2026-12-01 09:30."""
    return local(value, str(current_user.user.timezone))


LIST = {**typefmt.BASE_FORMATTERS, datetime: local_minute}
DETAIL = {**typefmt.DETAIL_FORMATTERS, datetime: local_minute}
EXPORT = {**typefmt.EXPORT_FORMATTERS, datetime: local_minute}
