"""The engine's facade as the adapters run it: the same use cases, counted for Prometheus.

A subclass in the adapter layer, so `engine/` stays free of Prometheus: the web
app (`wsgi.create_app`) and `careloop scheduler` build this instead of `Services`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from engine.records import NewRecord
from engine.services import Services
from engine.store.models import Record
from engine.timers import SweepResult
from ops import metrics

log = logging.getLogger(__name__)


class ObservedServices(Services):
    """Records created and transitioned, sweeps and the timers they fired, as metrics."""

    def intake(self, pack: str, new: NewRecord, *, actor: str) -> tuple[Record, bool]:
        record, created = super().intake(pack, new, actor=actor)
        if created:
            metrics.RECORDS_CREATED.labels(record.pack, record.priority).inc()
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
        return record

    def sweep(self, *, batch_size: int = 100, max_batches: int | None = None) -> SweepResult:
        began = time.perf_counter()
        result = super().sweep(batch_size=batch_size, max_batches=max_batches)
        metrics.observe_sweep(result, self.clock.now(), time.perf_counter() - began)
        return result
