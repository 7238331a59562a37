"""The dashboard's and printable review's analysis (issue #25 item 4, R-4.2): top problems by
the chosen dimension, churn and repurchase by resolution time and by satisfaction.

The tables are the very `engine.insight.reviewdoc` tables the mailed review carries, so the
page and the mail cannot drift apart; the charts are the dashboard's server-drawn SVG.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import abort, request
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from dashboard import charts
from engine.insight import churnbuckets, kpis, reviewdoc, topproblems
from engine.specs.pack import PackSpec

TOP_WORDS = {"known_problem": "已知问题", "tag": "标签", "category": "类别"}


def panel(
    session: Session, spec: PackSpec, f: kpis.KpiFilter, report: kpis.KpiReport, now: datetime
) -> dict[str, Any]:
    """The top-problem table along `?top_by=` (the pack's `reviews.top_problems` by default)
    and the two churn tables with a chart of each one's churn rate per bucket."""
    by = request.args.get("top_by") or spec.insight.reviews.top_by
    if by not in topproblems.DIMENSIONS:
        abort(400, "top_by: " + ", ".join(topproblems.DIMENSIONS))
    churn = [
        reviewdoc.churn_table(session, spec, f, d, min(now, f.end)) for d in churnbuckets.DIMENSIONS
    ]
    return {
        "top_by": by,
        "top_words": TOP_WORDS,
        "top_table": reviewdoc.top_table(session, spec, f, by, report),
        "churn_tables": churn,
        "churn_charts": [
            charts.bars(
                [(row[0], _rate(row[2]), row[2]) for row in table.rows],
                title=_(table.title) + " · " + _("流失率"),
            )
            for table in churn
        ],
    }


def _rate(shown: str) -> float:
    """The bar's length from the table's cell ('40%'; '—' when nobody was counted)."""
    return float(shown.rstrip("%")) if shown != "—" else 0.0
