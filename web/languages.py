"""Languages: Simplified Chinese, the teams' own, with English as a catalog over it."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, request
from flask_babel import Babel
from flask_login import current_user

LANGUAGES = ("zh", "en")
# Messages are written in Chinese (the teams' language); English is a catalog over them.
TRANSLATIONS = Path(__file__).parent / "translations"
# The Babel locale each language renders in. Chinese is "zh_Hans_CN", not bare "zh": Flask-Admin
# ships its catalog under that name and gettext would never find it from "zh", leaving the
# admin's own words (Save, List, Filter …) in English. Our catalog has no Chinese: it is the
# source, so any Chinese locale reads the messages as written.
BABEL_LOCALES = {"zh": "zh_Hans_CN", "en": "en"}
# A visitor without an account (the customer portal, issue #23) picks a language by `?lang=`,
# kept in this cookie for the next pages.
LANGUAGE_COOKIE = "careloop_lang"


def select_locale() -> str:
    """The user's language, else the one picked on a public page, else the browser's, else
    Simplified Chinese (the teams' own)."""
    account = getattr(current_user, "user", None)
    if account is not None and account.locale in LANGUAGES:
        return BABEL_LOCALES[str(account.locale)]
    picked = request.args.get("lang") or request.cookies.get(LANGUAGE_COOKIE)
    if picked in LANGUAGES:
        return BABEL_LOCALES[str(picked)]
    return BABEL_LOCALES[request.accept_languages.best_match(LANGUAGES) or "zh"]


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", BABEL_LOCALES["zh"])
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    Babel(app, locale_selector=select_locale)
