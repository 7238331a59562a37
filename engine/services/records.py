"""Use cases of records: publish a pack, take a record in, move it on, supervise it, fire timers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from engine.access import users
from engine.conversation import contacts
from engine.errors import ConflictError
from engine.events import DeadlineExtended
from engine.insight import earlywarning
from engine.records import intake, queue, transitions, versions
from engine.records.intake import NewRecord
from engine.records.versions import PackSource, PublishResult
from engine.services.base import ServiceBase, conflict_on_stale
from engine.store.models import Record
from engine.time import extensions, timers


class RecordServices(ServiceBase):
    """Records from intake to closing; a lost race on one record is a ConflictError."""

    def publish(
        self,
        source: PackSource,
        *,
        by: str,
        stage_map: Mapping[str, str] | None = None,
        origin: str = versions.FILES,
        keep_admin: bool = False,
    ) -> PublishResult:
        with self.uow() as uow:
            result = versions.publish(
                uow.session,
                source,
                by=by,
                now=self.clock.now(),
                stage_map=stage_map,
                origin=origin,
                keep_admin=keep_admin,
            )
            uow.commit()
            return result

    def create_record(self, pack: str, new: NewRecord, *, actor: str) -> Record:
        return self.intake(pack, new, actor=actor)[0]

    def intake(self, pack: str, new: NewRecord, *, actor: str) -> tuple[Record, bool]:
        """Create a record on the pack's newest version; a repeated channel message id
        returns the record its first push created (False) instead of a second one.

        Two first contacts of one new customer at once both create the customer; the one
        that commits second conflicts on the customer's number and simply runs again, now
        finding the customer.
        """
        for attempt in range(2):
            with self.uow() as uow:
                existing = intake.find_external(uow.session, pack, new)
                if existing is not None:
                    return existing, False
                version = self.specs.latest(uow.session, pack)
                spec = self.specs.of(version)
                now = self.clock.now()
                try:  # a query in create_record may flush the new customer already
                    record = intake.create_record(
                        uow.session, spec, version, new, actor=actor, now=now
                    )
                    self._on_complaint(uow.session, spec, record, now)
                    uow.commit()
                except IntegrityError:  # the same message, or the same new customer, at once
                    uow.rollback()
                    existing = intake.find_external(uow.session, pack, new)
                    if existing is not None:
                        return existing, False
                    if attempt:
                        raise
                    continue
                return record, True
        raise AssertionError("unreachable: the second attempt returns or raises")

    def supervise(
        self,
        record_id: int,
        *,
        actor: str,
        reassign_to: str | None = None,
        priority: str | None = None,
        reason: str = "",
        duplicate_of: int | None = None,
    ) -> Record:
        """A supervisor's action on one record: reassign, re-grade, or close as a duplicate."""
        with self.uow() as uow:
            record = transitions.get_record(uow.session, record_id)
            spec = self.specs.get(uow.session, record.pack_version_id)
            now = self.clock.now()
            with conflict_on_stale(record_id):
                if reassign_to:
                    users.get_active(uow.session, reassign_to)
                if reassign_to is not None:
                    queue.assign(uow.session, record, reassign_to or None, now, actor=actor)
                if priority is not None:
                    transitions.change_priority(
                        uow.session, spec, record, priority, reason, actor=actor, now=now
                    )
                if duplicate_of is not None:
                    original = transitions.get_record(uow.session, duplicate_of)
                    transitions.close_as_duplicate(
                        uow.session, spec, record, original, actor=actor, now=now
                    )
                    earlywarning.close_for(uow.session, record, now)
                uow.commit()
            return record

    def add_note(self, record_id: int, kind: str, text: str, *, actor: str) -> Record:
        with self.uow() as uow:
            record = transitions.get_record(uow.session, record_id)
            transitions.add_note(uow.session, record, kind, text, actor=actor, now=self.clock.now())
            uow.commit()
            return record

    def transition(
        self,
        record_id: int,
        transition_id: str,
        form: Mapping[str, Any],
        *,
        actor: str,
        expected_version: int | None = None,
    ) -> Record:
        """Apply a transition; a stale `expected_version` or a lost race is a ConflictError."""
        with self.uow() as uow:
            record = transitions.get_record(uow.session, record_id)
            if expected_version is not None and record.row_version != expected_version:
                raise ConflictError(record_id)
            spec = self.specs.get(uow.session, record.pack_version_id)
            category = record.category
            now = self.clock.now()  # once: every effect of the transition is at the same instant
            with conflict_on_stale(record_id):  # at the first flush or at the commit
                transitions.apply_transition(
                    uow.session,
                    spec,
                    record,
                    transition_id,
                    form,
                    actor=actor,
                    now=now,
                )
                if not record.is_open:
                    earlywarning.close_for(uow.session, record, now)
                if record.category != category:
                    self._on_complaint(uow.session, spec, record, now)
                uow.commit()
            return record

    def sweep(self, *, batch_size: int = 100, max_batches: int | None = None) -> timers.SweepResult:
        """Fire every timer due now, exactly once, oldest first; then send the customer
        contacts due, those the timers just armed included (progress updates, R-3.2)."""
        now = self.clock.now()
        result = timers.sweep(
            self.session_factory, self.specs, now, batch_size=batch_size, max_batches=max_batches
        )
        sent = contacts.send_due(
            self.session_factory, self.specs, self.links, now, batch_size=batch_size
        )
        result.fired.extend(sent)
        return result

    def extend_deadline(
        self,
        record_id: int,
        deadline: datetime,
        reason: str,
        *,
        actor: str,
        override: bool = False,
        expected_version: int | None = None,
    ) -> DeadlineExtended:
        """Move the record's deadline with a reason (R-3.2); ExtensionRefused when too late
        without `override`, which only a supervisor may give (the caller checks the role)."""
        with self.uow() as uow:
            record = transitions.get_record(uow.session, record_id)
            if expected_version is not None and record.row_version != expected_version:
                raise ConflictError(record_id)
            spec = self.specs.get(uow.session, record.pack_version_id)
            with conflict_on_stale(record_id):
                event = extensions.extend(
                    uow.session,
                    spec,
                    record,
                    deadline,
                    reason,
                    actor=actor,
                    now=self.clock.now(),
                    override=override,
                )
                uow.commit()
            return event
