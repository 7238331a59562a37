"""The record's thread on the desk (issue #20): answer the customer, write an internal note,
attach files and open those on the thread, send a failed or bounced reply again.

Thin like `views.py`: parse the form, call the engine, redirect back to the thread. What the
engine refuses (no email address, no consent, an empty text, a file of a type not allowed or
too large) comes back on the record page with the engine's message and the typed text kept,
never as a 500. A file is served only to whoever may see its record, as a download (pictures
inline), never as a type a browser would run.
"""

from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, abort, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from engine.access.masking import mask_contact, mask_name
from engine.conversation.addressing import answer_channel
from engine.conversation.attachments import MAX_FILES, upload
from engine.conversation.bounces import masked_addresses
from engine.conversation.mail import ALLOWED_TYPES, MAX_ATTACHMENT_BYTES, Attachment
from engine.conversation.thread import SYSTEM_AUTHOR
from engine.errors import ConflictError, InvalidInput, NotFound
from engine.specs.pack import PackSpec
from engine.store.models import Record, ThreadMessage
from forms.canned import apply_after_reply
from forms.views import _record_page, _visible
from web import DB_ID
from web import current_services as services

bp = Blueprint("thread", __name__)
# The engine's words for what it refused (InvalidInput.fields), in the user's language.
HINTS = {
    "the customer has no email address": _l(
        "客户没有邮箱地址：请改选电话等渠道，记录您已联系客户。"
    ),
    "the customer has no phone number": _l(
        "客户没有手机号：请改选其他渠道，或先在客户资料中补充手机号。"
    ),
    "no consent to service messages": _l("客户未同意接收服务消息，不能通过邮件发送。"),
    "required": _l("请填写内容。"),
    "too long": _l("内容过长，请缩短后重试。"),
    "file type not allowed": _l("此类文件不能上传：可上传图片、PDF、Office 文档和文本文件。"),
    "file too large": _l("文件过大：每个文件不能超过 10 MB。"),
    "too many files": _l("一条消息最多附 10 个文件。"),
    "not failed": _l("只有发送失败或已退信的邮件回复可以重新发送。"),
}
# Shown in the page (and so served inline); every other type is only downloaded. No SVG: it
# can carry script.
INLINE_IMAGES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp"})
# A whole reply with its files; each file is held to MAX_ATTACHMENT_BYTES by the engine.
MAX_UPLOAD_REQUEST = MAX_FILES * MAX_ATTACHMENT_BYTES + 1024 * 1024


@bp.app_context_processor
def helpers() -> dict[str, Any]:
    return {
        "sender": sender,
        "reply_channels": reply_channels,
        "masked_error": masked_error,
        "masked_actor": masked_actor,
        "file_size": file_size,
        "shown_inline": shown_inline,
        "upload_types": ",".join(sorted(ALLOWED_TYPES)),
    }


@bp.url_value_preprocessor
def _allow_uploads(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """A reply or a note may carry files: raise the app's 1 MiB body limit for these two.

    Runs before any before_request hook (CSRF reads the form there), so the limit holds when
    the body is parsed.
    """
    if endpoint in ("thread.reply", "thread.note"):
        request.max_content_length = MAX_UPLOAD_REQUEST


@bp.errorhandler(413)
def _too_large(error: Exception) -> Any:
    flash(_("文件过大：每个文件不能超过 10 MB。"), "error")
    record_id = (request.view_args or {}).get("record_id")
    return _back(record_id) if isinstance(record_id, int) else (str(error), 413)


@bp.get(f"/records/<{DB_ID}:record_id>/attachments/<{DB_ID}:attachment_id>")
@login_required  # type: ignore[untyped-decorator]
def attachment(record_id: int, attachment_id: int) -> Any:
    """A file of the record's thread, to whoever may see the record (404 for anyone else)."""
    with services().uow() as uow:
        _visible(uow.session, record_id)
    try:
        file = services().attachment(record_id, attachment_id)
    except NotFound:
        abort(404)
    inline = shown_inline(file.content_type)
    # Only types we accept leave as themselves (none is HTML or SVG); anything else is bytes.
    mimetype = (
        file.content_type if file.content_type in ALLOWED_TYPES else "application/octet-stream"
    )
    response = send_file(
        io.BytesIO(file.data),
        mimetype=mimetype,
        as_attachment=not inline,
        download_name=file.filename,
        conditional=False,
        etag=False,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.post(f"/records/<{DB_ID}:record_id>/reply")
@login_required  # type: ignore[untyped-decorator]
def reply(record_id: int) -> Any:
    """Answer the customer: by email, SMS or WeChat it is queued for delivery, by phone it is
    recorded."""
    text = request.form.get("text", "")
    channel = request.form.get("channel", "")
    with services().uow() as uow:
        _visible(uow.session, record_id)
    typed = {"box": "reply", "text": text, "channel": channel}
    try:
        files = _uploads()
        message = services().reply(
            record_id, text, channel=channel, actor=current_user.username, files=files
        )
    except InvalidInput as exc:
        return _refused(record_id, exc, typed)
    except ConflictError:
        flash(_("记录已被他人更新：以下是最新内容，请确认后重试。"), "error")
        return _record_page(record_id, compose=typed, status=409)
    queued = message.outbox_id is not None
    flash(_("回复已加入发送队列。") if queued else _("回复已记录。"), "success")
    apply_after_reply(record_id)
    return _back(record_id)


@bp.post(f"/records/<{DB_ID}:record_id>/messages/<{DB_ID}:message_id>/resend")
@login_required  # type: ignore[untyped-decorator]
def resend(record_id: int, message_id: int) -> Any:
    """Send a failed or bounced email reply again, to the customer's contact as it is now."""
    with services().uow() as uow:
        _visible(uow.session, record_id)
    try:
        services().resend(record_id, message_id, actor=current_user.username)
    except NotFound:
        abort(404)
    except InvalidInput as exc:
        return _refused(record_id, exc, {"box": "reply", "text": "", "channel": "email"})
    except ConflictError:
        flash(_("记录已被他人更新：以下是最新内容，请确认后重试。"), "error")
        return _record_page(record_id, status=409)
    flash(_("已重新加入发送队列。"), "success")
    return _back(record_id)


@bp.post(f"/records/<{DB_ID}:record_id>/note")
@login_required  # type: ignore[untyped-decorator]
def note(record_id: int) -> Any:
    """An internal note for colleagues; it never reaches the customer."""
    text = request.form.get("text", "")
    with services().uow() as uow:
        _visible(uow.session, record_id)
    try:
        services().note(record_id, text, actor=current_user.username, files=_uploads())
    except InvalidInput as exc:
        return _refused(record_id, exc, {"box": "note", "text": text})
    flash(_("已添加内部备注。"), "success")
    return _back(record_id)


def _uploads() -> list[Attachment]:
    """The files posted with a reply or a note, each checked by the engine (InvalidInput)."""
    posted = [f for f in request.files.getlist("attachments") if f.filename]
    return [
        upload(f.filename or "", f.mimetype or "", f.read(), number)
        for number, f in enumerate(posted, 1)
    ]


def file_size(size: int) -> str:
    """A file's size as people read it: 12 KB, 3.4 MB."""
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def shown_inline(content_type: str) -> bool:
    return content_type in INLINE_IMAGES


def sender(message: ThreadMessage) -> str:
    """Who wrote it: staff by user name; the customer masked, never their raw contact."""
    author = message.author.strip()
    if author == SYSTEM_AUTHOR:
        return str(_("自动消息"))
    if message.direction != "in":
        return author
    if author in ("", "customer"):
        return ""
    return masked_actor(author) if _contact_like(author) else mask_name(author)


def masked_actor(actor: str) -> str:
    """A history line's actor: staff as they are, a customer's address or number masked."""
    if actor == SYSTEM_AUTHOR:
        return str(_("自动消息"))
    return mask_contact(actor) if _contact_like(actor) else actor


def _contact_like(text: str) -> bool:
    return "@" in text or sum(ch.isdigit() for ch in text) >= 7


def masked_error(text: str) -> str:
    """A delivery error as the server said it, with any address in it masked."""
    return masked_addresses(text)


def reply_channels(spec: PackSpec, record: Record) -> tuple[list[tuple[str, str]], str]:
    """The pack's channels to answer on, and the one preselected: the customer's preferred
    one, else the pack's answer to the record's channel (`answering`), else the record's own."""
    options = [(name, option.title) for name, option in spec.channels.items()]
    if not options:  # a pack without channels: the engine takes any
        options = [(name, name) for name in dict.fromkeys([record.channel or "email", "email"])]
    names = [name for name, _title in options]
    for default in (answer_channel(spec, record, record.customer), record.channel, "email"):
        if default in names:
            return options, default
    return options, names[0]


def _refused(record_id: int, exc: InvalidInput, typed: dict[str, Any]) -> Any:
    flash(_("未能保存：%(reason)s", reason=str(exc)), "error")
    hints = [str(HINTS[str(value)]) for value in exc.fields.values() if str(value) in HINTS]
    return _record_page(record_id, compose={**typed, "hints": hints}, status=400)


def _back(record_id: int) -> Any:
    return redirect(url_for("desk.record", record_id=record_id) + "#thread")
