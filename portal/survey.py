"""The satisfaction question: an agent's form on the record page and the customer's public link.

The link carries the record id and an expiry, signed with the app's secret (itsdangerous, which
Flask ships), so the public page needs no sign-in and no stored token. Expiry is read against the
engine's clock, not the wall clock, so tests can run in virtual time. A tampered link is a 400, an
expired one 410, a second answer 409: each a page that says so in plain words.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from itsdangerous import BadSignature
from sqlalchemy.orm import Session
from wtforms import RadioField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from engine.access.users import get_user
from engine.customers import satisfaction
from engine.customers.surveylinks import TRACKING_VALID_FOR, SurveyLinks
from engine.errors import InvalidInput, NotFound
from engine.records import queue
from engine.records.transitions import get_record
from engine.specs.pack import PackSpec
from engine.store.models import Record
from web import DB_ID
from web import current_services as services

bp = Blueprint("survey", __name__, template_folder="templates")
SCORES = [SelectChoice(str(n), str(n)) for n in range(1, 6)]
NPS = [SelectChoice("", "—"), *(SelectChoice(str(n), str(n)) for n in range(11))]


class SatisfactionForm(FlaskForm):  # type: ignore[misc]
    score = RadioField("满意度（1–5）", choices=SCORES, validators=[InputRequired()])
    comment = TextAreaField("评价", validators=[Optional(), Length(max=satisfaction.MAX_COMMENT)])


class SatisfactionNpsForm(SatisfactionForm):
    nps = SelectField("您向朋友推荐我们的可能性（0–10）", choices=NPS, validators=[InputRequired()])


def form_for(spec: PackSpec, **kwargs: Any) -> SatisfactionForm:
    asks_nps = spec.insight.satisfaction is not None and spec.insight.satisfaction.nps
    form_class = SatisfactionNpsForm if asks_nps else SatisfactionForm
    return form_class(**kwargs)


def _answer(form: SatisfactionForm) -> satisfaction.Answer:
    nps = getattr(form, "nps", None)
    return satisfaction.Answer(
        score=int(form.score.data),
        comment=form.comment.data or "",
        nps=int(nps.data) if nps is not None and nps.data not in (None, "") else None,
    )


def _links() -> SurveyLinks:
    """The app's signer (webapp.py), the one the promised contacts' links are made with."""
    links = services().links
    assert links is not None
    return links


def make_token(record_id: int, expires: datetime) -> str:
    return _links().token(record_id, expires)


def read_token(token: str) -> tuple[int, datetime]:
    """The record id and expiry a link names; BadSignature when it was not signed by us."""
    return _links().read(token)


def panel(session: Session, spec: PackSpec, record: Record) -> dict[str, Any] | None:
    """What the record page shows: the answer, or the agent's form and the customer's link."""
    question = satisfaction.question(spec, record)
    answer = satisfaction.survey_answer_of(session, record.id)
    if question is None and answer is None:
        return None
    if answer is not None or question is None:
        return {"answer": answer}
    expires = services().clock.now() + question.link_valid_for
    link = url_for("survey.public", token=make_token(record.id, expires), _external=True)
    form = form_for(spec, formdata=None, prefix="satisfaction")
    return {"answer": None, "form": form, "link": link, "expires": expires}


@bp.post(f"/records/<{DB_ID}:record_id>/satisfaction")
@login_required  # type: ignore[untyped-decorator]
def by_agent(record_id: int) -> Any:
    """The agent types in what the customer said on the callback (R-3.3)."""
    with services().uow() as uow:
        try:
            record = get_record(uow.session, record_id)
        except NotFound:
            abort(404)
        if not queue.may_see(get_user(uow.session, int(current_user.id)), record):
            abort(404)
        spec = services().specs.get(uow.session, record.pack_version_id)
    form = form_for(spec, prefix="satisfaction")
    target = redirect(url_for("desk.record", record_id=record_id) + "#satisfaction")
    if not form.validate_on_submit():
        flash(_("请选择 1–5 的满意度。"), "error")
        return target
    try:
        services().answer_satisfaction(
            record_id, _answer(form), via="agent", actor=current_user.username
        )
    except satisfaction.AlreadyAnswered:
        flash(_("该记录已有满意度评价，未重复记录。"), "error")
    except (satisfaction.NotAsked, InvalidInput) as exc:
        flash(str(exc), "error")
    else:
        flash(_("已记录满意度评价。"), "success")
    return target


@bp.route("/survey/<token>", methods=["GET", "POST"])
def public(token: str) -> Any:
    """The customer's page: no sign-in; the signed link is the permission (R-3.3)."""
    try:
        record_id, expires = read_token(token)
    except (BadSignature, ValueError, TypeError, KeyError, OverflowError):
        return _refusal(
            400, _("链接无效"), _("此链接不完整或已被修改，请使用短信或邮件中的原始链接。")
        )
    now = services().clock.now()
    if expires <= now:
        return _refusal(410, _("链接已过期"), _("此评价链接已过期。如需反馈，请联系客服。"))
    with services().uow() as uow:
        try:
            record = get_record(uow.session, record_id)
        except NotFound:
            return _refusal(404, _("链接无效"), _("找不到此链接对应的服务记录。"))
        spec = services().specs.get(uow.session, record.pack_version_id)
        answered = satisfaction.survey_answer_of(uow.session, record_id) is not None
        asked = satisfaction.question(spec, record) is not None
    if answered:
        return _refusal(
            409, _("已评价"), _("您已提交过评价，感谢您的反馈！每条服务记录只能评价一次。")
        )
    if not asked:
        return _refusal(409, _("暂不能评价"), _("此服务尚未完成，完成后即可评价。"))
    form = form_for(spec)
    if form.validate_on_submit():
        try:
            services().answer_satisfaction(record_id, _answer(form), via="link", actor="customer")
        except satisfaction.AlreadyAnswered:
            return _refusal(409, _("已评价"), _("您已提交过评价，感谢您的反馈！"))
        except InvalidInput as exc:
            form.score.errors = [*form.score.errors, str(exc)]
        else:
            return render_template(
                "survey/thanks.html", title=_("感谢您的评价"), track=_tracking(spec, record, now)
            )
    status = 400 if form.errors else 200
    return render_template("survey/form.html", form=form, spec=spec, record=record), status


def _tracking(spec: PackSpec, record: Record, now: datetime) -> str | None:
    """The record's tracking page when its pack has a portal: the thanks page is no dead end."""
    if spec.portal is None:
        return None
    path = _links().tracking_link(spec.name, record.id, now + TRACKING_VALID_FOR)
    return urlsplit(path).path


def _refusal(status: int, title: str, message: str) -> Any:
    return render_template("survey/refused.html", title=title, message=message), status
