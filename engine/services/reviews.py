"""Use cases of the scheduled reviews (R-4.2): build the due ones and mail them once; and
frequent problems raised as improvement actions for their department (R-7.2)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.insight import frequent, reviews
from engine.records import versions
from engine.services.base import ServiceBase
from engine.store.models import ImprovementAction, PackVersion, ReviewRun

log = logging.getLogger("engine.services")


class ReviewServices(ServiceBase):
    """The weekly and monthly reviews each pack's `reviews` key schedules."""

    def send_reviews(self) -> list[ReviewRun]:
        """Build and queue every review due now, each in its own transaction.

        Another scheduler that built the same period first wins the unique key: this one's
        transaction, mail included, rolls back, so each period goes out exactly once.
        """
        now = self.clock.now()
        sent = []
        with self.uow() as uow:
            packs = versions.latest_versions(uow.session)
        for version in packs:
            spec = self.specs.of(version)
            if not spec.insight.reviews.schedules:
                continue
            with self.uow() as uow:
                since = _scheduled_since(uow.session, spec.name) or now
                due = reviews.due_reviews(uow.session, spec, now, since)
            for review in due:
                with self.uow() as uow:
                    try:  # the unique key refuses a racer's row at its flush or its commit
                        run = reviews.queue(uow.session, spec, review, now)
                        uow.commit()
                    except IntegrityError:
                        log.info(
                            "review %s %s %s was built elsewhere",
                            spec.name,
                            review.kind,
                            review.first,
                        )
                        continue
                    sent.append(run)
        return sent

    def raise_frequent_actions(self) -> list[ImprovementAction]:
        """Frequent problems of every pack become actions for their department (R-7.2)."""
        now = self.clock.now()
        with self.uow() as uow:
            packs = versions.latest_versions(uow.session)
        return [action for version in packs for action in _raise_in_pack(self, version, now)]


def _raise_in_pack(services: ReviewServices, version: PackVersion, now: datetime) -> list[Any]:
    spec = services.specs.of(version)
    if spec.insight.frequent is None:
        return []
    with services.uow() as uow:
        try:  # the unique index refuses a racer's row at its flush or its commit
            raised = frequent.raise_actions(uow.session, spec, now)
            uow.commit()
        except IntegrityError:
            log.info("frequent problems of %s were raised elsewhere", spec.name)
            return []
        return raised


def _scheduled_since(session: Session, pack: str) -> datetime | None:
    """When the pack first published a version with review schedules: no earlier review is
    due, so adding `reviews` to an old pack mails no review of a period long gone."""
    versions_of = session.scalars(
        select(PackVersion).where(PackVersion.pack == pack).order_by(PackVersion.version)
    )
    for version in versions_of:
        given = version.data.get("reviews") or {}
        if given.get("weekly") or given.get("monthly"):
            return version.published_at
    return None
