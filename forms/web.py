"""Wire the agent workspace into the app: sign-in, CSRF, the desk blueprint, languages."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, request
from flask_babel import Babel
from flask_login import current_user

from forms import auth, dashboard, kb_pages, security, survey, views

LANGUAGES = ("zh", "en")
# Messages are written in Chinese (the teams' language); English is a catalog over them.
TRANSLATIONS = Path(__file__).parent / "translations"


def select_locale() -> str:
    """The user's language, else the browser's, else Simplified Chinese (the teams' own)."""
    account = getattr(current_user, "user", None)
    if account is not None and account.locale in LANGUAGES:
        return str(account.locale)
    return request.accept_languages.best_match(LANGUAGES) or "zh"


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "zh")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    Babel(app, locale_selector=select_locale)
    auth.init_app(app)
    security.init_app(app)  # headers on every answer: CSP, no-store, frame-ancestors
    app.register_blueprint(views.bp)
    app.register_blueprint(survey.bp)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(kb_pages.bp)
    # The API authenticates with bearer tokens, not cookies: CSRF does not apply there.
    auth.csrf.exempt(app.blueprints["api"])
