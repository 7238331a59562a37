"""The supervisors' dashboard, the weekly/monthly review and its export (R-4.2 – R-4.4, R-6, R-7).

Figures come from `engine.kpis` (SQL aggregates); charts are SVG drawn here, so the page needs
no script. Filters: period, channel, team (its department) and pack. Staff raise warnings by
hand on /warnings; supervisors create improvement actions from a warning or a top problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dashboard import analysis, charts, export, selfservice
from engine import bounds
from engine.errors import InvalidInput, NotFound
from engine.insight import earlywarning, economics, improvement, kpis, reviewdoc, targets
from engine.specs.insight import LEVELS
from engine.specs.pack import PackSpec
from engine.store.models import EarlyWarning, ImprovementAction, PackVersion, Team
from signin.auth import role_required
from web import current_services as services

bp = Blueprint("dashboard", __name__, template_folder="templates")
READERS = ("supervisor", "operations")
STAFF = ("agent", "supervisor", "operations")
PERIODS = {"7d": 7, "30d": 30, "90d": 90}
KPI_TITLES = reviewdoc.KPI_TITLES
# Figures of customers and their orders, at the end of the period (engine/insight/economics).
ECONOMICS_TITLES = {
    "churn_rate": "流失率",
    "repurchase_rate": "复购率",
    "referral_rate": "推荐率",
    "cltv": "客户终身价值 CLTV",
}


@dataclass(frozen=True)
class View:
    """What the page shows and for which records: the parsed, checked filters."""

    spec: PackSpec
    start: datetime
    end: datetime
    label: str
    channel: str | None
    team: str | None
    department: str | None
    packs: dict[str, str]  # name → title, for the pack picker
    teams: dict[str, str]  # name → its department's title in this pack (the name if none)

    def kpi_filter(self) -> kpis.KpiFilter:
        return improvement.kpi_filter(
            self.spec, self.start, self.end, channel=self.channel, department=self.department
        )

    def args(self) -> dict[str, str]:
        given = {"pack": self.spec.name, "channel": self.channel, "team": self.team}
        given.update({k: request.args[k] for k in ("period", "from", "to") if request.args.get(k)})
        return {k: v for k, v in given.items() if v}


def _view(session: Session) -> View:
    packs = list(session.scalars(select(PackVersion.pack).distinct().order_by(PackVersion.pack)))
    if not packs:
        abort(404)
    name = request.args.get("pack") or ("after_sales" if "after_sales" in packs else packs[0])
    if name not in packs:
        abort(400, f"unknown pack '{name}'")
    spec = services().latest_spec(session, name)
    tz = spec.timezone
    start, end, label = _period(tz)
    channel = _chosen("channel", spec.channels)
    teams = {t.name: t.department for t in session.scalars(select(Team).order_by(Team.name))}
    team = _chosen("team", teams)
    department = teams.get(team) if team else None
    titles = {p: services().latest_spec(session, p).title for p in packs}
    # A team reads as its department's title in this pack (rnd → 研发部), else as its name.
    departments = spec.departments
    shown = {t: departments[d].title if d in departments else t for t, d in teams.items()}
    return View(spec, start, end, label, channel, team, department, titles, shown)


def _chosen(name: str, known: Mapping[str, object]) -> str | None:
    """The `name` argument when given, which must be one of `known` (else 400)."""
    value = request.args.get(name) or None
    if value is not None and value not in known:
        abort(400, f"unknown {name} '{value}'")
    return value


def _period(tz: ZoneInfo) -> tuple[datetime, datetime, str]:
    """[start, end) in the pack's zone: `period` (7d, 30d, 90d, week, month) or from/to dates."""
    today = services().clock.now().astimezone(tz).date()
    try:
        if request.args.get("from") or request.args.get("to"):
            first = date.fromisoformat(request.args.get("from") or str(today))
            last = date.fromisoformat(request.args.get("to") or str(today))
        else:
            period = request.args.get("period", "30d")
            first, last = _named_period(period, today)
    except ValueError:
        abort(400, "period: 7d, 30d, 90d, week, month, or from/to as YYYY-MM-DD")
    if last < first or (last - first).days > 366:
        abort(400, "from must not lie after to, and a period is at most a year")
    start = datetime.combine(first, time(), tz)
    end = datetime.combine(last + timedelta(days=1), time(), tz)
    return start, end, f"{first.isoformat()} – {last.isoformat()}"


def _named_period(period: str, today: date) -> tuple[date, date]:
    if period in PERIODS:
        return today - timedelta(days=PERIODS[period] - 1), today
    if period == "week":  # the last full week, Monday to Sunday
        monday = today - timedelta(days=today.weekday() + 7)
        return monday, monday + timedelta(days=6)
    if period == "month":  # the last full month
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    raise ValueError(period)


def _figures(session: Session, view: View) -> dict[str, Any]:
    f = view.kpi_filter()
    report = kpis.report(session, f)
    spec = view.spec
    customers = _customer_figures(session, view, f, report)
    csat_targets = [t for t in spec.insight.kpis.targets if t.kpi == "csat" and not t.where]
    titles = {cid: c.title for cid, c in spec.categories.items()}
    channel_titles = {cid: c.title for cid, c in spec.channels.items()}
    top = [
        (titles.get(c, c), float(n), f"{share:.0%} · {n}") for c, n, share in report.categories[:8]
    ]
    by_channel = [(channel_titles.get(c, c), float(n), str(n)) for c, n in report.channels]
    csat_target = csat_targets[-1].target if csat_targets else None
    return {
        "report": report,
        **customers,
        "analysis": analysis.panel(session, spec, f, report, services().clock.now()),
        "top": top,
        "category_titles": titles,
        "charts": {
            "volume": charts.line(
                [(d.strftime("%m-%d"), float(n)) for d, n in report.daily], title=_("每日反馈量")
            ),
            "csat": charts.line(
                [(d.strftime("%m-%d"), v) for d, v in report.daily_csat],
                title=_("每日满意度 CSAT"),
                target=csat_target,
            ),
            "top": charts.bars(top, title=_("高频问题（占比）")),
            "channels": charts.bars(by_channel, title=_("各渠道反馈量")),
        },
    }


def _customer_figures(
    session: Session, view: View, f: kpis.KpiFilter, report: kpis.KpiReport
) -> dict[str, Any]:
    """Customer economics at the end of the period (R-4.3) and every target in its own scope
    (R-4.4): kept apart from the record figures above so each can grow on its own."""
    now = min(services().clock.now(), view.end)
    found = economics.figures(session, view.spec, now)
    values = targets.target_values(session, view.spec, f, report.values, found, now)
    return {
        "economics": found.values,
        "economics_titles": ECONOMICS_TITLES,
        "targets": [
            {"target": t, "value": values[t.id], "progress": t.progress(values[t.id])}
            for t in view.spec.insight.kpis.targets
        ],
    }


@bp.get("/dashboard")
@role_required(*READERS)
def dashboard() -> Any:
    with services().uow() as uow:
        view = _view(uow.session)
        figures = _figures(uow.session, view)
        selfservice_panel = selfservice.panel(uow.session, view.spec, view.start, view.end)
        warnings = earlywarning.open_warnings(uow.session, view.spec.name)
        actions = list(
            uow.session.scalars(
                select(ImprovementAction)
                .where(ImprovementAction.pack == view.spec.name)
                .order_by(ImprovementAction.deadline.desc())
                .limit(20)
            )
        )
    return render_template(
        "dashboard/dashboard.html",
        view=view,
        warnings=warnings,
        actions=actions,
        kpi_titles=KPI_TITLES,
        levels=LEVELS,
        tz=str(current_user.user.timezone),
        selfservice=selfservice_panel,
        **figures,
    )


@bp.get("/dashboard/review")
@role_required(*READERS)
def review() -> Any:
    """The weekly or monthly review as a printable page (R-4.2)."""
    with services().uow() as uow:
        view = _view(uow.session)
        figures = _figures(uow.session, view)
        raised = uow.session.scalar(
            select(func.count())
            .select_from(EarlyWarning)
            .where(
                EarlyWarning.pack == view.spec.name,
                EarlyWarning.opened_at >= view.start,
                EarlyWarning.opened_at < view.end,
            )
        )
    return render_template(
        "dashboard/review.html", view=view, kpi_titles=KPI_TITLES, raised=raised, **figures
    )


def _cells(*values: export.Cell) -> list[export.Cell]:
    """One spreadsheet row; a title of the pack may be missing (None) as well as any figure."""
    return list(values)


@bp.get("/dashboard/export.<fmt>")
@role_required(*READERS)
def export_review(fmt: str) -> Any:
    if fmt not in ("csv", "xlsx"):
        abort(404)
    with services().uow() as uow:
        view = _view(uow.session)
        report = kpis.report(uow.session, view.kpi_filter())
    spec = view.spec
    rows: list[list[export.Cell]] = [
        ["Careloop review", spec.title, view.label],
        [],
        ["KPI", "value"],
        *(
            [KPI_TITLES[k], round(v, 2) if v is not None else None]
            for k, v in report.values.items()
        ),
        [],
        ["channel", "records"],
        *(
            _cells(spec.channels[c].title if c in spec.channels else c, n)
            for c, n in report.channels
        ),
        [],
        ["category", "records", "share"],
        *(
            _cells(spec.categories[c].title if c in spec.categories else c, n, round(share, 4))
            for c, n, share in report.categories
        ),
    ]
    name = f"review-{spec.name}-{view.start.date().isoformat()}"
    if fmt == "csv":
        body, mime = export.to_csv(rows), "text/csv; charset=utf-8"
    else:
        body = export.to_xlsx(rows)
        mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(
        body, mimetype=mime, headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'}
    )


@bp.post("/improvements")
@role_required(*READERS)
def create_action() -> Any:
    """An improvement action from a warning or a top problem (R-7.1, R-7.2)."""
    form = request.form
    pack = form.get("pack", "")
    try:
        deadline = datetime.fromisoformat(form.get("deadline", ""))
        if deadline.tzinfo is None:
            deadline = deadline.replace(tzinfo=ZoneInfo(str(current_user.user.timezone)))
        warning_id = bounds.parse_id(form["warning_id"]) if form.get("warning_id") else None
        if form.get("warning_id") and warning_id is None:
            raise ValueError(form["warning_id"])
        window_days = int(form.get("window_days") or 7)
    except ValueError:
        flash(_("截止时间或天数格式不正确。"), "error")
        return redirect(url_for("dashboard.dashboard", pack=pack or None)), 303
    try:
        services().create_action(
            pack,
            title=form.get("title", ""),
            owner=form.get("owner", ""),
            deadline=deadline,
            metric=form.get("metric", ""),
            window_days=window_days,
            category=form.get("category") or None,
            warning_id=warning_id,
            actor=current_user.username,
        )
    except (InvalidInput, NotFound) as exc:
        flash(str(exc), "error")
    else:
        flash(_("已创建改进措施。"), "success")
    return redirect(url_for("dashboard.dashboard", pack=pack or None) + "#actions")


@bp.route("/warnings", methods=["GET", "POST"])
@role_required(*STAFF)
def warnings_page() -> Any:
    """Open warnings, and a form for staff to report one (R-6.1 internal reports)."""
    status = 200
    if request.method == "POST":
        try:
            outcome = services().report_warning(
                request.form.get("pack", ""),
                title=request.form.get("title", ""),
                description=request.form.get("description", ""),
                level=request.form.get("level", ""),
                actor=current_user.username,
            )
        except (InvalidInput, NotFound) as exc:
            flash(str(exc), "error")
            status = 400
        else:
            flash(_("已上报预警 #%(id)s。", id=outcome.warning.id), "success")
            return redirect(url_for("dashboard.warnings_page"))
    with services().uow() as uow:
        warnings = earlywarning.open_warnings(uow.session)
        packs = [
            name
            for name in uow.session.scalars(
                select(PackVersion.pack).distinct().order_by(PackVersion.pack)
            )
            if services().latest_spec(uow.session, name).insight.warnings is not None
        ]
    return render_template(
        "dashboard/warnings.html",
        warnings=warnings,
        packs=packs,
        levels=LEVELS,
        tz=str(current_user.user.timezone),
    ), status
