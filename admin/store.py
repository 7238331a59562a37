"""The store as Flask-Admin wants it: an object with a `session`, scoped to the app context."""

from __future__ import annotations

from typing import Any

from flask import Flask, g
from sqlalchemy.orm import Session, scoped_session, sessionmaker


class AdminStore:
    """One session per app context, removed at teardown, from the engine's own factory."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.session = scoped_session(factory, scopefunc=_context_id)

    def init_app(self, app: Flask) -> None:
        app.teardown_appcontext(lambda _exc: self.session.remove())

    def __getattr__(self, name: str) -> Any:
        # Flask-Admin queries through what it was given; hand it the scoped session's methods.
        return getattr(self.session, name)


def _context_id() -> int:
    return id(g._get_current_object())
