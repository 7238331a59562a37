"""What a pack declares about listening to customers: satisfaction, monitors, warnings, KPI targets.

Frozen values like the rest of `engine.spec`, built from the pack keys `satisfaction` (R-3.3,
R-4.1), `monitors` (R-6.1, R-6.2), `warnings` (R-6.3) and `kpi_targets` (R-4.4). Kept apart from
`engine.spec` so that the record-running spec stays as it was; `PackSpec.insight` holds them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

from engine.specs.economics import (
    Cutoffs,
    EconomicsSpec,
    LoyaltySpec,
    build_cutoffs,
    build_economics,
    build_loyalty,
)
from engine.specs.frequent import FrequentSpec, build_frequent
from engine.specs.monitorchecks import DROPS, check_metric
from engine.specs.reviews import ReviewsSpec, build_reviews
from engine.time.durations import Duration, DurationError, parse_duration

if TYPE_CHECKING:  # engine.spec holds an InsightSpec, so it is imported for types only
    from engine.specs.pack import StageSelector

LEVELS = ("general", "important", "severe")
METRICS = (
    "count",
    "repeat_contacts",
    "handling_hours",
    "sla_breach_share",
    "satisfaction_avg",
    "keyword_count",
    "stage_share",
    "stage_duration",
    *DROPS,
)
KPI_NAMES = (
    "csat",
    "satisfaction_avg",
    "nps",
    "fcr",
    "response_hours",
    "handling_hours",
    "resolution_hours",
    "sla_attainment",
    "volume",
    *("churn_rate", "repurchase_rate", "referral_rate", "cltv"),
)
# Figures of customers and their orders, not of records: scoped by tier, not channel.
CUSTOMER_KPIS = frozenset({"churn_rate", "repurchase_rate", "referral_rate", "cltv"})
SCOPES = ("channel", "record_type", "tier")

# The question is asked once the record is solved, and still after it is closed.
DEFAULT_ASK_IN = {"kinds": ["resolved", "closed"]}

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class SatisfactionSpec:
    """Which records ask for a score, when, whether NPS too, and how long a link stays valid."""

    record_types: tuple[str, ...]
    ask_in: StageSelector
    nps: bool = False
    link_valid_for: timedelta = timedelta(hours=72)
    # The record field whose value on a form (the close form) is the record's score.
    score_field: str | None = None


@dataclass(frozen=True)
class Baseline:
    """Compare with the same window 1…`weeks` weeks earlier, averaged, never below `floor`."""

    weeks: int = 4
    floor: float = 1.0


@dataclass(frozen=True)
class MonitorSpec:
    """A metric over a sliding window and the level each threshold (or factor) stands for."""

    id: str
    title: str
    metric: str
    window: timedelta
    levels: tuple[tuple[str, float], ...]  # (level, threshold) from general to severe
    direction: Literal["above", "below"] = "above"
    baseline: Baseline | None = None
    where: dict[str, str] = field(default_factory=dict)
    by: str | None = None
    keywords: tuple[str, ...] = ()
    field_name: str = "description"
    min_count: int = 1
    stages: tuple[str, ...] = ()  # stage_share / stage_duration: the stages
    cut: tuple[str, float] | None = None  # stage_duration: (longer_than|shorter_than, seconds)

    def level_for(self, value: float, reference: float | None) -> str | None:
        """The highest level whose threshold the value passes; thresholds are factors of the
        reference when there is a baseline."""
        found = None
        for level, threshold in self.levels:
            limit = threshold * reference if reference is not None else threshold
            passed = value > limit if self.direction == "above" else value < limit
            if passed:
                found = level
        return found


@dataclass(frozen=True)
class WarningFlowSpec:
    """The record type a warning opens (R-6.3), who hears of a severe one, priority per level."""

    record_type: str
    channel: str | None = None
    notify: tuple[str, ...] = ()
    priorities: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class KpiTarget:
    """From `baseline` to `target` (either direction); progress is the share of the way done.

    `where` scopes it (R-4.4: CSAT ≥ 92 % at core touch points): channel and record_type for
    figures of records, tier for figures of customers.
    """

    kpi: str
    title: str
    baseline: float
    target: float
    id: str = ""
    where: dict[str, str] = field(default_factory=dict)

    def progress(self, value: float | None) -> float | None:
        if value is None or self.target == self.baseline:
            return None
        share = (value - self.baseline) / (self.target - self.baseline)
        return max(0.0, min(1.0, share))


@dataclass(frozen=True)
class KpiSpec:
    """How KPIs read this pack: the SLA targets for response and handling, first-contact fixes."""

    response_target: str | None = None
    handling_target: str | None = None
    first_contact: tuple[str, ...] = ()
    targets: tuple[KpiTarget, ...] = ()


@dataclass(frozen=True)
class InsightSpec:
    satisfaction: SatisfactionSpec | None = None
    monitors: tuple[MonitorSpec, ...] = ()
    warnings: WarningFlowSpec | None = None
    kpis: KpiSpec = KpiSpec()
    cutoffs: Cutoffs = Cutoffs()
    economics: EconomicsSpec = EconomicsSpec()
    loyalty: LoyaltySpec | None = None
    reviews: ReviewsSpec = ReviewsSpec()
    frequent: FrequentSpec | None = None


Problem = Callable[[Path, str, str | None], None]


def _counted_in_clear(problem: Problem, monitor: MonitorSpec, types: Mapping[str, Any]) -> None:
    """A keyword monitor reads its field in SQL; a field some record type marks personal is
    stored encrypted (issue #22 item 4), where no query can count its words."""
    if monitor.metric != "keyword_count":
        return
    for tid, rtype in types.items():
        field = getattr(rtype, "fields", {}).get(monitor.field_name)
        if field is not None and field.is_personal:
            problem(
                ("monitors", monitor.id, "field"),
                f"field '{monitor.field_name}' of record type '{tid}' is personal: it is "
                "stored encrypted, so its words cannot be counted",
                "count a field that is not personal, such as description",
            )
            return


def build_insight(
    data: Mapping[str, Any],
    problem: Problem,
    record_types: Mapping[str, Any],
    priorities: Iterable[str],
    selector: Callable[[Path, Mapping[str, Any] | None], StageSelector | None],
) -> InsightSpec:
    """Read the four keys; report problems of meaning through `problem(path, message, hint)`."""
    reader = _Reader(problem)
    satisfaction = None
    if data.get("satisfaction"):
        satisfaction = reader.satisfaction(data["satisfaction"], record_types, selector)
    warnings = None
    if data.get("warnings"):
        warnings = reader.warnings(
            data["warnings"], record_types, list(priorities), data.get("channels") or {}
        )
    known = (data.get("categories") or {}, data.get("channels") or {}, record_types)
    monitors = tuple(
        reader.monitor(mid, m, *known) for mid, m in (data.get("monitors") or {}).items()
    )
    for monitor in monitors:
        _counted_in_clear(problem, monitor, record_types)
    if monitors and warnings is None:
        problem(("monitors",), "monitors raise warnings, but `warnings` is not set", _WARNINGS_HINT)
    return InsightSpec(
        satisfaction,
        monitors,
        warnings,
        reader.kpis(data.get("kpis") or {}, data),
        build_cutoffs(data.get("satisfaction") or {}, problem),
        build_economics(data.get("economics") or {}, problem),
        build_loyalty(data.get("loyalty"), problem),
        build_reviews(data, problem),
        build_frequent(data, problem),
    )


_WARNINGS_HINT = "add `warnings: {record_type: <the response flow's record type>}`"


class _Reader:
    def __init__(self, problem: Problem) -> None:
        self.problem = problem

    def window(self, path: Path, text: str) -> timedelta:
        try:
            duration: Duration = parse_duration(text)
        except DurationError as exc:
            self.problem(path, exc.message, exc.hint)
            return timedelta(hours=1)
        if duration.working:
            self.problem(path, f"'{text}' counts working time", "a window is wall-clock time: 1h")
            return timedelta(hours=1)
        return timedelta(seconds=duration.seconds())

    def satisfaction(
        self,
        data: Mapping[str, Any],
        record_types: Mapping[str, Any],
        selector: Callable[[Path, Mapping[str, Any] | None], StageSelector | None],
    ) -> SatisfactionSpec:
        path: Path = ("satisfaction",)
        types = tuple(data["record_types"])
        for i, tid in enumerate(types):
            if tid not in record_types:
                self.problem((*path, "record_types", i), f"unknown record type '{tid}'", None)
        ask_in = selector((*path, "ask_in"), data.get("ask_in") or DEFAULT_ASK_IN)
        assert ask_in is not None  # a selector is built for any mapping given
        valid = self.window((*path, "link_valid_for"), data.get("link_valid_for", "72h"))
        score_field = data.get("score_field")
        for tid in types:
            fields = getattr(record_types.get(tid), "fields", {})
            if score_field is not None and score_field not in fields:
                self.problem((*path, "score_field"), f"'{tid}' has no field '{score_field}'", None)
        return SatisfactionSpec(types, ask_in, bool(data.get("nps", False)), valid, score_field)

    def warnings(
        self,
        data: Mapping[str, Any],
        record_types: Mapping[str, Any],
        priorities: list[str],
        channels: Mapping[str, Any],
    ) -> WarningFlowSpec:
        path: Path = ("warnings",)
        channel = data.get("channel")
        if channel is None and channels:
            self.problem(path, "a warning's record needs a channel", "add `channel: <id>`")
        elif channel is not None and channel not in channels:
            self.problem((*path, "channel"), f"unknown channel '{channel}'", None)
        if data["record_type"] not in record_types:
            self.problem(
                (*path, "record_type"), f"unknown record type '{data['record_type']}'", None
            )
        mapping = dict(data.get("priorities") or {})
        for level, priority in mapping.items():
            if priority not in priorities:
                self.problem((*path, "priorities", level), f"unknown priority '{priority}'", None)
        return WarningFlowSpec(
            data["record_type"], channel, tuple(data.get("notify") or ()), mapping
        )

    def monitor(
        self,
        mid: str,
        data: Mapping[str, Any],
        categories: Mapping[str, Any],
        channels: Mapping[str, Any],
        record_types: Mapping[str, Any],
    ) -> MonitorSpec:
        path: Path = ("monitors", mid)
        where = self.where(path, data, {"category": categories, "channel": channels})
        direction = data.get("direction", "above")
        ordered = self.levels(path, data["levels"], direction)
        metric = data["metric"]
        keywords = tuple(data.get("keywords") or ())
        if metric == "keyword_count" and not keywords:
            self.problem((*path, "keywords"), "keyword_count needs a list of keywords", None)
        extra = check_metric(self.problem, path, data, record_types)
        baseline = None
        if "baseline" in data:
            b = data["baseline"]
            baseline = Baseline(int(b.get("weeks", 4)), float(b.get("floor", 1.0)))
        return MonitorSpec(
            id=mid,
            title=data.get("title", mid),
            metric=metric,
            window=self.window((*path, "window"), data["window"]),
            levels=ordered,
            direction=direction,
            baseline=baseline,
            where=where,
            by="customer"
            if metric in ("repeat_contacts", "customer_activity_drop")
            else data.get("by"),
            keywords=keywords,
            field_name=data.get("field", "description"),
            min_count=int(data.get("min_count", 1)),
            **extra,
        )

    def where(
        self, path: Path, data: Mapping[str, Any], known: Mapping[str, Mapping[str, Any]]
    ) -> dict[str, str]:
        """The monitor's filter; a category or channel it names must exist."""
        where = {str(k): str(v) for k, v in (data.get("where") or {}).items()}
        for key, value in where.items():
            if key in known and value not in known[key]:
                self.problem((*path, "where", key), f"unknown {key} '{value}'", None)
        return where

    def levels(
        self, path: Path, levels: Mapping[str, Any], direction: str
    ) -> tuple[tuple[str, float], ...]:
        """(level, threshold) from general to severe; thresholds must rise (or fall, below)."""
        ordered = tuple((level, float(levels[level])) for level in LEVELS if level in levels)
        thresholds = [t for _, t in ordered]
        rising = thresholds == sorted(thresholds)
        if len(set(thresholds)) != len(thresholds) or rising != (direction == "above"):
            self.problem(
                (*path, "levels"),
                "thresholds must grow from general to severe"
                if direction == "above"
                else "thresholds must fall from general to severe (direction: below)",
                None,
            )
        return ordered

    def kpis(self, data: Mapping[str, Any], pack: Mapping[str, Any]) -> KpiSpec:
        targets = [self.target(tid, t, pack) for tid, t in (pack.get("kpi_targets") or {}).items()]
        return KpiSpec(
            response_target=data.get("response_target"),
            handling_target=data.get("handling_target"),
            first_contact=tuple(data.get("first_contact") or ()),
            targets=tuple(targets),
        )

    def target(self, tid: str, data: Mapping[str, Any], pack: Mapping[str, Any]) -> KpiTarget:
        """A target of a KPI (its key, or `kpi:`), scoped by `where` to what that KPI reads."""
        path: Path = ("kpi_targets", tid)
        kpi = str(data.get("kpi", tid))
        if kpi not in KPI_NAMES:
            hint = f"known: {', '.join(KPI_NAMES)}"
            self.problem((*path, "kpi") if "kpi" in data else path, f"unknown KPI '{kpi}'", hint)
        where = {str(k): str(v) for k, v in (data.get("where") or {}).items()}
        known = {
            "channel": pack.get("channels") or {},
            "record_type": pack.get("record_types") or {},
            "tier": pack.get("tiers") or {},
        }
        for key, value in where.items():
            customer_scope = key == "tier"
            if customer_scope != (kpi in CUSTOMER_KPIS):
                self.problem(
                    (*path, "where", key),
                    f"'{kpi}' cannot be scoped by {key}",
                    "tier scopes churn_rate, repurchase_rate, referral_rate and cltv; "
                    "channel and record_type scope the figures of records",
                )
            elif value not in known[key]:
                self.problem((*path, "where", key), f"unknown {key} '{value}'", None)
        title = data.get("title", tid)
        return KpiTarget(kpi, title, float(data["from"]), float(data["to"]), tid, where)
