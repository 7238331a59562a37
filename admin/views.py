"""Model views for operations staff: records, customers, users, teams, audit log, outbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, flash, request
from flask_admin import BaseView, expose
from flask_admin.actions import action
from flask_login import current_user
from sqlalchemy import update

from admin.security import Guarded, ReadOnlyView, SecureModelView
from engine import imports
from engine.masking import mask_contact, mask_name
from engine.queue import ASSIGN_METHODS
from engine.store.models import ApiToken, OutboxMessage
from engine.users import audit


def _masked(kind: str) -> Any:
    mask = mask_contact if kind == "contact" else mask_name
    return lambda view, context, model, name: (
        mask(getattr(model, name)) if getattr(model, name) else ""
    )


class RecordAdmin(ReadOnlyView):
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
    column_details_exclude_list = ("fields",)
    column_labels = {
        "record_type": "类型",
        "stage": "阶段",
        "priority": "优先级",
        "channel": "渠道",
        "category": "类别",
        "department": "部门",
        "assignee": "负责人",
        "received_at": "受理时间",
        "next_deadline": "最近截止",
        "is_open": "未关闭",
    }


class CustomerAdmin(ReadOnlyView):
    column_list = ("number", "name", "contact", "tier", "dedicated_agent", "created_at")
    column_searchable_list = ("number",)
    column_filters = ("tier",)
    column_formatters = {"name": _masked("name"), "contact": _masked("contact")}
    column_formatters_detail = column_formatters


class UserAdmin(SecureModelView):
    """Change a user's role, team, language, capacity; add users with `careloop user add`."""

    can_create = False
    column_list = ("username", "display_name", "role", "team", "locale", "capacity", "active")
    column_exclude_list = ("password_hash",)
    form_columns = ("display_name", "role", "team", "locale", "capacity", "active")
    form_choices = {
        "role": [("agent", "坐席"), ("supervisor", "主管"), ("operations", "运营")],
        "locale": [("zh", "中文"), ("en", "English")],
    }
    column_searchable_list = ("username", "display_name")


class TeamAdmin(SecureModelView):
    column_list = ("name", "department", "assign_method", "last_assigned")
    form_columns = ("name", "department", "assign_method")
    form_choices = {"assign_method": [(m, m) for m in ASSIGN_METHODS]}


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

    @action("resend", "重新发送", "重新发送所选的消息？")  # type: ignore[untyped-decorator]
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
        flash(f"{result.rowcount} 条消息已重新排队。", "success")


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

    @action("revoke", "吊销", "吊销所选令牌？")  # type: ignore[untyped-decorator]
    def action_revoke(self, ids: list[str]) -> None:
        session = self.session.session
        result = session.execute(
            update(ApiToken)
            .where(ApiToken.id.in_([int(i) for i in ids]), ApiToken.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
        session.commit()
        flash(f"{result.rowcount} 个令牌已吊销。", "success")


class ImportView(Guarded, BaseView):  # type: ignore[misc]
    """CSV import of customers or purchases: checked whole, written only when clean (or asked)."""

    @expose("/", methods=["GET", "POST"])
    def index(self) -> Any:
        if request.method == "GET":
            return self.render("admin_packs/import.html", result=None)
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash("请选择一个 CSV 文件。", "error")
            return self.render("admin_packs/import.html", result=None), 400
        service = current_app.extensions["careloop"]
        try:
            checked = imports.check(imports.decode(upload.read()), ZoneInfo("Asia/Shanghai"))
        except ValueError as exc:
            flash(str(exc), "error")
            return self.render("admin_packs/import.html", result=None), 400
        partial = request.form.get("good_rows") == "1"
        written = 0
        if not checked.errors or partial:
            with service.uow() as uow:
                written = imports.apply(uow.session, checked, service.clock.now())
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
        status = 400 if checked.errors and not partial else 200
        return self.render("admin_packs/import.html", result=checked, written=written), status
