"""The current value of each KPI target a pack declares, in the target's own scope (R-4.4).

A target without `where` reads the dashboard's figures as they are. A scoped one reads its
own: a record figure with the target's channel or record type in place of the page's (CSAT
≥ 92 % at the phone, the core touch point, whatever channel the page shows); a customer
figure (churn, repurchase, referral, CLTV) of every customer or of the target's tier. Each
distinct scope is computed once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from sqlalchemy.orm import Session

from engine.insight import economics, kpis
from engine.specs.insight import CUSTOMER_KPIS, KpiTarget
from engine.specs.pack import PackSpec


def target_values(
    session: Session,
    pack: PackSpec,
    f: kpis.KpiFilter,
    values: Mapping[str, float | None],
    everyone: economics.Economics,
    now: datetime,
) -> dict[str, float | None]:
    """{target id: its current value}, given the page's figures and its customer economics."""
    by_tier: dict[str | None, economics.Economics] = {None: everyone}
    by_scope: dict[tuple[str | None, str | None], Mapping[str, float | None]] = {}
    found: dict[str, float | None] = {}
    for target in pack.insight.kpis.targets:
        if target.kpi in CUSTOMER_KPIS:
            tier = target.where.get("tier")
            if tier not in by_tier:
                by_tier[tier] = economics.figures(session, pack, now, tier)
            found[target.id] = by_tier[tier].values[target.kpi]
        elif target.where:
            scope = _scope(target, f)
            if scope not in by_scope:
                channel, record_type = scope
                scoped = replace(f, channel=channel, record_type=record_type)
                by_scope[scope] = kpis.report(session, scoped).values
            found[target.id] = by_scope[scope].get(target.kpi)
        else:
            found[target.id] = values.get(target.kpi)
    return found


def _scope(target: KpiTarget, f: kpis.KpiFilter) -> tuple[str | None, str | None]:
    return target.where.get("channel", f.channel), target.where.get("record_type", f.record_type)
