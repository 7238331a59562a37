"""What every area of the use cases shares: the session factory, the clock and the spec cache.

Besides the unit of work, two steps are shared across areas: re-tiering customers (a saved
customer, an order and a record filed as a complaint all move tiers, R-5.1) and turning a lost
optimistic-lock race into the ConflictError the callers map to 409.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from engine.customers import tiers
from engine.customers.surveylinks import SurveyLinks
from engine.errors import ConflictError
from engine.records import versions
from engine.records.versions import SpecCache
from engine.specs.pack import PackSpec
from engine.store.models import Record
from engine.store.uow import UnitOfWork
from engine.time.clock import Clock, SystemClock


@contextmanager
def conflict_on_stale(record_id: int) -> Iterator[None]:
    """A record changed by someone else since it was read (its `row_version` moved) shows as
    StaleDataError at a flush or the commit; callers see it as a ConflictError about the record.
    """
    try:
        yield
    except StaleDataError:
        raise ConflictError(record_id) from None


class ServiceBase:
    """Use cases bound to a session factory, a clock, a spec cache and the survey links."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        clock: Clock | None = None,
        specs: SpecCache | None = None,
        links: SurveyLinks | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.clock = clock or SystemClock()
        self.specs = specs or SpecCache()
        # Signs the survey links the promised contacts send; None where nothing is sent.
        self.links = links

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)

    def latest_spec(self, session: Session, pack: str) -> PackSpec:
        return self.specs.of(versions.latest_version(session, pack))

    def latest_specs(self, session: Session) -> list[PackSpec]:
        """Every pack as published last: what a customer's tier is entered in (R-5.2)."""
        return [self.specs.of(version) for version in versions.latest_versions(session)]

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
