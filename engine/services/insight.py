"""Use cases of listening to customers: rollups, satisfaction, warnings, improvement actions."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine.customers import satisfaction
from engine.insight import earlywarning, improvement, rollup
from engine.records import transitions, versions
from engine.selfservice import rollup as selfservice_rollup
from engine.services.base import ServiceBase
from engine.store.models import ImprovementAction, PackVersion, SatisfactionAnswer

log = logging.getLogger("engine.services")  # the name its records have always carried


class InsightServices(ServiceBase):
    """Satisfaction, warnings and improvement (issue #8), and the KPI rollup."""

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
            with self.uow() as uow:  # self-service outcomes of closed days (issue #23)
                selfservice_rollup.roll_up(uow.session, self.specs.of(version), now)
                uow.commit()
            rolled[version.pack] = len(due)
        return rolled

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
