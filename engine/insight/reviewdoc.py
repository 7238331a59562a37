"""The review as a document (R-4.2): the tables the printable page and the mailed review share.

Built once from the period's figures — the KPI report (rolled-up days where it can), top
problems, churn and repurchase by resolution time and by satisfaction — then rendered as
the mail's text and HTML parts; the printable page renders the same `tables`. Titles are
the Chinese msgids the page translates; the mail goes out in Chinese, the desk's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from markupsafe import escape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.insight import churnbuckets, improvement, kpis, topproblems
from engine.specs.pack import PackSpec
from engine.store.models import EarlyWarning

# The figures' titles, shared with the dashboard (dashboard/views.py), translated there.
KPI_TITLES = {
    "csat": "客户满意度 CSAT",
    "satisfaction_avg": "平均满意度 (1–5)",
    "nps": "NPS",
    "fcr": "首次解决率",
    "response_hours": "平均首次响应（小时）",
    "handling_hours": "平均处理时长（小时）",
    "resolution_hours": "平均结案时长（小时）",
    "sla_attainment": "SLA 达成率",
    "volume": "反馈量",
}
TOP_TITLES = {
    "known_problem": "高频问题（按已知问题）",
    "tag": "高频问题（按标签）",
    "category": "高频问题（按类别）",
}
CHURN_TITLES = {
    "resolution": "流失与复购（按结案时长）",
    "satisfaction": "流失与复购（按满意度）",
}


@dataclass(frozen=True)
class Table:
    """One table of the review: a title, a header row and rows of text cells."""

    key: str
    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class ReviewDocument:
    """What one review says, whatever it is rendered as."""

    title: str
    period: str
    tables: tuple[Table, ...]

    def text(self) -> str:
        """The mail's plain-text part: each table as indented lines, cells by ' | '."""
        lines = [self.title, self.period, ""]
        for table in self.tables:
            lines += [table.title, "  " + " | ".join(table.header)]
            lines += ["  " + " | ".join(row) for row in table.rows] or ["  —"]
            lines.append("")
        return "\n".join(lines)

    def html(self) -> str:
        """The mail's HTML part: every cell escaped, no script, no external resource."""
        parts = [f"<h1>{escape(self.title)}</h1>", f"<p>{escape(self.period)}</p>"]
        for table in self.tables:
            head = "".join(f"<th>{escape(h)}</th>" for h in table.header)
            body = "".join(
                "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
                for row in table.rows
            )
            parts.append(f"<h2>{escape(table.title)}</h2><table><tr>{head}</tr>{body}</table>")
        return "<!doctype html><html><body>" + "".join(parts) + "</body></html>"


def build(
    session: Session, pack: PackSpec, start: datetime, end: datetime, now: datetime, label: str
) -> ReviewDocument:
    """The review of the records received in [start, end), customers read at `now`."""
    f = improvement.kpi_filter(pack, start, end)
    report = kpis.report(session, f)
    raised = session.scalar(
        select(func.count())
        .select_from(EarlyWarning)
        .where(EarlyWarning.pack == pack.name, EarlyWarning.opened_at >= start)
        .where(EarlyWarning.opened_at < end)
    )
    figures = [(KPI_TITLES[k], _number(v)) for k, v in report.values.items()]
    channels = [
        (pack.channels[c].title if c in pack.channels else c, str(n)) for c, n in report.channels
    ]
    tables = [
        Table("kpis", "关键指标", ("指标", "数值"), (*figures, ("新增预警", str(raised or 0)))),
        Table("channels", "各渠道反馈量", ("渠道", "记录数"), tuple(channels)),
        top_table(session, pack, f, pack.insight.reviews.top_by, report),
        *(churn_table(session, pack, f, d, min(now, end)) for d in churnbuckets.DIMENSIONS),
    ]
    return ReviewDocument(f"服务复盘 · {pack.title}", label, tuple(tables))


def top_table(
    session: Session, pack: PackSpec, f: kpis.KpiFilter, by: str, report: kpis.KpiReport | None
) -> Table:
    titles = {cid: c.title for cid, c in pack.categories.items()}
    found = topproblems.top_problems(session, f, by, titles=titles, report=report)
    rows = tuple((p.title, str(p.count), f"{p.share:.0%}") for p in found)
    return Table(f"top.{by}", TOP_TITLES[by], ("问题", "记录数", "占比"), rows)


def churn_table(
    session: Session, pack: PackSpec, f: kpis.KpiFilter, dimension: str, now: datetime
) -> Table:
    found = churnbuckets.buckets(session, pack, f, dimension, now)
    rows = tuple(
        (b.label, str(b.customers), _percent(b.churn_rate), _percent(b.repurchase_rate))
        for b in found
    )
    header = ("区间", "客户数", "流失率", "复购率")
    return Table(f"churn.{dimension}", CHURN_TITLES[dimension], header, rows)


def _number(value: float | None) -> str:
    return "—" if value is None else f"{round(value, 2):g}"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}%"
