"""Correcting a record on the desk (issue #21, item 2): who may do what, editing its fields,
handing it to a person or a team.

Who may, by role (R-2.3: a record has one owner):
- supervisors and operations may edit, reassign and re-grade any open record, to anyone;
- an agent may do so on an open record they own or that nobody owns yet, and may hand it
  only to a teammate or to their own team's queue;
- everyone who may see a record may tag it and follow it (`queue.may_see` decides who sees).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.masking import masked_fields
from engine.errors import InvalidInput
from engine.events import FieldsEdited, TeamAssigned
from engine.records import personal, queue, transitions
from engine.records.fieldvalues import coerce_values
from engine.records.journal import add_event
from engine.specs.pack import FieldSpec, PackSpec, RecordTypeSpec
from engine.store.models import Record, Team, User
from engine.time import beforedeadline, terms

MANAGERS = ("supervisor", "operations")
WORKERS = ("agent", "supervisor")  # who may own a record


@dataclass(frozen=True)
class Allowed:
    """What the user may do on the record page."""

    edit: bool = False
    reassign: bool = False
    priority: bool = False
    tag: bool = False
    follow: bool = False


def allowed(user: User, record: Record) -> Allowed:
    """The rules of the module's docstring; nothing for a record the user may not see."""
    if not queue.may_see(user, record):
        return Allowed()
    works_on = user.role in MANAGERS or (
        user.role == "agent" and record.assignee in (None, user.username)
    )
    change = works_on and record.is_open
    return Allowed(edit=change, reassign=change, priority=change, tag=True, follow=True)


def editable_fields(rtype: RecordTypeSpec) -> list[FieldSpec]:
    """The record type's fields a person may correct: all but the customer's number, which
    ties the record to its customer (R-1.7) and is not retyped."""
    return [f for f in rtype.fields.values() if f.type != "customer"]


def edit_fields(
    session: Session,
    pack: PackSpec,
    record: Record,
    values: Mapping[str, Any],
    *,
    actor: str,
    now: datetime,
) -> dict[str, list[Any]]:
    """Write the values (None clears a field); the history names each field changed, with
    personal values masked (R-1.2, R-8.3). Returns {field: [old, new]} as stored."""
    rtype = pack.record_type(record.record_type)
    coerced = _checked(pack, rtype, values)
    stored = personal.all_fields(record)
    changes = {
        name: [stored.get(name), value]
        for name, value in coerced.items()
        if stored.get(name) != value
    }
    if not changes:
        return {}
    fields = {**stored, **{name: new for name, (_old, new) in changes.items()}}
    personal.put_fields(
        record, rtype, {name: value for name, value in fields.items() if value is not None}
    )
    record.updated_at = now
    old = masked_fields(rtype, {name: pair[0] for name, pair in changes.items()})
    new = masked_fields(rtype, {name: pair[1] for name, pair in changes.items()})
    shown = {name: [old[name], new[name]] for name in changes}
    add_event(session, record, now, FieldsEdited(shown), actor=actor)
    if rtype.sla is not None and set(changes) & rtype.sla.depends_on:  # a `type` a term reads
        tier = transitions.record_tier(session, pack, record)
        terms.on_change(session, pack, rtype, record, changes, now, actor, tier=tier)
    if record.is_open:  # a follow-up's `when` may read the fields
        beforedeadline.sync(session, pack, rtype, record, now)
    return changes


def _checked(pack: PackSpec, rtype: RecordTypeSpec, values: Mapping[str, Any]) -> dict[str, Any]:
    """The values as the pack stores them, or InvalidInput naming each field that cannot be
    edited, holds a bad value, or is required and cleared."""
    editable = {f.id: f for f in editable_fields(rtype)}
    unknown = sorted(set(values) - set(editable))
    if unknown:
        raise InvalidInput(
            f"these fields cannot be edited here: {', '.join(unknown)}",
            fields={name: "not_editable" for name in unknown},
        )
    coerced = coerce_values(pack, rtype, values)
    cleared = [name for name, value in coerced.items() if value is None and editable[name].required]
    if cleared:
        raise InvalidInput(
            f"required: {', '.join(editable[n].label for n in cleared)}",
            fields={name: "required" for name in cleared},
        )
    return coerced


def teams_for(session: Session, pack: PackSpec) -> list[Team]:
    """The teams a record of the pack can be handed to: those serving one of its departments."""
    return [
        t
        for t in session.scalars(select(Team).order_by(Team.name))
        if t.department is not None and t.department in pack.departments
    ]


def people_for(session: Session, user: User, record: Record) -> list[User]:
    """Whom the user may hand the record to: anyone active who takes records and may see it
    once theirs (a manager), or an active teammate (an agent)."""
    statement = select(User).where(User.active.is_(True), User.role.in_(WORKERS))
    if user.role not in MANAGERS:
        if user.team_id is None:
            return []
        statement = statement.where(User.team_id == user.team_id)
    return list(session.scalars(statement.order_by(User.display_name, User.username)))


def to_team(
    session: Session, pack: PackSpec, record: Record, team: Team, *, actor: str, now: datetime
) -> None:
    """Put the record in the team's queue: its department becomes the team's, nobody owns it,
    and the team's own rule (round robin, least open, or take next) hands it on (R-2.3)."""
    if team.department is None:
        raise InvalidInput(f"team {team.name} serves no department", fields={"team": team.name})
    previous = record.department
    record.department, record.updated_at = team.department, now
    title = pack.departments[team.department].title if team.department in pack.departments else ""
    event = TeamAssigned(team.name, previous, team.department, title)
    add_event(session, record, now, event, actor=actor)
    queue.assign(session, record, None, now, actor=actor)
    queue.auto_assign(session, record, now)
