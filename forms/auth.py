"""Sign-in (Flask-Login), roles, CSRF on every form (Flask-WTF) and secure session cookies."""

from __future__ import annotations

import functools
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from engine.store.models import User
from engine.users import get_user
from forms import current_services as services

View = TypeVar("View", bound=Callable[..., Any])
bp = Blueprint("auth", __name__)
login_manager = LoginManager()
csrf = CSRFProtect()


class Account(UserMixin):  # type: ignore[misc]
    """The signed-in user as Flask-Login sees it: a detached copy of the stored user."""

    def __init__(self, user: User) -> None:
        self.user = user
        self.id = str(user.id)

    @property
    def role(self) -> str:
        return self.user.role

    @property
    def username(self) -> str:
        return self.user.username


class SignInForm(FlaskForm):  # type: ignore[misc]
    username = StringField("用户名", validators=[DataRequired(), Length(max=128)])
    password = PasswordField("密码", validators=[DataRequired(), Length(max=256)])


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def init_app(app: Flask) -> None:
    app.config.setdefault("SECRET_KEY", None)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _secret_key(Path(app.instance_path))
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
    )
    # Secure cookies unless told otherwise (plain-http development on 127.0.0.1).
    secure = os.environ.get("CARELOOP_INSECURE_COOKIES") != "1"
    app.config.setdefault("SESSION_COOKIE_SECURE", secure)
    app.config.setdefault("REMEMBER_COOKIE_SECURE", secure)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = "请先登录。"
    app.register_blueprint(bp)


def _secret_key(instance: Path) -> str:
    """CARELOOP_SECRET_KEY, else one generated once and kept in the instance folder."""
    key = os.environ.get("CARELOOP_SECRET_KEY")
    if key:
        return key
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


@login_manager.user_loader  # type: ignore[untyped-decorator]
def load_user(user_id: str) -> Account | None:
    try:
        with services().uow() as uow:
            return Account(get_user(uow.session, int(user_id)))
    except (LookupError, ValueError):
        return None


def role_required(*roles: str) -> Callable[[View], View]:
    """Signed in, and in one of `roles`, or 403."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        @login_required  # type: ignore[untyped-decorator]
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


@bp.route("/login", methods=["GET", "POST"])
def sign_in() -> Any:
    form = SignInForm()
    if form.validate_on_submit():
        with services().uow() as uow:
            user = uow.session.query(User).filter_by(username=form.username.data).first()
            valid = (
                user is not None
                and user.active
                and check_password_hash(user.password_hash, form.password.data or "")
            )
        if valid and user is not None:
            login_user(Account(user))
            target = request.args.get("next", "")
            return redirect(
                target
                if target.startswith("/") and not target.startswith("//")
                else url_for("desk.queue")
            )
        flash(_("用户名或密码不正确。"), "error")
        return render_template("desk/sign_in.html", form=form), 400
    status = 400 if request.method == "POST" else 200
    return render_template("desk/sign_in.html", form=form), status


@bp.post("/logout")
@login_required  # type: ignore[untyped-decorator]
def sign_out() -> Any:
    logout_user()
    return redirect(url_for("auth.sign_in"))
