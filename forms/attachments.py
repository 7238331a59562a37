"""A record's own files on the desk (issue #21, item 3): upload, list with previews, open.

Thin like `views.py`: the engine checks each file by its content (`engine.files.checks`) and
stores it; a refusal comes back on the record page in the user's language, a file over the
limit as 413 naming the limit. A file is served only to whoever may see its record (404 for
anyone else, as for the record), as a download: only PNG, JPEG, GIF and WebP pictures are
shown inline, as the type their content is, never HTML or SVG, with `nosniff` and a
sandboxing Content-Security-Policy so that even a file a browser misread could run nothing.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy.orm import Session, object_session
from werkzeug.exceptions import HTTPException

from engine.access.users import display_names
from engine.errors import InvalidInput, NotFound
from engine.files import blobs, records
from engine.files.checks import INLINE_TYPES, FileTooLarge
from engine.files.records import OpenedFile
from engine.store.models import Record, RecordAttachment
from forms.views import _record_page, _visible
from web import DB_ID
from web import current_services as services
from web.errors import http_page

bp = Blueprint("files", __name__)
# The engine's reasons (InvalidInput.fields["file"]) in the user's language.
HINTS = {
    "file type not allowed": _l(
        "此类文件不能上传：可上传图片、PDF、Office 文档和文本文件（按文件内容判断，不看扩展名）。"
    ),
    "empty file": _l("文件是空的。"),
    "unreadable picture": _l("图片无法读取，文件可能已损坏。"),
    "picture too large": _l("图片像素过多，请缩小后再上传。"),
}
_FORM_ROOM = 1024 * 1024  # the multipart wrapping and the CSRF token around the file
FILE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "private, no-store",
}


@bp.app_context_processor
def helpers() -> dict[str, Any]:
    return {"record_files": record_files, "upload_limit": upload_limit}


@bp.url_value_preprocessor
def _allow_upload(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """The upload's body may hold one file up to the limit: raise the app's 1 MiB for it
    (before CSRF parses the form, so an oversized body is a 413, never read whole)."""
    if endpoint == "files.upload":
        request.max_content_length = blobs.current().max_bytes + _FORM_ROOM


@bp.errorhandler(413)
def _too_large(error: HTTPException) -> Any:
    record_id = (request.view_args or {}).get("record_id")
    if not isinstance(record_id, int) or not current_user.is_authenticated:
        return http_page(error)  # before sign-in was checked: the plain error page
    flash(_("文件过大：每个文件不能超过 %(limit)s。", limit=upload_limit()), "error")
    return _record_page(record_id, status=413)


@bp.post(f"/records/<{DB_ID}:record_id>/files")
@login_required  # type: ignore[untyped-decorator]
def upload(record_id: int) -> Any:
    """Attach the posted file to the record, checked by its content."""
    with services().uow() as uow:
        _visible(uow.session, record_id)
    posted = request.files.get("file")
    if posted is None or not posted.filename:
        flash(_("请选择要上传的文件。"), "error")
        return _record_page(record_id, status=400)
    try:
        row = services().attach_file(
            record_id,
            posted.filename,
            posted.mimetype or "",
            posted.read(),
            actor=current_user.username,
        )
    except FileTooLarge:
        flash(_("文件过大：每个文件不能超过 %(limit)s。", limit=upload_limit()), "error")
        return _record_page(record_id, status=413)
    except InvalidInput as exc:
        hint = HINTS.get(exc.fields.get("file", ""))
        flash(str(hint) if hint else _("未能保存：%(reason)s", reason=str(exc)), "error")
        return _record_page(record_id, status=400)
    flash(_("已上传附件：%(name)s", name=row.filename), "success")
    return redirect(url_for("desk.record", record_id=record_id) + "#attachments")


@bp.get(f"/records/<{DB_ID}:record_id>/files/<{DB_ID}:attachment_id>")
@login_required  # type: ignore[untyped-decorator]
def download(record_id: int, attachment_id: int) -> Any:
    """A file of the record, to whoever may see the record (404 for anyone else)."""
    return _served(record_id, attachment_id, preview=False)


@bp.get(f"/records/<{DB_ID}:record_id>/files/<{DB_ID}:attachment_id>/preview")
@login_required  # type: ignore[untyped-decorator]
def preview(record_id: int, attachment_id: int) -> Any:
    """A picture's preview (a WebP Careloop drew), for the record page's <img>."""
    return _served(record_id, attachment_id, preview=True)


def _served(record_id: int, attachment_id: int, *, preview: bool) -> Any:
    with services().uow() as uow:
        _visible(uow.session, record_id)
    try:
        file = services().record_file(record_id, attachment_id, preview=preview)
    except NotFound:
        abort(404)
    return file_response(file)


def file_response(file: OpenedFile) -> Any:
    """The file as its detected type, a download unless it is a picture shown inline (named
    either way: `inline; filename=…` keeps the name for "save image as")."""
    inline = file.content_type in INLINE_TYPES
    response = send_file(
        io.BytesIO(file.data),
        mimetype=file.content_type,
        as_attachment=not inline,
        download_name=file.filename,
        conditional=False,
        etag=False,
        max_age=0,
    )
    response.headers.update(FILE_HEADERS)
    return response


@dataclass(frozen=True)
class Shelf:
    """What the page lists: the record's files and their uploaders' names."""

    files: list[RecordAttachment]
    names: dict[str, str]


def record_files(record: Record) -> Shelf:
    """The record's files for the page's list, with the uploaders' names: two queries, in the
    page's own session (the record page renders inside its unit of work)."""
    session = object_session(record)
    if session is None:
        with services().uow() as uow:
            return _shelf(uow.session, record.id)
    return _shelf(session, record.id)


def _shelf(session: Session, record_id: int) -> Shelf:
    files = records.listed(session, record_id)
    return Shelf(files, display_names(session, [f.uploaded_by for f in files]))


def upload_limit() -> str:
    """The size limit as people read it: 10 MB."""
    return f"{blobs.current().max_bytes / (1024 * 1024):.3g} MB"
