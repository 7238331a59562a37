"""The dashboard's self-service panel (issue #23 item 6): what customers solved on their own.

Figures from `engine.selfservice.figures` (rolled-up days plus the days since, like the KPIs);
the chart is the same server-drawn SVG as the other charts.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from dashboard import charts
from engine.selfservice import figures
from engine.specs.pack import PackSpec


def panel(session: Session, spec: PackSpec, start: Any, end: Any) -> dict[str, Any]:
    """The period's self-service figures, their daily chart, top articles and questions."""
    found = figures.figures(session, spec, start, end)
    daily = [(day.strftime("%m-%d"), float(c.answered)) for day, c in found.daily]
    handed = [(day.strftime("%m-%d"), float(c.handed_over)) for day, c in found.daily]
    return {
        "figures": found,
        "answered_chart": charts.line(daily, title=_("每日自助解决（未建单）")),
        "handed_chart": charts.line(handed, title=_("每日转人工")),
    }
