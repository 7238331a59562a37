"""Use cases of the desk's record page (issue #21, item 2): edit fields, hand a record to a
person or a team, re-grade it with a reason, tag it, follow it.

Each checks the record's `row_version` when the caller read one (`expected_version`), as a
transition does, so a stale form is refused with ConflictError and nothing is written. Tags and
followers live beside the record's row and never make anyone's form stale. Who may do what
is `engine.records.editing.allowed`; the desk asks it before calling these.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access import users
from engine.errors import ConflictError, InvalidInput, NotFound
from engine.events import FollowersChanged
from engine.records import editing, followers, queue, tags, transitions
from engine.records.journal import add_event
from engine.services.base import ServiceBase, conflict_on_stale
from engine.store.models import Record, Team, User


class EditingServices(ServiceBase):
    """The record page's corrections; a lost race on the record is a ConflictError."""

    def edit_fields(
        self,
        record_id: int,
        values: Mapping[str, Any],
        *,
        actor: str,
        expected_version: int | None = None,
    ) -> dict[str, list[Any]]:
        """Correct the record's fields; returns {field: [old, new]} of those that changed."""
        with self.uow() as uow:
            record = self._current(uow.session, record_id, expected_version)
            spec = self.specs.get(uow.session, record.pack_version_id)
            with conflict_on_stale(record_id):
                changes = editing.edit_fields(
                    uow.session, spec, record, values, actor=actor, now=self.clock.now()
                )
                uow.commit()
            return changes

    def reassign(
        self,
        record_id: int,
        *,
        actor: str,
        person: str | None = None,
        team: int | None = None,
        expected_version: int | None = None,
    ) -> Record:
        """Give the record to a person (by username), or to a team's queue (by team id)."""
        with self.uow() as uow:
            record = self._current(uow.session, record_id, expected_version)
            now = self.clock.now()
            with conflict_on_stale(record_id):
                if team is not None:
                    found = uow.session.get(Team, team)
                    if found is None:
                        raise NotFound(f"team {team} does not exist")
                    spec = self.specs.get(uow.session, record.pack_version_id)
                    editing.to_team(uow.session, spec, record, found, actor=actor, now=now)
                elif person:
                    users.get_active(uow.session, person)
                    queue.assign(uow.session, record, person, now, actor=actor)
                uow.commit()
            return record

    def regrade(
        self,
        record_id: int,
        priority: str,
        reason: str,
        *,
        actor: str,
        expected_version: int | None = None,
    ) -> bool:
        """Change the priority with a reason (R-2.4: the SLA clocks re-plan); False if it
        already had that priority."""
        with self.uow() as uow:
            record = self._current(uow.session, record_id, expected_version)
            spec = self.specs.get(uow.session, record.pack_version_id)
            before = record.priority
            with conflict_on_stale(record_id):
                transitions.change_priority(
                    uow.session, spec, record, priority, reason, actor=actor, now=self.clock.now()
                )
                uow.commit()
            return record.priority != before

    def retag(
        self,
        record_id: int,
        *,
        add: Iterable[str] = (),
        remove: Iterable[str] = (),
        actor: str,
    ) -> list[str]:
        """Add and remove tags; returns the record's tags."""
        with self.uow() as uow:
            record = transitions.get_record(uow.session, record_id)
            found = tags.change(
                uow.session, record, add=add, remove=remove, actor=actor, now=self.clock.now()
            )
            uow.commit()
            return found

    def refollow(
        self,
        record_id: int,
        *,
        add: Iterable[str] = (),
        remove: Iterable[str] = (),
        actor: str,
    ) -> list[str]:
        """Add and remove followers by username; one who may not see the record cannot follow
        it (InvalidInput). Returns the followers' usernames."""
        with self.uow() as uow:
            session = uow.session
            record = transitions.get_record(session, record_id)
            adding = self._people(session, add)
            barred = [u.username for u in adding if not u.active or not queue.may_see(u, record)]
            if barred:
                raise InvalidInput(
                    f"{', '.join(barred)} may not see record {record_id}",
                    fields={"follower": "cannot_see"},
                )
            now = self.clock.now()
            added, removed = followers.change(
                session, record, add=adding, remove=self._people(session, remove), now=now
            )
            if added or removed:
                event = FollowersChanged(tuple(added), tuple(removed))
                add_event(session, record, now, event, actor=actor)
            names = [u.username for u in followers.followers_of(session, record_id)]
            uow.commit()
            return names

    @staticmethod
    def _people(session: Session, usernames: Iterable[str]) -> list[User]:
        wanted = set(usernames)
        if not wanted:
            return []
        # A name no user can have (a NUL, which PostgreSQL refuses in text) is never queried.
        queried = {n for n in wanted if "\x00" not in n and len(n) <= 128}
        found = list(session.scalars(select(User).where(User.username.in_(queried))))
        missing = wanted - {u.username for u in found}
        if missing:
            raise InvalidInput(
                f"no user {', '.join(sorted(missing))}", fields={"follower": "unknown"}
            )
        return found

    @staticmethod
    def _current(session: Session, record_id: int, expected_version: int | None) -> Record:
        record = transitions.get_record(session, record_id)
        if expected_version is not None and record.row_version != expected_version:
            raise ConflictError(record_id)
        return record
