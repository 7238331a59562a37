"""The engine's use cases behind one door: each opens a unit of work, asks the clock once, commits.

The web, the API, the CLI, the scheduler and the simulator all call these;
none of them touches the store's tables directly.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from engine.access import users
from engine.customers import campaigns, privacy, profiles, satisfaction, tiers
from engine.errors import ConflictError
from engine.insight import earlywarning, improvement, rollup
from engine.knowledge import articles, search
from engine.knowledge.search import Hit
from engine.records import intake, queue, transitions, versions
from engine.records.intake import NewRecord
from engine.records.versions import PackSource, PublishResult, SpecCache
from engine.specs.pack import PackSpec
from engine.store.models import (
    Customer,
    ImprovementAction,
    KnownProblem,
    Order,
    PackVersion,
    Record,
    SatisfactionAnswer,
)
from engine.store.uow import UnitOfWork
from engine.time import timers
from engine.time.clock import Clock, SystemClock

log = logging.getLogger(__name__)


class Services:
    """Use cases bound to a session factory, a clock and a spec cache."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        clock: Clock | None = None,
        specs: SpecCache | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.clock = clock or SystemClock()
        self.specs = specs or SpecCache()

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)

    def publish(
        self, source: PackSource, *, by: str, stage_map: Mapping[str, str] | None = None
    ) -> PublishResult:
        with self.uow() as uow:
            result = versions.publish(
                uow.session, source, by=by, now=self.clock.now(), stage_map=stage_map
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
                version = versions.latest_version(uow.session, pack)
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
            try:
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
            except StaleDataError:
                raise ConflictError(record_id) from None
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
            try:  # the stale row shows at the first flush or at the commit
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
            except StaleDataError:
                raise ConflictError(record_id) from None
            return record

    def save_customer(self, number: str, values: Mapping[str, Any]) -> tuple[Customer, bool]:
        """Create or update a customer; their tiers follow at once (R-5.1)."""
        with self.uow() as uow:
            now = self.clock.now()
            customer, created = profiles.upsert_customer(uow.session, number, values, now)
            self._retier(uow.session, [customer.id], now)
            uow.commit()
            return customer, created

    def export_customer(self, number_or_contact: str) -> dict[str, Any]:
        """All that is stored about a customer, for a request of theirs (R-8.3)."""
        with self.uow() as uow:
            customer = privacy.find_customer(uow.session, number_or_contact)
            return privacy.export(uow.session, customer)

    def erase_customer(self, number_or_contact: str, *, actor: str) -> int:
        """Erase the person, keep the statistics and the audit trail; returns records scrubbed."""
        with self.uow() as uow:
            customer = privacy.find_customer(uow.session, number_or_contact)

            def personal(record: Record) -> frozenset[str]:
                rtype = self.specs.get(uow.session, record.pack_version_id).record_types.get(
                    record.record_type
                )
                fields = rtype.fields.items() if rtype else ()
                return frozenset(name for name, spec in fields if spec.is_personal)

            count = privacy.erase(uow.session, customer, personal, actor, self.clock.now())
            uow.commit()
            return count

    def record_order(self, number: str, values: Mapping[str, Any]) -> tuple[Order, bool]:
        """Store a purchase (once per external id); the customer's tiers follow at once."""
        with self.uow() as uow:
            now = self.clock.now()
            order, created = profiles.add_order(uow.session, number, values, now)
            self._retier(uow.session, [order.customer_id], now)
            uow.commit()
            return order, created

    def _on_complaint(
        self, session: Session, spec: PackSpec, record: Record, now: datetime
    ) -> None:
        """A record filed as a complaint changes its customer's tier at once (R-5.1)."""
        if record.customer is not None and record.category in spec.complaint_categories:
            session.flush()
            self._retier(session, [record.customer.id], now)

    def _retier(self, session: Session, customer_ids: list[int], now: datetime) -> None:
        for version in versions.latest_versions(session):
            spec = self.specs.of(version)
            if spec.tiers:
                tiers.recompute(session, spec, now, customer_ids)

    def recompute_tiers(self) -> dict[str, tiers.TierRun]:
        """Every customer's tier in every pack that declares tiers, one transaction per pack."""
        runs = {}
        with self.uow() as uow:
            packs = versions.latest_versions(uow.session)
        for version in packs:
            spec = self.specs.of(version)
            if not spec.tiers:
                continue
            with self.uow() as uow:
                runs[spec.name] = tiers.recompute(uow.session, spec, self.clock.now())
                uow.commit()
        return runs

    def roll_up(self, *, days_per_transaction: int = 31) -> dict[str, int]:
        """Roll up every pack's closed days that have no current rollup; {pack: days rolled}.

        `now` is taken once, before any day is read (see `engine.rollup.roll_up`); a month of
        days per transaction keeps a first run over years of records from holding locks long.
        """
        now = self.clock.now()
        rolled = {}
        with self.uow() as uow:
            packs = versions.latest_versions(uow.session)
        for version in packs:
            reading = rollup.reading(self.specs.of(version), now)
            with self.uow() as uow:
                due = rollup.days_due(uow.session, reading, now)
                rollup.confirm(uow.session, reading, due, now)
                uow.commit()
            for start in range(0, len(due), days_per_transaction):
                with self.uow() as uow:
                    rollup.roll_up(
                        uow.session, reading, due[start : start + days_per_transaction], now
                    )
                    uow.commit()
            rolled[version.pack] = len(due)
        return rolled

    def run_campaigns(
        self, *, replay_from: datetime | None = None
    ) -> list[campaigns.CampaignResult]:
        """Every campaign of every pack up to now, one transaction per campaign (R-5.3)."""
        results = []
        with self.uow() as uow:
            packs = versions.latest_versions(uow.session)
        for version in packs:
            spec = self.specs.of(version)
            for campaign in campaigns.all_campaigns(spec).values():
                with self.uow() as uow:
                    results.append(
                        campaigns.run_campaign(
                            uow.session,
                            spec,
                            version,
                            campaign,
                            self.clock.now(),
                            replay_from=replay_from,
                        )
                    )
                    uow.commit()
        return results

    def link_known_problem(self, record_id: int, problem_id: int, *, actor: str) -> KnownProblem:
        """The record is one more instance of a known problem (R-2.1); its count grows (R-4.2)."""
        with self.uow() as uow:
            record = transitions.get_record(uow.session, record_id)
            problem = articles.link_problem(
                uow.session, record, problem_id, actor=actor, now=self.clock.now()
            )
            try:
                uow.commit()
            except StaleDataError:
                raise ConflictError(record_id) from None
            return problem

    def suggestions(self, record_id: int, *, limit: int = 5) -> dict[str, list[Hit]]:
        """Triage (R-2.1): the known problems, articles and solved cases most like this record."""
        with self.uow() as uow:
            record = transitions.get_record(uow.session, record_id)
            return articles.suggestions(uow.session, record, limit=limit)

    def knowledge_search(self, question: str, *, limit: int = 10) -> dict[str, list[Hit]]:
        """The knowledge base as staff search it: each kind ranked on its own."""
        with self.uow() as uow:
            return {
                kind: search.search(uow.session, question, kind=kind, limit=limit)
                for kind in search.KINDS
            }

    def answers(self, question: str, *, limit: int = 3) -> list[Hit]:
        """Self-service (S0, S2): the best published articles for a customer's question."""
        with self.uow() as uow:
            return search.search(uow.session, question, kind="article", limit=limit)

    def reindex(self) -> dict[str, int]:
        with self.uow() as uow:
            counts = articles.reindex(uow.session, self.clock.now())
            uow.commit()
            return counts

    def sweep(self, *, batch_size: int = 100, max_batches: int | None = None) -> timers.SweepResult:
        """Fire every timer due now, exactly once, oldest first."""
        return timers.sweep(
            self.session_factory,
            self.specs,
            self.clock.now(),
            batch_size=batch_size,
            max_batches=max_batches,
        )

    # --- Satisfaction, warnings, improvement (issue #8) ---------------------------------------

    def answer_satisfaction(
        self, record_id: int, given: satisfaction.Answer, *, via: str, actor: str
    ) -> SatisfactionAnswer:
        """Store a record's one satisfaction answer; a second, even a racing one, is refused."""
        with self.uow() as uow:
            record = transitions.get_record(uow.session, record_id)
            spec = self.specs.get(uow.session, record.pack_version_id)
            answer = satisfaction.record_answer(
                uow.session, spec, record, given, via=via, actor=actor, now=self.clock.now()
            )
            try:
                uow.commit()
            except IntegrityError:
                uow.rollback()
                raise satisfaction.AlreadyAnswered(record_id) from None
            return answer

    def evaluate_monitors(self) -> list[earlywarning.Outcome]:
        """Run every pack's monitors on its newest version, one transaction per pack (R-6.1).

        Two evaluators racing on one warning: the open-warning unique index lets one win; the
        other's pack is rolled back and measured again at the next run.
        """
        now = self.clock.now()
        outcomes: list[earlywarning.Outcome] = []
        with self.uow() as uow:
            packs = list(uow.session.scalars(select(PackVersion.pack).distinct()))
        for pack in packs:
            with self.uow() as uow:
                version = versions.latest_version(uow.session, pack)
                spec = self.specs.of(version)
                if not spec.insight.monitors:
                    continue
                found = earlywarning.evaluate(uow.session, spec, version, now)
                try:
                    uow.commit()
                except IntegrityError:
                    uow.rollback()
                    log.warning("monitors of %s lost a race; they run again next time", pack)
                    continue
                outcomes.extend(found)
        return outcomes

    def report_warning(
        self, pack: str, *, title: str, description: str, level: str, actor: str
    ) -> earlywarning.Outcome:
        """A member of staff raises a warning by hand (R-6.1 internal reports)."""
        with self.uow() as uow:
            version = versions.latest_version(uow.session, pack)
            outcome = earlywarning.raise_by_staff(
                uow.session,
                self.specs.of(version),
                version,
                title=title,
                description=description,
                level=level,
                actor=actor,
                now=self.clock.now(),
            )
            uow.commit()
            return outcome

    def latest_spec(self, session: Session, pack: str) -> PackSpec:
        return self.specs.of(versions.latest_version(session, pack))

    def create_action(
        self,
        pack: str,
        *,
        title: str,
        owner: str,
        deadline: datetime,
        metric: str,
        window_days: int = 7,
        category: str | None = None,
        warning_id: int | None = None,
        actor: str,
    ) -> ImprovementAction:
        """An improvement action with its metric's value now (R-7.1)."""
        with self.uow() as uow:
            action = improvement.create_action(
                uow.session,
                self.latest_spec(uow.session, pack),
                title=title,
                owner=owner,
                deadline=deadline,
                metric=metric,
                window_days=window_days,
                category=category,
                warning_id=warning_id,
                actor=actor,
                now=self.clock.now(),
            )
            uow.commit()
            return action

    def measure_actions(self) -> list[ImprovementAction]:
        """Measure the value after of the actions whose deadline has passed (R-7.1)."""
        with self.uow() as uow:
            session = uow.session
            due = improvement.measure_due(
                session, lambda pack: self.latest_spec(session, pack), self.clock.now()
            )
            uow.commit()
            return due
