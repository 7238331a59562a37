"""Model views for operations staff: records, customers, users, teams, audit log, outbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_admin.actions import action
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select, update
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from admin import formats
from admin.security import READERS, Guarded, ReadOnlyView, SecureModelView
from engine import bounds
from engine.access.choices import ASSIGN_METHODS
from engine.access.masking import mask_contact, mask_name
from engine.customers import profiles
from engine.errors import CareloopError, NotFound
from engine.records.versions import latest_versions
from engine.store.models import ApiToken, Customer, OutboxMessage, Record, User
from forms.present import tier_titles
from web import current_services as services


def _masked(kind: str) -> Any:
    mask = mask_contact if kind == "contact" else mask_name
    return lambda view, context, model, name: (
        mask(getattr(model, name)) if getattr(model, name) else ""
    )


def _choices(*pairs: tuple[str, Any]) -> list[SelectChoice]:
    """WTForms 3.3 choices (Flask-Admin's form_choices still passes deprecated tuples)."""
    return [SelectChoice(value, label) for value, label in pairs]


class RecordAdmin(ReadOnlyView):
    """Records are read here; supervisors act on them through the engine (the 处理 link)."""

    column_formatters = {
        "id": lambda v, c, m, n: Markup('<a href="{}">{} {}</a>').format(
            url_for("supervise.record", record_id=m.id), m.id, _("处理")
        ),
        **formats.PACK_TITLES,
    }

    @action("reassign", _l("批量改派"))
    def action_reassign(self, ids: list[str]) -> Any:
        return self.render(
            "admin_packs/bulk.html",
            ids=ids,
            agents=self.session.scalars(
                select(User.username).where(User.active.is_(True)).order_by(User.username)
            ).all(),
        )

    column_list = (
        "id",
        "pack",
        "record_type",
        "stage",
        "priority",
        "channel",
        "category",
        "department",
        "assignee",
        "received_at",
        "next_deadline",
        "is_open",
    )
    column_filters = (
        "pack",
        "record_type",
        "stage",
        "priority",
        "channel",
        "category",
        "department",
        "assignee",
        "is_open",
    )
    column_searchable_list = ("assignee", "external_id")
    column_default_sort = ("id", True)
    column_details_exclude_list = ("fields", "private_fields", "contact_hash")
    column_labels = {
        "record_type": _l("类型"),
        "stage": _l("阶段"),
        "priority": _l("优先级"),
        "channel": _l("渠道"),
        "category": _l("类别"),
        "department": _l("部门"),
        "assignee": _l("负责人"),
        "received_at": _l("受理时间"),
        "next_deadline": _l("最近截止"),
        "is_open": _l("未关闭"),
    }


class CustomerAdmin(ReadOnlyView):
    """Customers, personal data masked; each number opens the customer's care page."""

    column_list = ("number", "name", "contact", "tier", "dedicated_agent", "created_at")
    column_searchable_list = ("number",)
    column_filters = ("tier",)
    column_formatters = {
        "number": lambda v, c, m, n: Markup('<a href="{}">{}</a>').format(
            url_for("customer_care.customer", number=m.number), m.number
        ),
        "name": _masked("name"),
        "contact": _masked("contact"),
    }
    column_formatters_detail = column_formatters
    column_exclude_list = ("contact_hash",)
    column_details_exclude_list = ("contact_hash",)

    def is_action_allowed(self, name: str) -> bool:
        if name == "erase" and current_user.role != "operations":
            return False  # supervisors read customers; only operations erase them
        return bool(super().is_action_allowed(name))

    @action("erase", "删除个人数据", "永久删除所选客户的个人数据？记录的统计与审计日志保留。")
    def action_erase(self, ids: list[str]) -> None:
        """Erasure on request (R-8.3), through the engine, one customer at a time."""
        if current_user.role != "operations":
            abort(403)
        numbers = self.session.scalars(
            select(Customer.number).where(Customer.id.in_([int(i) for i in ids]))
        ).all()
        self.session.rollback()  # the engine writes in a transaction of its own
        for number in numbers:
            services().erase_customer(number, actor=current_user.username)
        flash(f"{len(numbers)} 位客户的个人数据已删除。", "success")


class CustomerCareView(Guarded, BaseView):  # type: ignore[misc]
    """One customer: profile and consent (masked), tier per pack with its rule, history,
    campaign occasions, purchases and records; read-only, changes come from the engine."""

    roles = READERS

    def is_visible(self) -> bool:
        return False  # reached from the customer list

    @expose("/")
    def index(self) -> Any:
        return redirect(url_for("customer.index_view"))

    @expose("/<number>")
    def customer(self, number: str) -> Any:
        with services().uow() as uow:
            try:
                found, records, orders = profiles.customer_view(uow.session, number)
            except NotFound:
                abort(404)
            care = profiles.customer_care(uow.session, found)
            latest = [services().specs.of(v) for v in latest_versions(uow.session)]
            return self.render(
                "admin_packs/customer.html",
                customer=found,
                records=records,
                orders=orders,
                care=care,
                tz=str(current_user.user.timezone),
                packs={spec.name: spec.title for spec in latest},
                tiers=tier_titles(latest),
            )


class UserAdmin(SecureModelView):
    """Change a user's role, team, language, capacity; add users with `careloop user add`."""

    can_create = False
    column_list = ("username", "display_name", "role", "team", "locale", "capacity", "active")
    column_exclude_list = ("password_hash",)
    form_columns = ("display_name", "role", "team", "locale", "capacity", "active")
    form_overrides = {"role": SelectField, "locale": SelectField}
    form_args = {
        "role": {
            "choices": _choices(
                ("agent", _l("坐席")), ("supervisor", _l("主管")), ("operations", _l("运营"))
            )
        },
        "locale": {"choices": _choices(("zh", _l("中文")), ("en", "English"))},
    }
    column_searchable_list = ("username", "display_name")


class TeamAdmin(SecureModelView):
    column_list = ("name", "department", "assign_method", "last_assigned")
    form_columns = ("name", "department", "assign_method")
    form_overrides = {"assign_method": SelectField}
    form_args = {"assign_method": {"choices": _choices(*((m, m) for m in ASSIGN_METHODS))}}


class AuditAdmin(ReadOnlyView):
    column_default_sort = ("id", True)
    column_filters = ("actor", "action")
    column_searchable_list = ("subject",)


class OutboxAdmin(ReadOnlyView):
    roles = ("operations",)
    column_list = (
        "id",
        "channel",
        "recipient",
        "subject",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error",
    )
    column_filters = ("status", "channel")
    column_default_sort = ("id", True)

    @action("resend", _l("重新发送"), _l("重新发送所选的消息？"))
    def action_resend(self, ids: list[str]) -> None:
        """Dead letters go back to the queue, attempts from zero."""
        session = self.session.session
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_([int(i) for i in ids]), OutboxMessage.status == "dead")
            .values(
                status="pending",
                attempts=0,
                last_error=None,
                next_attempt_at=OutboxMessage.created_at,
            )
        )
        session.commit()
        flash(_("%(n)s 条消息已重新排队。", n=result.rowcount), "success")


class VersionAdmin(ReadOnlyView):
    column_list = ("pack", "version", "published_by", "published_at", "source_hash", "note")
    column_details_exclude_list = ("data",)
    column_filters = ("pack",)
    column_default_sort = ("id", True)


class TokenAdmin(SecureModelView):
    """Tokens are made with `careloop token add` (shown once); here they are seen and revoked."""

    can_create = False
    can_edit = False
    column_list = ("name", "prefix", "scopes", "created_at", "last_used_at", "revoked_at")
    column_exclude_list = ("token_hash",)

    @action("revoke", _l("吊销"), _l("吊销所选令牌？"))
    def action_revoke(self, ids: list[str]) -> None:
        session = self.session.session
        result = session.execute(
            update(ApiToken)
            .where(ApiToken.id.in_([int(i) for i in ids]), ApiToken.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
        session.commit()
        flash(_("%(n)s 个令牌已吊销。", n=result.rowcount), "success")


class SuperviseView(Guarded, BaseView):  # type: ignore[misc]
    """Supervisor actions on records, through the engine: reassign, re-grade, close duplicate."""

    roles = READERS

    def is_visible(self) -> bool:
        return False  # reached from a record, not from the menu

    @expose("/")
    def index(self) -> Any:
        return redirect(url_for("record.index_view"))

    @expose("/<int:record_id>", methods=["GET", "POST"])
    def record(self, record_id: int) -> Any:
        service = services()
        if request.method == "POST":
            form = request.form
            try:
                service.supervise(
                    record_id,
                    actor=current_user.username,
                    reassign_to=form.get("assignee") if "reassign" in form else None,
                    priority=form.get("priority") if "regrade" in form else None,
                    reason=form.get("reason", ""),
                    duplicate_of=int(form["duplicate_of"]) if form.get("duplicate_of") else None,
                )
                flash(_("已保存。"), "success")
            except (CareloopError, ValueError) as exc:
                flash(str(exc), "error")
            return redirect(url_for(".record", record_id=record_id))
        with service.uow() as uow:
            record = uow.session.get(Record, record_id)
            if record is None:
                abort(404)
            spec = service.specs.get(uow.session, record.pack_version_id)
            agents = uow.session.scalars(
                select(User.username).where(User.active.is_(True)).order_by(User.username)
            ).all()
            return self.render(
                "admin_packs/supervise.html", record=record, spec=spec, agents=agents
            )

    @expose("/bulk", methods=["POST"])
    def bulk(self) -> Any:
        """Reassign many records at once; each goes through the engine and its history."""
        service = services()
        ids = [n for n in map(bounds.parse_id, request.form.getlist("ids")) if n is not None]
        done = 0
        for record_id in ids:
            try:
                service.supervise(
                    record_id,
                    actor=current_user.username,
                    reassign_to=request.form.get("assignee", ""),
                )
                done += 1
            except CareloopError as exc:
                flash(f"#{record_id}: {exc}", "error")
        flash(_("%(n)s 条记录已改派。", n=done), "success")
        return redirect(url_for("record.index_view"))
