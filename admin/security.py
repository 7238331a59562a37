"""Flask-Admin's access control and CSRF are opt-in per view: every view here opts in."""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, request, url_for
from flask_admin import AdminIndexView, expose
from flask_admin.contrib.sqla import ModelView
from flask_login import current_user
from flask_wtf import FlaskForm

from admin import formats
from engine import bounds

OPERATIONS: tuple[str, ...] = ("operations",)
READERS: tuple[str, ...] = ("operations", "supervisor")


class Guarded:
    """Signed in and in `roles`, or sent to sign in (anonymous) / 403 (wrong role)."""

    roles: tuple[str, ...] = OPERATIONS

    def is_accessible(self) -> bool:
        return bool(current_user.is_authenticated and current_user.role in self.roles)

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))
        abort(403)


class HomeView(Guarded, AdminIndexView):  # type: ignore[misc]
    roles = READERS

    @expose("/")
    def index(self) -> Any:
        return self.render("admin_packs/home.html")


class SecureModelView(Guarded, ModelView):  # type: ignore[misc]
    """A model view with CSRF, no raw deletes, and operations-only by default.

    Its forms (edit, actions) carry Flask-WTF's token, the one the app-wide CSRFProtect checks:
    Flask-Admin's own SecureForm token would be refused by it (ASVS 3.5.1).
    """

    form_base_class = FlaskForm
    column_type_formatters = formats.LIST  # local times to the minute, not UTC microseconds
    column_type_formatters_detail = formats.DETAIL
    column_type_formatters_export = formats.EXPORT
    can_delete = False
    can_set_page_size = True
    page_size = 50

    def get_one(self, id: Any) -> Any:  # noqa: A002  (Flask-Admin's name)
        """The row of `?id=`, or None (Flask-Admin says it does not exist) when the id is no
        row's at all: past INTEGER it would be a DataError on PostgreSQL (issue #22)."""
        number = bounds.parse_id(str(id))
        return None if number is None else super().get_one(str(number))


class ReadOnlyView(SecureModelView):
    """History and records are changed through the engine, never by editing rows."""

    can_create = False
    can_edit = False
    can_view_details = True
    roles = READERS
