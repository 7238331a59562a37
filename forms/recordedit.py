"""The record page's corrections (issue #21, item 2): the edit form built from the pack, and
what the page shows for reassigning, re-grading, tags and followers.

The edit form holds the record type's editable fields (`engine.records.editing`), built with
the same converters as the transition forms. A personal field starts blank with its masked
value as a hint: blank keeps it, anything typed replaces it, so the page never holds the
stored contact (R-1.2, R-8.3). The form also carries what it showed (`shown`, personal
fields left out): only the fields the agent changed from that go to the engine, so a form
kept across a conflict overwrites nobody else's correction.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms.fields import HiddenField
from wtforms.validators import InputRequired, Regexp

from engine.access.masking import masked_fields
from engine.records import editing, followers, queue, tags
from engine.records.editing import Allowed
from engine.records.personal import all_fields
from engine.specs.pack import Option, PackSpec, RecordTypeSpec
from engine.store.models import Record, Team, User
from forms.builder import initial_values, pack_field, values_of
from forms.intakeform import NulFreeForm

PREFIX = "edit"
_CACHE: dict[tuple[int, str, str], type[FlaskForm]] = {}
_CACHE_LOCK = threading.Lock()


def edit_form_class(
    pack: PackSpec, rtype: RecordTypeSpec, *, version_id: int, timezone: ZoneInfo
) -> type[FlaskForm]:
    """The edit form of one record type of one pack version; cached, versions never change."""
    key = (version_id, rtype.id, str(timezone.key))
    with _CACHE_LOCK:
        if key not in _CACHE:
            fields: dict[str, Any] = {
                spec.id: pack_field(
                    pack,
                    rtype,
                    spec.id,
                    required=spec.required and not spec.is_personal,
                    timezone=timezone,
                )
                for spec in editing.editable_fields(rtype)
            }
            # The version the agent saw: without it no stale form could be told apart.
            fields["row_version"] = HiddenField(validators=[InputRequired(), Regexp(r"^\d{1,9}$")])
            fields["shown"] = HiddenField()
            _CACHE[key] = type(f"EditForm_{rtype.id}", (NulFreeForm,), fields)
        return _CACHE[key]


def names(rtype: RecordTypeSpec) -> list[str]:
    return [spec.id for spec in editing.editable_fields(rtype)]


def fresh_form(form_class: type[FlaskForm], rtype: RecordTypeSpec, record: Record) -> Any:
    """The form as the record stands: personal fields blank, the rest filled in."""
    personal = {n for n in names(rtype) if rtype.fields[n].is_personal}
    data = initial_values(rtype, [n for n in names(rtype) if n not in personal], record.fields)
    form = form_class(formdata=None, prefix=PREFIX, data=data)
    form.row_version.data = record.row_version
    form.shown.data = json.dumps(values_of(form, data), ensure_ascii=False)
    return form


def changed(form: Any, rtype: RecordTypeSpec) -> dict[str, Any]:
    """The fields the agent changed from what the form showed ({} if none): a cleared field
    is None, a personal field counts only when something was typed into it."""
    shown = _shown(form.shown.data)
    typed = values_of(form, names(rtype))
    found: dict[str, Any] = {}
    for name in names(rtype):
        spec = rtype.fields[name]
        new = typed.get(name)
        if spec.is_personal:
            if new is not None:
                found[name] = new
        elif not _same(spec.type, shown.get(name), new):
            found[name] = new
    return found


def keep_typed(fresh: Any, posted: Any, rtype: RecordTypeSpec) -> Any:
    """The fresh form with what the agent had changed typed back in (after a conflict)."""
    for name in changed(posted, rtype):
        fresh[name].data = posted[name].data
    return fresh


def _shown(text: str | None) -> dict[str, Any]:
    try:
        shown = json.loads(text or "{}")
    except ValueError:
        return {}
    return shown if isinstance(shown, dict) else {}


def _same(kind: str, old: Any, new: Any) -> bool:
    """Equal as the form shows them: times to the minute, in whatever zone they were written."""
    if kind == "datetime" and isinstance(old, str) and isinstance(new, str):
        try:
            return _minute(old) == _minute(new)
        except ValueError:
            return False
    return bool(old == new)


def _minute(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(second=0, microsecond=0)


@dataclass
class Panel:
    """What the record page shows of corrections, tags and followers for this user."""

    allowed: Allowed
    form: Any = None
    kept: bool = False  # the form comes back refused or stale, with what was typed
    personal: frozenset[str] = frozenset()  # fields left blank to keep them
    hints: dict[str, str] = field(default_factory=dict)  # masked values of personal fields
    people: list[User] = field(default_factory=list)
    teams: list[tuple[int, str]] = field(default_factory=list)  # id, title
    priorities: tuple[Option, ...] = ()
    tags: list[str] = field(default_factory=list)
    followers: list[User] = field(default_factory=list)
    following: bool = False
    candidates: list[User] = field(default_factory=list)


def panel(
    session: Session,
    user: User,
    record: Record,
    spec: PackSpec,
    rtype: RecordTypeSpec | None,
    tz: str,
    *,
    form: Any = None,
) -> Panel:
    """Everything the page's partials need, in a handful of queries."""
    found = Panel(allowed=editing.allowed(user, record))
    found.tags = tags.tags_of(session, [record.id])[record.id]
    found.followers = followers.followers_of(session, record.id)
    found.following = any(f.id == user.id for f in found.followers)
    if rtype is not None and found.allowed.edit:
        _edit_form(found, spec, rtype, record, tz, form)
    if found.allowed.reassign:
        found.people = editing.people_for(session, user, record)
        found.teams = [(t.id, team_title(spec, t)) for t in teams_offered(session, user, spec)]
    if found.allowed.priority:
        found.priorities = spec.priorities
    if found.allowed.follow:
        found.candidates = _candidates(session, record, {f.id for f in found.followers})
    return found


def _edit_form(
    found: Panel, spec: PackSpec, rtype: RecordTypeSpec, record: Record, tz: str, form: Any
) -> None:
    """The edit form (the one refused or kept, else a fresh one) and the personal fields' hints."""
    form_class = edit_form_class(
        spec, rtype, version_id=record.pack_version_id, timezone=ZoneInfo(tz)
    )
    found.form, found.kept = form or fresh_form(form_class, rtype, record), form is not None
    found.personal = frozenset(n for n in names(rtype) if rtype.fields[n].is_personal)
    own = {n: v for n, v in all_fields(record).items() if n in rtype.fields}
    found.hints = {
        name: str(value)
        for name, value in masked_fields(rtype, own).items()
        if name in found.personal and value not in (None, "")
    }


def _candidates(session: Session, record: Record, following: set[int]) -> list[User]:
    """Colleagues who may follow the record: active, not following yet, and who may see it."""
    people = session.scalars(select(User).where(User.active.is_(True)).order_by(User.display_name))
    return [u for u in people if u.id not in following and queue.may_see(u, record)]


def teams_offered(session: Session, user: User, spec: PackSpec) -> list[Team]:
    """Teams to hand the record to: any serving the pack (a manager), or the agent's own."""
    teams = editing.teams_for(session, spec)
    if user.role in editing.MANAGERS:
        return teams
    return [t for t in teams if t.id == user.team_id]


def team_title(spec: PackSpec, team: Team) -> str:
    """A team as people name it: its department's title in the pack (客服中心, not service_desk)."""
    department = spec.departments.get(team.department or "")
    return department.title if department is not None else team.name
