"""The engine's facade as the adapters run it: the same use cases, counted for Prometheus.

A subclass in the adapter layer, so `engine/` stays free of Prometheus: the web
app (`wsgi.create_app`) and `careloop scheduler` build this instead of `Services`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from engine.services import Services
from ops import metrics
from ops.context import correlated

if TYPE_CHECKING:  # their modules come with the areas that use them (engine/services)
    from engine.records.intake import NewRecord
    from engine.store.models import Record
    from engine.time.timers import SweepResult

log = logging.getLogger(__name__)


class ObservedServices(Services):
    """Records created and transitioned, sweeps and the timers they fired, as metrics."""

    def intake(self, pack: str, new: NewRecord, *, actor: str) -> tuple[Record, bool]:
        record, created = super().intake(pack, new, actor=actor)
        if created:
            metrics.RECORDS_CREATED.labels(record.pack, record.priority).inc()
            log.info(
                "record %s created",
                record.id,
                extra={"record_id": record.id, "pack": record.pack, "priority": record.priority},
            )
        return record, created

    def transition(
        self,
        record_id: int,
        transition_id: str,
        form: Mapping[str, Any],
        *,
        actor: str,
        expected_version: int | None = None,
    ) -> Record:
        record = super().transition(
            record_id, transition_id, form, actor=actor, expected_version=expected_version
        )
        metrics.RECORDS_TRANSITIONED.labels(record.pack, transition_id).inc()
        log.info(
            "record %s: %s",
            record.id,
            transition_id,
            extra={"record_id": record.id, "pack": record.pack, "transition": transition_id},
        )
        return record

    def sweep(
        self, *, batch_size: int = 100, max_batches: int | None = None, sweepers: int | None = None
    ) -> SweepResult:
        """Each timer it acted on is a DEBUG line (ids, kind, lag) under the sweep's id."""
        with correlated("sweep-"):
            began = time.perf_counter()
            result = super().sweep(
                batch_size=batch_size, max_batches=max_batches, sweepers=sweepers
            )
            now = self.clock.now()
            metrics.observe_sweep(result, now, time.perf_counter() - began)
            if log.isEnabledFor(logging.DEBUG):
                for fired in result.fired:
                    log.debug(
                        "timer %s %s",
                        fired.timer_id,
                        fired.outcome,
                        extra={
                            "timer_id": fired.timer_id,
                            "record_id": fired.record_id,
                            "kind": fired.kind,
                            "outcome": fired.outcome,
                            "lag_s": round((now - fired.due_at).total_seconds(), 3),
                        },
                    )
        return result
