"""What every page of every face shares: the running app's engine services, ids in URLs,
languages, the staff layout, static files and security headers.
"""

from __future__ import annotations

from flask import Blueprint, Flask, current_app

from engine.bounds import MAX_ID
from engine.services import Services
from web import errors, home, languages, security

# Ids in URLs: positive and within the INTEGER primary keys (`engine.bounds.MAX_ID`), so no
# path can overflow the database; plain `<int:…>` is capped too (web/bounds.py).
DB_ID = f"int(min=1, max={MAX_ID})"

bp = Blueprint(
    "web",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/desk-static",
)


def current_services() -> Services:
    """The engine's use cases the running app was built with (`wsgi.create_app`)."""
    service: Services = current_app.extensions["careloop"]
    return service


def init_app(app: Flask) -> None:
    """Languages first (the admin renders through them), then headers and shared files."""
    languages.init_app(app)
    security.init_app(app)  # headers on every answer: CSP, no-store, frame-ancestors
    errors.init_app(app)  # engine errors the views leave alone, as pages
    home.init_app(app)  # `/` sends each role to its work
    app.register_blueprint(bp)
