"""Use cases of CSV imports: a file checked and written now when small, queued as a background
job when long (issue #22 item 5), and the job run by the scheduler's sweep."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from engine.access.users import audit
from engine.customers import importjobs, imports
from engine.services.base import ServiceBase
from engine.store.models import ImportJob

log = logging.getLogger(__name__)
IMPORT_ZONE = ZoneInfo("Asia/Shanghai")  # dates without an offset, as the admin's page reads them


class ImportServices(ServiceBase):
    """CSV imports of customers and purchases, inline or as jobs."""

    def queue_import(
        self, checked: imports.Checked, *, filename: str, data: bytes, good_rows: bool, by: str
    ) -> int:
        """A job for the scheduler; its id, for the page that shows its progress."""
        with self.uow() as uow:
            job = importjobs.queue(
                uow.session,
                checked,
                filename=filename,
                data=data,
                good_rows=good_rows,
                by=by,
                now=self.clock.now(),
            )
            uow.commit()
            return job.id

    def import_job(self, job_id: int) -> ImportJob | None:
        with self.uow() as uow:
            job = uow.session.get(ImportJob, job_id)
            if job is not None:
                uow.session.expunge(job)
            return job

    def run_import_job(self, worker: str) -> int | None:
        """Claim the oldest waiting job and run it to the end; its id, or None when none waits."""
        with self.uow() as uow:
            job_id = importjobs.claim(uow.session, worker, self.clock.now())
            uow.commit()
        if job_id is None:
            return None
        try:
            self._run(job_id)
        except Exception as exc:  # a bug or a lost database: the job says so, the sweep goes on
            # The type only: a database error's text may quote the rows, which are personal.
            log.error("import job %d failed: %s", job_id, type(exc).__name__)
            with self.uow() as uow:
                importjobs.fail(uow.session, job_id, type(exc).__name__, self.clock.now())
                uow.commit()
        return job_id

    def _run(self, job_id: int) -> None:
        with self.uow() as uow:
            session = uow.session
            job = session.get(ImportJob, job_id)
            assert job is not None and job.data is not None
            try:
                checked = imports.check(imports.decode(job.data), IMPORT_ZONE, self.clock.now())
            except ValueError as exc:  # not UTF-8 nor GB18030: the message names no data
                importjobs.fail(session, job_id, str(exc), self.clock.now())
                uow.commit()
                return
            written = 0
            if not checked.errors or job.good_rows:
                packs = self.latest_specs(session)
                chunks = imports.apply_in_chunks(session, packs, checked, self.clock.now())
                for done, total in chunks:
                    importjobs.progress(session, job_id, done, total, self.clock.now())
                    session.commit()  # each chunk in for good, and the page sees it
                written = len(checked.rows)
            importjobs.finish(session, job_id, checked, written, self.clock.now())
            audit(
                session,
                job.created_by,
                f"import.{checked.kind}",
                job.filename,
                self.clock.now(),
                rows=written,
                bad_rows=len({error.row for error in checked.errors}),
                job=job_id,
            )
            uow.commit()
