"""What a scenario's `expect:` may say about figures: KPIs, customer economics, loyalty.

Read once the rehearsal has reached `until`: the KPIs of the records received in
[start, until], customer economics (churn, repurchase, referral, CLTV) at `until`, each KPI
target's value in its own scope (`target.<id>`, R-4.4), the top problems' shares in percent
(`top.category.<id>`, `top.tag.<tag>`, `top.known_problem.<id>`, R-4.2), and each
customer's loyalty points and level after the points due by then were awarded (R-4.3, R-5.4).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from engine.customers import loyalty
from engine.insight import economics, improvement, kpis, targets, topproblems
from engine.services import Services
from engine.store.models import Customer


def read_figures(
    services: Services, pack: str, start: datetime, until: datetime
) -> tuple[dict[str, float | None], dict[str, dict[str, Any]]]:
    """({figure: value}, {customer number: {points, level}}) at `until`."""
    services.award_points()
    with services.uow() as uow:
        spec = services.latest_spec(uow.session, pack)
        # `until` itself belongs to the scenario: a record received then counts.
        f = improvement.kpi_filter(spec, start, until + timedelta(microseconds=1))
        report = kpis.report(uow.session, f)
        values = dict(report.values)
        for by in topproblems.DIMENSIONS:  # `top.category.quality: 75` (percent, R-4.2)
            for problem in topproblems.top_problems(uow.session, f, by, limit=50, report=report):
                values[f"top.{by}.{problem.key}"] = problem.share * 100
        everyone = economics.figures(uow.session, spec, until)
        values.update(everyone.values)
        scoped = targets.target_values(uow.session, spec, f, values, everyone, until)
        values.update({f"target.{tid}": value for tid, value in scoped.items()})
        balances = loyalty.balances(pack, until)
        points = func.coalesce(balances.c.points, 0)
        level = loyalty.level_of(spec.insight.loyalty, points)
        rows = uow.session.execute(
            select(Customer.number, points, level).outerjoin(
                balances, balances.c.customer_id == Customer.id
            )
        )
        standing = {number: {"points": int(p), "level": lv} for number, p, lv in rows}
    return values, standing
