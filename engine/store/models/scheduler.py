"""The scheduler's heartbeat: one row per process, so `--status` can tell if sweeps run."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models.base import Model


class SchedulerHeartbeat(Model):
    """One row per scheduler process: when it last swept and what it did, for `--status`."""

    __tablename__ = "scheduler_heartbeats"

    worker: Mapped[str] = mapped_column(String(128), primary_key=True)
    started_at: Mapped[datetime]
    last_sweep_at: Mapped[datetime | None]
    last_fired: Mapped[int] = mapped_column(default=0)
    last_failed: Mapped[int] = mapped_column(default=0)
    last_duration_ms: Mapped[float] = mapped_column(default=0.0)
    total_fired: Mapped[int] = mapped_column(default=0)
