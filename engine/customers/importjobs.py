"""Long CSV imports as background jobs (issue #22 item 5): queued by the admin's page, claimed
once by a scheduler's sweep, written a chunk at a time with the progress the page shows, and
finished with a report: rows imported, rows refused with their line and reason.

Exactly once: a job is claimed with a conditional UPDATE (queued → running), which one worker
wins however many sweep the database. A worker that dies mid-job stops beating; after LEASE
another claims the job again, and rewriting chunks already written changes nothing (customers
merge by number, purchases by their external id).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session

from engine.customers import imports
from engine.store.models import ImportJob

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
LEASE = timedelta(minutes=10)  # a running job silent this long lost its worker


def queue(
    session: Session,
    checked: imports.Checked,
    *,
    filename: str,
    data: bytes,
    good_rows: bool,
    by: str,
    now: datetime,
) -> ImportJob:
    """A job for a file already checked once (so the page could refuse a bad one at once)."""
    job = ImportJob(
        kind=checked.kind,
        filename=filename[:255],
        data=data,
        good_rows=good_rows,
        status=QUEUED,
        created_by=by,
        created_at=now,
        total=len(checked.rows),
        refused=[],
    )
    session.add(job)
    session.flush()
    return job


def _claimable(now: datetime) -> ColumnElement[bool]:
    return or_(
        ImportJob.status == QUEUED,
        and_(ImportJob.status == RUNNING, ImportJob.beat_at < now - LEASE),
    )


def claim(session: Session, worker: str, now: datetime) -> int | None:
    """The oldest job waiting (or abandoned), now this worker's; None when there is none or
    another worker claimed it first."""
    job_id = session.scalar(
        select(ImportJob.id).where(_claimable(now)).order_by(ImportJob.id).limit(1)
    )
    if job_id is None:
        return None
    won = session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id, _claimable(now))
        .values(status=RUNNING, worker=worker, started_at=now, beat_at=now, done=0)
    )
    return job_id if won.rowcount == 1 else None  # type: ignore[attr-defined]


def progress(session: Session, job_id: int, done: int, total: int, now: datetime) -> None:
    session.execute(
        update(ImportJob).where(ImportJob.id == job_id).values(done=done, total=total, beat_at=now)
    )


def finish(
    session: Session, job_id: int, checked: imports.Checked, written: int, now: datetime
) -> None:
    """Done: the report kept, the file (personal data) dropped."""
    session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id)
        .values(
            status=DONE,
            written=written,
            refused=[asdict(error) for error in checked.errors],
            data=None,
            finished_at=now,
            beat_at=now,
        )
    )


def fail(session: Session, job_id: int, reason: str, now: datetime) -> None:
    """Failed: why, in words without personal data; the file is dropped too."""
    session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id)
        .values(status=FAILED, error=reason[:300], data=None, finished_at=now, beat_at=now)
    )
