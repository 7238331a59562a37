"""Sign-in (Flask-Login), roles, CSRF on every form (Flask-WTF) and secure session cookies.

Guessing is throttled per username and address in the database (`engine.signin`); signing in
starts a fresh session (no fixation); a session carries the user's session generation, so
"sign out everywhere" voids every other one at once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
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

from engine.access import signin
from engine.access.users import get_user
from engine.records import followers
from engine.store.models import User
from ops.settings import instance_secret
from web import current_services as services

View = TypeVar("View", bound=Callable[..., Any])
bp = Blueprint("auth", __name__, template_folder="templates")
login_manager = LoginManager()
csrf = CSRFProtect()


class Account(UserMixin):  # type: ignore[misc]
    """The signed-in user as Flask-Login sees it: a detached copy of the stored user."""

    def __init__(self, user: User, unread: int = 0) -> None:
        self.user = user
        self.id = str(user.id)
        # Notices on followed records not seen yet (the header's count, issue #21): read with
        # the user, since a page renders its header inside its own unit of work.
        self.unread = unread

    @property
    def role(self) -> str:
        return self.user.role

    @property
    def username(self) -> str:
        return self.user.username

    def get_id(self) -> str:
        """What the session keeps: the id and the generation it was signed in under."""
        return f"{self.user.id}.{self.user.session_generation or 0}"


class SignInForm(FlaskForm):  # type: ignore[misc]
    username = StringField("用户名", validators=[DataRequired(), Length(max=128)])
    password = PasswordField("密码", validators=[DataRequired(), Length(max=256)])


# Werkzeug's scrypt, deliberately slow against guessing. A hash names its own method, so the
# test suite stores cheap ones here (as Django's test settings do with PASSWORD_HASHERS) and
# signing in still checks every password for real.
PASSWORD_METHOD = "scrypt"


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=PASSWORD_METHOD)


def init_app(app: Flask) -> None:
    """Sessions, CSRF and sign-in; whether cookies are Secure is the app's config (webapp.py)."""
    app.config.setdefault("SECRET_KEY", None)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = instance_secret(Path(app.instance_path))
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
    )
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = "请先登录。"
    app.register_blueprint(bp)


@login_manager.user_loader  # type: ignore[untyped-decorator]
def load_user(session_id: str) -> Account | None:
    """The active user, if the session was signed in under their current generation."""
    user_id, _, generation = session_id.partition(".")
    try:
        with services().uow() as uow:
            user = get_user(uow.session, int(user_id))
            if generation != str(user.session_generation or 0):
                return None  # signed out everywhere since
            return Account(user, followers.unread(uow.session, user.id))
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
        username, address = form.username.data or "", request.remote_addr or "-"
        now = services().clock.now()
        with services().uow() as uow:
            until = signin.locked_until(uow.session, username, address, now)
            if until is not None:
                flash(_("登录失败次数过多，请稍后再试。"), "error")
                wait = str(max(int((until - now).total_seconds()), 1))
                page = render_template("signin/sign_in.html", form=form)
                return page, 429, {"Retry-After": wait}
            user = uow.session.query(User).filter_by(username=username).first()
            valid = (
                user is not None
                and user.active
                and check_password_hash(user.password_hash, form.password.data or "")
            )
            if valid:
                signin.succeeded(uow.session, username, address)
            else:
                signin.failed(uow.session, username, address, now)
            uow.commit()
        if valid and user is not None:
            session.clear()  # a fresh session: nothing planted before sign-in survives
            login_user(Account(user))
            target = request.args.get("next", "")
            return redirect(target if same_site(target) else url_for("desk.queue"))
        flash(_("用户名或密码不正确。"), "error")
        return render_template("signin/sign_in.html", form=form), 400
    status = 400 if request.method == "POST" else 200
    return render_template("signin/sign_in.html", form=form), status


def same_site(target: str) -> bool:
    """Whether `next` is a path on this site: `/\\evil.com`, `//evil.com`, `https:evil.com`,
    `/%5Cevil.com` or one with a control character would send the user elsewhere, since
    browsers read a backslash as a slash and drop tabs and newlines (ASVS 5.1.5)."""
    decoded = unquote(target)
    if not target.startswith("/") or any(ord(c) < 0x20 or c == "\x7f" for c in decoded):
        return False
    normal = decoded.replace("\\", "/")
    parts = urlsplit(normal)
    return not normal.startswith("//") and not parts.scheme and not parts.netloc


@bp.post("/logout")
@login_required  # type: ignore[untyped-decorator]
def sign_out() -> Any:
    logout_user()
    return redirect(url_for("auth.sign_in"))


@bp.post("/logout/everywhere")
@login_required  # type: ignore[untyped-decorator]
def sign_out_everywhere() -> Any:
    """End this user's sessions on every device (a lost phone, a shared computer)."""
    with services().uow() as uow:
        signin.sign_out_everywhere(uow.session, get_user(uow.session, current_user.user.id))
        uow.commit()
    logout_user()
    return redirect(url_for("auth.sign_in"))
