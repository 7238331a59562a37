"""Background jobs staff start from a page and watch: today the long CSV imports (issue #22
item 5). A row is the job: the scheduler's sweep claims it with a conditional UPDATE, so one
worker runs it however many schedulers share the database, and the page reads its progress."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models.base import Model
from engine.store.types import EncryptedBytes


class ImportJob(Model):
    """One uploaded CSV on its way in: queued, running (done of total), then done or failed."""

    __tablename__ = "import_jobs"
    __table_args__ = (Index("ix_import_jobs_status", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # customers or orders
    filename: Mapped[str] = mapped_column(String(255))
    # The file as uploaded, encrypted like every personal datum; dropped when done.
    data: Mapped[bytes | None] = mapped_column(EncryptedBytes())
    good_rows: Mapped[bool]  # import the good rows of a file with bad ones
    status: Mapped[str] = mapped_column(String(16))  # queued, running, done, failed
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    # The running worker's last sign of life: a job whose worker died is claimed again.
    beat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    worker: Mapped[str | None] = mapped_column(String(128))
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    written: Mapped[int] = mapped_column(default=0)
    # The rows refused: [{"row": 7, "column": "birthday", "message": "…"}], as the page shows them.
    refused: Mapped[list[Any]]
    error: Mapped[str | None] = mapped_column(String(300))
