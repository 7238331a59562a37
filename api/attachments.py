"""`/api/v1/records/{id}/attachments`: a record's own files for integrations (issue #21, item 3).

A shop or a call centre posts the photo or the receipt it received (multipart/form-data, one
`file` part), checked by its content as on the desk (`engine.files.checks`): 413 over the
limit, 422 for a type not allowed. The list shows names, types and sizes to any `read` token;
the bytes are personal data, served only to tokens with the `personal` scope, always as a
download with `nosniff` and a sandboxing Content-Security-Policy.
"""

from __future__ import annotations

import io
import re
from typing import Any

import marshmallow as ma
from flask import request, send_file
from flask.views import MethodView

from api.auth import current_token, may_see_personal_data, require
from api.problems import problem
from api.views import SECURITY, blp
from engine.files import blobs
from engine.files.checks import FileTooLarge
from engine.store.models import RecordAttachment
from web import DB_ID
from web import current_services as services

# The one API path that takes multipart/form-data instead of JSON (`api.json_only`).
UPLOAD_PATH = re.compile(r"^/api/v1/records/\d+/attachments$")
_FORM_ROOM = 64 * 1024  # the multipart wrapping around the file
FILE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "private, no-store",
}


class RecordFileIn(ma.Schema):
    file = ma.fields.Raw(
        required=True,
        metadata={"type": "string", "format": "binary", "description": "the file's bytes"},
    )


class RecordFileOut(ma.Schema):
    id = ma.fields.Integer()
    record_id = ma.fields.Integer()
    filename = ma.fields.String(metadata={"description": "as given, without any folder"})
    content_type = ma.fields.String(
        metadata={"description": "the type detected from the content (what is served)"}
    )
    declared_type = ma.fields.String(metadata={"description": "the type the uploader claimed"})
    size = ma.fields.Integer(metadata={"description": "bytes"})
    uploaded_by = ma.fields.String()
    uploaded_at = ma.fields.AwareDateTime()


class RecordFilePage(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(RecordFileOut))


def accepts_upload() -> bool:
    """This request is a file upload to a record (multipart, not JSON); its body may then be
    as large as one file may be."""
    if request.method != "POST" or not UPLOAD_PATH.match(request.path):
        return False
    if request.mimetype != "multipart/form-data":
        return False
    request.max_content_length = blobs.current().max_bytes + _FORM_ROOM
    return True


@blp.route(f"/records/<{DB_ID}:record_id>/attachments")
class RecordAttachments(MethodView):
    @blp.doc(security=SECURITY)
    @require("read")
    @blp.response(200, RecordFilePage)
    def get(self, record_id: int) -> dict[str, Any]:
        """The record's own files, oldest first (their names, types and sizes; no bytes)."""
        return {"items": [_present(f) for f in services().record_files(record_id)]}

    @blp.doc(security=SECURITY)
    @require("write")
    @blp.arguments(RecordFileIn, location="files")
    @blp.response(201, RecordFileOut)
    @blp.alt_response(413, description="The file is larger than CARELOOP_FILES_MAX_BYTES.")
    @blp.alt_response(
        422, description="The file's content is of a type not allowed (judged by its bytes)."
    )
    def post(self, files: dict[str, Any], record_id: int) -> Any:
        """Attach one file to the record (multipart/form-data with a `file` part)."""
        upload = files["file"]
        try:
            row = services().attach_file(
                record_id,
                upload.filename or "",
                upload.mimetype or "",
                upload.read(),
                actor=f"api:{current_token().name}",
            )
        except FileTooLarge as error:
            return problem(413, "Content Too Large", str(error))
        return _present(row)


@blp.route(f"/records/<{DB_ID}:record_id>/attachments/<{DB_ID}:attachment_id>")
class RecordAttachmentFile(MethodView):
    @blp.doc(security=SECURITY)
    @require("read")
    @blp.response(
        200,
        content_type="application/octet-stream",
        description="The file's bytes as its detected type, always as a download.",
    )
    @blp.alt_response(403, description="The token lacks the `personal` scope.")
    @blp.alt_response(404, description="No such file on this record.")
    def get(self, record_id: int, attachment_id: int) -> Any:
        """One file of the record, for tokens with the `personal` scope only."""
        if not may_see_personal_data():
            return problem(
                403, "Forbidden", "files are personal data: this needs the 'personal' scope"
            )
        file = services().record_file(record_id, attachment_id)
        response = send_file(
            io.BytesIO(file.data),
            mimetype=file.content_type,
            as_attachment=True,
            download_name=file.filename,
            conditional=False,
            etag=False,
            max_age=0,
        )
        response.headers.update(FILE_HEADERS)
        return response


def _present(row: RecordAttachment) -> dict[str, Any]:
    return {
        "id": row.id,
        "record_id": row.record_id,
        "filename": row.filename,
        "content_type": row.detected_type,
        "declared_type": row.declared_type,
        "size": row.size,
        "uploaded_by": row.uploaded_by,
        "uploaded_at": row.uploaded_at,
    }
