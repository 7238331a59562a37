"""Languages: Simplified Chinese, the teams' own, with English as a catalog over it."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, request
from flask_babel import Babel
from flask_login import current_user

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
