"""The web app assembled: `create_app()` wires settings, store, engine and the web faces.

wsgi.py, the entry point for WSGI servers and `flask --app wsgi`, adds the `careloop`
commands to it; `careloop serve` builds it from here, so nothing imports wsgi.py.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template_string
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

import admin
import api
import dashboard
import forms
import portal
import signin
import web
from engine.errors import CareloopError, ConflictError, NotFound
from engine.services import Services
from engine.store.db import make_engine, make_session_factory
from engine.store.migrate import is_current
from engine.store.models import PackVersion, Record, Timer
from engine.time.health import scheduler_status
from ops import web as ops_web
from ops.observed import ObservedServices
from ops.settings import Settings, configure_engine_keys, load

STATUS_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>Careloop</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}
table{border-collapse:collapse}
td,th{padding:.3rem .8rem;border-bottom:1px solid #ddd;text-align:left}</style>
</head><body>
<h1>Careloop</h1>
<p>客服工作流引擎 · configurable customer-service workflows</p>
<h2>已发布的流程包 Published packs</h2>
<table><tr><th>pack</th><th>version</th><th>published</th><th>by</th><th>open records</th></tr>
{% for v, open in packs %}<tr><td>{{ v.pack }}</td><td>v{{ v.version }}</td>
<td>{{ v.published_at.strftime('%Y-%m-%d %H:%M') }} UTC</td>
<td>{{ v.published_by }}</td><td>{{ open }}</td></tr>
{% else %}<tr><td colspan="5">none yet: run <code>careloop publish workflows/*/</code>
</td></tr>{% endfor %}
</table>
<p>Pending timers: {{ pending }}</p>
</body></html>"""


def create_app(
    test_config: dict[str, Any] | None = None, settings: Settings | None = None
) -> Flask:
    """Build the app: the settings (read from the environment when not given, ops/settings.py),
    then Flask's own CARELOOP_<KEY> variables (`from_prefixed_env`), then the test config."""
    settings = load() if settings is None else settings
    configure_engine_keys(settings)
    app = Flask(__name__)
    app.config.from_mapping(DATABASE_URL=settings.database_url, SECRET_KEY=settings.secret_key)
    app.config.from_prefixed_env("CARELOOP")
    if test_config:
        app.config.update(test_config)
    engine = make_engine(app.config["DATABASE_URL"])
    # ObservedServices: the engine's facade, counted for /metrics (ops/, issue #14).
    app.extensions["careloop"] = ObservedServices(make_session_factory(engine))
    ops_web.init_app(app, settings)
    _register_errors(app)
    _register_status(app)
    web.init_app(app)  # languages first: every face renders through them
    signin.init_app(app, insecure_cookies=settings.insecure_cookies)
    api.init_app(app)
    forms.init_app(app)
    dashboard.init_app(app)
    portal.init_app(app)
    # The API authenticates with bearer tokens, not cookies: CSRF does not apply there.
    signin.csrf.exempt(app.blueprints["api"])
    admin.init_app(app, app.extensions["careloop"])
    return app


def services(app: Flask) -> Services:
    service: Services = app.extensions["careloop"]
    return service


def _register_status(app: Flask) -> None:
    @app.get("/healthz")
    def alive() -> Any:
        """The process answers: for a supervisor (systemd, a load balancer) to restart it if not."""
        return jsonify(status="ok")

    @app.get("/readyz")
    def ready() -> Any:
        """The database answers and is migrated: only then should traffic come here."""
        engine = services(app).session_factory.kw["bind"]
        try:
            current = is_current(engine)
        except SQLAlchemyError:
            return jsonify(status="database unreachable"), 503
        if not current:
            return jsonify(status="migrations pending: run careloop db upgrade"), 503
        return jsonify(status="ready")

    @app.get("/status/scheduler")
    def scheduler_health() -> Any:
        """Counts only, no customer data: for monitors and operators."""
        with services(app).session_factory() as session:
            return jsonify(scheduler_status(session, services(app).clock.now()))

    @app.get("/")
    def status() -> str:
        with services(app).session_factory() as session:
            latest = (
                select(PackVersion.pack, func.max(PackVersion.version).label("v"))
                .group_by(PackVersion.pack)
                .subquery()
            )
            versions = session.scalars(
                select(PackVersion)
                .join(
                    latest,
                    (PackVersion.pack == latest.c.pack) & (PackVersion.version == latest.c.v),
                )
                .order_by(PackVersion.pack)
            ).all()
            open_counts = dict(
                session.execute(
                    select(Record.pack, func.count())
                    .where(Record.is_open.is_(True))
                    .group_by(Record.pack)
                ).all()
            )
            pending = session.scalar(
                select(func.count()).select_from(Timer).where(Timer.status == "pending")
            )
        return render_template_string(
            STATUS_PAGE, packs=[(v, open_counts.get(v.pack, 0)) for v in versions], pending=pending
        )


def _register_errors(app: Flask) -> None:
    @app.errorhandler(CareloopError)
    def engine_error(exc: CareloopError) -> tuple[Any, int]:
        status = (
            404 if isinstance(exc, NotFound) else 409 if isinstance(exc, ConflictError) else 422
        )
        return jsonify(error=str(exc)), status
