"""Track and answer without a password (issue #23, item 3; R-3.2, R-3.3).

`/help/<pack>/track/<token>`: the signed, expiring link the acknowledgement carries (or the
page the reference plus the contact on file lead to) opens the customer's own record: its
stage, the promised time, the thread without internal notes; they may reply, add a photo,
confirm the solution and rate it (the survey link, R-3.3). The token names one record and is
read against the engine's clock: tampered is a 400, expired a 410, another shop's record a 404,
each a page in the portal's frame that says so.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any

from flask import abort, flash, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from itsdangerous import BadSignature
from wtforms import MultipleFileField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from engine.access.ratelimit import Limit
from engine.customers.surveylinks import TRACKING_VALID_FOR, SurveyLinks
from engine.errors import InvalidInput, NotFound
from engine.files.checks import INLINE_TYPES
from engine.selfservice.webform import TEXT_MAX
from portal.theme import bp, pack, refusal
from portal.webform import photos
from web import DB_ID
from web import current_services as services
from web.ratelimit import limited

PER_ADDRESS = Limit("track.ip", 20, timedelta(minutes=1))
REFUSED_PAGE = "portal/refused.html"
REFERENCE_MAX = 20
# A served file is inert wherever it is opened: its own type only for pictures, no script.
FILE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "private, no-store",
}


class ReplyForm(FlaskForm):  # type: ignore[misc]
    text = TextAreaField(_l("补充说明"), validators=[DataRequired(), Length(max=TEXT_MAX)])
    photos = MultipleFileField(_l("照片或附件"))


class LookupForm(FlaskForm):  # type: ignore[misc]
    reference = StringField(_l("反馈编号"), validators=[DataRequired(), Length(max=REFERENCE_MAX)])
    contact = StringField(
        _l("提交时填写的邮箱或手机"), validators=[DataRequired(), Length(max=200)]
    )


def _links() -> SurveyLinks:
    links = services().links
    assert links is not None
    return links


class LinkRefused(Exception):
    """A tracking link that opens nothing, answered as a page that says why."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


@bp.errorhandler(LinkRefused)
def _refused(error: LinkRefused) -> Any:
    return refusal(error.status, error.title, error.message)


def _opened(token: str) -> tuple[int, datetime]:
    """The record id and expiry of a good, current link of this shop's portal; LinkRefused
    (400 tampered, 410 expired) or a 404 (none, or another shop's record) otherwise."""
    try:
        record_id, expires = _links().read_tracking(token)
    except (BadSignature, ValueError, TypeError, KeyError, OverflowError):
        raise LinkRefused(
            400, _("链接无效"), _("此链接不完整或已被修改，请使用邮件或短信中的原始链接。")
        ) from None
    if expires <= services().clock.now():
        raise LinkRefused(
            410,
            _("链接已过期"),
            _("此查询链接已过期。请用反馈编号和提交时的联系方式重新查询，或联系客服。"),
        )
    try:
        found = services().pack_of_record(record_id)
    except NotFound:
        abort(404)
    if found != pack().name:
        abort(404)
    return record_id, expires


@bp.get("/track/<token>")
def track(token: str) -> Any:
    """The customer's own record, its thread and what they can do now."""
    record_id, expires = _opened(token)
    view = services().tracking_view(record_id)
    survey = (
        url_for("survey.public", token=_links().token(record_id, expires)) if view.rateable else ""
    )
    others = {
        mine.id: url_for("help.track", token=_links().tracking_token(mine.id, expires))
        for mine in view.others
    }
    return render_template(
        "portal/track.html",
        title=_("反馈进度"),
        view=view,
        token=token,
        form=ReplyForm(formdata=None),
        confirm=FlaskForm(formdata=None),
        survey=survey,
        others=others,
        reference=f"CL-{record_id}",
    )


@bp.get(f"/track/<token>/files/<{DB_ID}:attachment_id>")
def file(token: str, attachment_id: int) -> Any:
    """A file of a message the customer sees (theirs or ours); never one of an internal note."""
    record_id, _expires = _opened(token)
    view = services().tracking_view(record_id)
    if attachment_id not in {f.id for entry in view.messages for f in entry.files}:
        abort(404)
    try:
        stored = services().attachment(record_id, attachment_id)
    except NotFound:
        abort(404)
    inline = stored.content_type in INLINE_TYPES
    response = send_file(
        io.BytesIO(stored.data),
        mimetype=stored.content_type if inline else "application/octet-stream",
        as_attachment=not inline,
        download_name=stored.filename,
        conditional=False,
        etag=False,
        max_age=0,
    )
    response.headers.update(FILE_HEADERS)
    return response


@bp.post("/track/<token>/reply")
@limited(PER_ADDRESS, template=REFUSED_PAGE)
def reply(token: str) -> Any:
    """The customer's message (and photos) on the thread, as if they had replied by mail."""
    record_id, _expires = _opened(token)
    form = ReplyForm()
    if not form.validate_on_submit():
        flash(_("请填写补充说明（不超过 %(n)s 字）。", n=TEXT_MAX), "error")
        return redirect(url_for("help.track", token=token))
    try:
        services().customer_reply(record_id, form.text.data, photos(form))
    except InvalidInput:
        flash(_("附件未能上传：请上传不超过 5 MB 的照片、PDF 或文档，最多 3 个。"), "error")
    else:
        flash(_("已收到您的补充，我们会尽快处理。"), "success")
    return redirect(url_for("help.track", token=token) + "#thread")


@bp.post("/track/<token>/confirm")
@limited(PER_ADDRESS, template=REFUSED_PAGE)
def confirm(token: str) -> Any:
    """The customer confirms the solution suits them (R-3.2)."""
    record_id, _expires = _opened(token)
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        services().confirm_solution(record_id)
    except InvalidInput:
        flash(_("问题解决后才能确认解决方案。"), "error")
    else:
        flash(_("感谢您确认解决方案！"), "success")
    return redirect(url_for("help.track", token=token))


@bp.route("/track", methods=["GET", "POST"])
@limited(PER_ADDRESS, template=REFUSED_PAGE)
def lookup() -> Any:
    """The reference plus the contact on file open the same page as the link."""
    form = LookupForm()
    if not form.validate_on_submit():
        return render_template("portal/lookup.html", form=form), 400 if form.errors else 200
    number = form.reference.data.strip().upper().removeprefix("CL-").removeprefix("#")
    found = None
    if number.isdigit() and 0 < int(number) < 2**31:
        found = services().find_own_record(pack().name, int(number), form.contact.data)
    if found is None:
        form.contact.errors = [_("编号与联系方式不匹配，请检查后重试。")]
        return render_template("portal/lookup.html", form=form), 404
    token = _links().tracking_token(found, services().clock.now() + TRACKING_VALID_FOR)
    return redirect(url_for("help.track", token=token))
