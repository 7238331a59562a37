"""The web form (issue #23, items 2 and 5): a record on the `web` channel, or an answer instead.

While the customer types the description, `/help/<pack>/suggest?q=` returns the best published
articles (the page's script shows them); "this solved it" on one is the question answered
without a record, per article and per query (source `form`), and makes nothing for an agent.
A submitted form is a record with the usual acknowledgement (the pack's `created` contact,
carrying the tracking link). Abuse: 20 posts a minute per address and 5 records an hour per
contact (shared by every process, `web.ratelimit`), a honeypot, a size limit on the body and
on each file; a robot's post is refused and never reaches an agent's queue.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import abort, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from werkzeug.datastructures import FileStorage

from engine.access.ratelimit import Limit
from engine.conversation.attachments import upload
from engine.conversation.mail import Attachment
from engine.customers.surveylinks import TRACKING_VALID_FOR
from engine.errors import InvalidInput, NotFound
from engine.selfservice.webform import MAX_FILES
from forms.builder import values_of
from portal import publicform
from portal.kb import slug
from portal.theme import bp, pack, portal, refusal
from web import DB_ID
from web import current_services as services
from web.ratelimit import check, limited

PER_ADDRESS = Limit("form.ip", 20, timedelta(minutes=1))
PER_CONTACT = Limit("form.contact", 5, timedelta(hours=1))
PER_ADDRESS_SEARCH = Limit("suggest.ip", 120, timedelta(minutes=1))
FILE_MAX = 5 * 1024 * 1024  # a phone's photo; the body may carry MAX_FILES of them
BODY_ROOM = 1024 * 1024  # the form's text fields and the multipart wrapping
SUGGESTIONS = 5
REFUSED_PAGE = "portal/refused.html"


@bp.url_value_preprocessor
def _allow_photos(endpoint: str | None, _values: dict[str, Any] | None) -> None:
    """Posts with photos may be larger than the app's limit, and no larger (before CSRF reads
    the body, so an oversized one is a 413, never read whole)."""
    if endpoint in ("help.new", "help.reply"):
        request.max_content_length = MAX_FILES * FILE_MAX + BODY_ROOM


def photos(form: FlaskForm) -> list[Attachment]:
    """The posted files, each checked by its content and size; InvalidInput says which."""
    files = [f for f in request.files.getlist(publicform.PHOTOS) if f and f.filename]
    if len(files) > MAX_FILES:
        raise InvalidInput(
            f"at most {MAX_FILES} files", fields={publicform.PHOTOS: "too many files"}
        )
    return [_checked(file, n) for n, file in enumerate(files, 1)]


def _checked(file: FileStorage, number: int) -> Attachment:
    data = file.read(FILE_MAX + 1)
    if len(data) > FILE_MAX:
        raise InvalidInput(f"{file.filename}: too large", fields={publicform.PHOTOS: "too large"})
    return upload(file.filename or "", file.mimetype or "", data, number)


@bp.route("/new", methods=["GET", "POST"])
@limited(PER_ADDRESS, template=REFUSED_PAGE)
def new() -> Any:
    """The form; a valid post becomes a record and a page with its reference and link."""
    spec = pack()
    form = publicform.form_class(spec)()
    if not form.validate_on_submit():
        return _form_page(form, 400 if form.errors else 200)
    if form[publicform.HONEYPOT].data:
        return refusal(400, _("无法受理"), _("表单填写异常，未能提交。请刷新页面后重新填写。"))
    values = values_of(form, names())
    contact = str(values.get(portal().contact_field, "")).strip().lower()
    check(PER_CONTACT, contact, template=REFUSED_PAGE)
    try:
        record = services().submit_form(spec.name, values, photos(form))
    except InvalidInput as exc:
        for name, problem in (exc.fields or {}).items():
            target = form[name] if name in form else form[publicform.PHOTOS]
            target.errors = [*target.errors, _explain(str(problem))]
        return _form_page(form, 422)
    links = services().links
    assert links is not None
    token = links.tracking_token(record.id, services().clock.now() + TRACKING_VALID_FOR)
    return render_template(
        "portal/submitted.html",
        title=_("已收到您的反馈"),
        reference=f"CL-{record.id}",
        track=url_for("help.track", token=token),
    )


def names() -> list[str]:
    """The public fields, in the pack's order."""
    return list(portal().fields)


def _explain(problem: str) -> str:
    words = {
        "email or phone": _("请填写邮箱或手机号码，以便我们回复您。"),
        "too long": _("内容过长，请精简后再提交。"),
        "too many files": _("最多可上传 %(n)s 个文件。", n=MAX_FILES),
        "too large": _("文件过大：每个文件不能超过 5 MB。"),
        "file too large": _("文件过大：每个文件不能超过 5 MB。"),
        "file type not allowed": _("不支持此文件类型，请上传照片、PDF 或文档。"),
    }
    return str(words.get(problem, _("请检查此项的内容。")))


def _form_page(form: FlaskForm, status: int) -> tuple[str, int]:
    page = render_template("portal/form.html", form=form, names=names(), max_files=MAX_FILES)
    return page, status


@bp.get("/suggest")
@limited(PER_ADDRESS_SEARCH, methods=("GET",), template=REFUSED_PAGE)
def suggest() -> Any:
    """The best published articles for what the customer typed so far, as JSON."""
    question = (request.args.get("q") or "").strip()[:200]
    hits = services().help_find(question, limit=SUGGESTIONS) if len(question) >= 2 else []
    return jsonify(
        [
            {
                "id": hit.ref_id,
                "title": hit.title,
                "url": url_for("help.article", article_id=hit.ref_id, given=slug(hit.title)),
            }
            for hit in hits
        ]
    )


@bp.post(f"/new/answered/<{DB_ID}:article_id>")
@limited(PER_ADDRESS, template=REFUSED_PAGE)
def answered(article_id: int) -> Any:
    """The customer leaves satisfied with a suggested article: counted, and no record made."""
    question = (request.form.get("q") or "").strip()[:200] or None
    try:
        services().self_service(
            "answered", "form", pack().name, article_id=article_id, query=question
        )
    except NotFound:
        abort(404)
    return render_template("portal/answered.html", title=_("很高兴帮到您"))
