"""What operators and their monitors ask the running app: alive, ready, the scheduler's state,
and a status page of the published packs (at /status; `/` is the staff's front door).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template_string
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from engine.store.models import PackVersion, Record, Timer
from engine.store.schemahead import is_current
from engine.time.health import scheduler_status
from ops.secrets import missing_keys
from ops.settings import Settings
from web import current_services as services
from workflows.calendardraft import published_coverage

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
{% if calendar_warnings %}<h2>日历即将缺少节假日数据 Calendars running out of holiday data</h2>
{% for w in calendar_warnings %}<pre>{{ w }}</pre>{% endfor %}{% endif %}
</body></html>"""


def init_app(app: Flask, settings: Settings) -> None:
    """The probes and the status page, on the app the engine's services were built into."""
    unready = missing_keys(settings)  # the settings do not change while the process runs

    @app.get("/healthz")
    def alive() -> Any:
        """The process answers: for a supervisor (systemd, a load balancer) to restart it if not."""
        return jsonify(status="ok")

    @app.get("/readyz")
    def ready() -> Any:
        """The keys for personal data are set, the database answers and is migrated: only then
        should traffic come here (the reason names variables, never their values)."""
        if unready:
            return jsonify(status=unready), 503
        engine = services().session_factory.kw["bind"]
        try:
            current = is_current(engine)
        except SQLAlchemyError:
            return jsonify(status="database unreachable"), 503
        if not current:
            return jsonify(status="migrations pending: run careloop db upgrade"), 503
        return jsonify(status="ready")

    @app.get("/status/scheduler")
    def scheduler_health() -> Any:
        """Counts only, no customer data: for monitors and operators; with the calendars about
        to run out of holiday data (issue #25), as `careloop scheduler --status --json` says."""
        now = services().clock.now()
        with services().session_factory() as session:
            report = scheduler_status(session, now)
            warnings = published_coverage(session, now)
        report["calendar_warnings"] = [warning.as_json() for warning in warnings]
        return jsonify(report)

    @app.get("/status")
    def status() -> str:
        with services().session_factory() as session:
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
            warnings = published_coverage(session, services().clock.now())
        return render_template_string(
            STATUS_PAGE,
            packs=[(v, open_counts.get(v.pack, 0)) for v in versions],
            pending=pending,
            calendar_warnings=[str(w) for w in warnings],
        )
