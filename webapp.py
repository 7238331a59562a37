"""The web app assembled: `create_app()` wires settings, store, engine and the web faces.

wsgi.py, the entry point for WSGI servers and `flask --app wsgi`, adds the `careloop`
commands to it; `careloop serve` builds it from here, so nothing imports wsgi.py.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

import admin
import api
import dashboard
import forms
import portal
import signin
import web
from engine.customers.surveylinks import SurveyLinks
from engine.knowledge import segment
from engine.services import Services
from engine.store.db import make_engine, make_session_factory
from ops import status as ops_status
from ops import web as ops_web
from ops.observed import ObservedServices
from ops.settings import Settings, configure_engine_keys, load
from web import bounds, ratelimit


def create_app(
    test_config: dict[str, Any] | None = None, settings: Settings | None = None
) -> Flask:
    """Build the app: the settings (read from the environment when not given, ops/settings.py),
    then Flask's own CARELOOP_<KEY> variables (`from_prefixed_env`), then the test config."""
    settings = load() if settings is None else settings
    configure_engine_keys(settings)
    app = Flask(__name__)
    bounds.init_app(app)  # first: every route's `<int:…>` compiles with its bounded converter
    # Secure cookies unless told otherwise (plain-http development on 127.0.0.1): a default,
    # so CARELOOP_SESSION_COOKIE_SECURE and a test config can still say otherwise.
    secure = not settings.insecure_cookies
    app.config.from_mapping(
        DATABASE_URL=settings.database_url,
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_SECURE=secure,
        REMEMBER_COOKIE_SECURE=secure,
    )
    app.config.from_prefixed_env("CARELOOP")
    # from_prefixed_env copied CARELOOP_OUTBOUND_ALLOW as one string ("127.0.0.1,hooks"), which
    # the policy would read as single characters: the settings hold it parsed into host names.
    app.config["OUTBOUND_ALLOW"] = settings.outbound_allow
    if test_config:
        app.config.update(test_config)
    engine = make_engine(app.config["DATABASE_URL"])
    # ObservedServices: the engine's facade, counted for /metrics (ops/, issue #14).
    app.extensions["careloop"] = ObservedServices(make_session_factory(engine))
    ops_web.init_app(app, settings)
    ops_status.init_app(app, settings)
    web.init_app(app)  # languages first: every face renders through them
    signin.init_app(app)  # resolves SECRET_KEY, which signs the survey links
    app.extensions["careloop"].links = SurveyLinks(app.config["SECRET_KEY"], settings.public_url)
    ratelimit.init_app(
        app, settings.redis_url, settings.trusted_proxies
    )  # the public pages' limits (issue #23)
    api.init_app(app, settings)
    forms.init_app(app)
    dashboard.init_app(app)
    portal.init_app(app)
    # The API authenticates with bearer tokens, not cookies: CSRF does not apply there.
    signin.csrf.exempt(app.blueprints["api"])
    admin.init_app(app, app.extensions["careloop"])
    # The segmenter's dictionary loads in the background now, not in the first search of the
    # day (the first 领取下一条 once waited seconds for it). Tests leave it lazy: most never search.
    if app.config.setdefault("WARM_SEGMENTER", not app.testing):
        segment.warm()
    return app


def services(app: Flask) -> Services:
    service: Services = app.extensions["careloop"]
    return service
