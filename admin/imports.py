"""CSV import of customers and purchases on the admin: checked whole at once, written now when
small, by a background job with its progress on a page of its own when long (issue #22 item 5).
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_login import current_user

from admin.security import Guarded
from engine.access.users import audit
from engine.customers import imports
from engine.services.imports import IMPORT_ZONE
from web import current_services as services

# Up to this many rows a file is written while the page waits (set-based, well under a
# second); more go to a job the scheduler runs. IMPORT_INLINE_ROWS in the app's config.
INLINE_ROWS = 2000


class ImportView(Guarded, BaseView):  # type: ignore[misc]
    """CSV import of customers or purchases: checked whole, written only when clean (or asked);
    a file of more than IMPORT_INLINE_ROWS rows is written by a background job (issue #22)."""

    @expose("/", methods=["GET", "POST"])
    def index(self) -> Any:
        if request.method == "GET":
            return self.render("admin_packs/import.html", result=None)
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash(_("请选择一个 CSV 文件。"), "error")
            return self.render("admin_packs/import.html", result=None), 400
        service = services()
        data = upload.read()
        try:
            checked = imports.check(imports.decode(data), IMPORT_ZONE, service.clock.now())
        except ValueError as exc:
            flash(str(exc), "error")
            return self.render("admin_packs/import.html", result=None), 400
        partial = request.form.get("good_rows") == "1"
        if checked.errors and not partial:
            return self.render("admin_packs/import.html", result=checked, written=0), 400
        if len(checked.rows) > current_app.config.get("IMPORT_INLINE_ROWS", INLINE_ROWS):
            job_id = service.queue_import(
                checked,
                filename=upload.filename,
                data=data,
                good_rows=partial,
                by=current_user.username,
            )
            return redirect(url_for(".job", job_id=job_id))
        with service.uow() as uow:
            packs = service.latest_specs(uow.session)  # a tier set is entered
            written = imports.apply(uow.session, packs, checked, service.clock.now())
            audit(
                uow.session,
                current_user.username,
                f"import.{checked.kind}",
                upload.filename,
                service.clock.now(),
                rows=written,
                bad_rows=len({e.row for e in checked.errors}),
            )
            uow.commit()
        return self.render("admin_packs/import.html", result=checked, written=written)

    @expose("/job/<int:job_id>")
    def job(self, job_id: int) -> Any:
        """A background import's progress while it runs (the page reloads itself), then its
        report: rows imported, rows refused with their line and reason."""
        job = services().import_job(job_id)
        if job is None:
            abort(404)
        return self.render("admin_packs/import_job.html", job=job)
