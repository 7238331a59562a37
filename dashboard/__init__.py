"""The supervisors' dashboard: KPIs and targets, charts, exports, early warnings and
improvement actions, and the printable review (R-4, R-6, R-7).
"""

from __future__ import annotations

from flask import Flask

from dashboard.reviewhistory import bp as reviews_bp
from dashboard.views import bp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(reviews_bp)
