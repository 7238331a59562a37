"""What a pack declares about customer economics and loyalty, and how it reads satisfaction.

Frozen values built from the pack keys `economics` (churn, repurchase, referral and CLTV
windows, R-4.3), `loyalty` (points per spend, survey answer and referral, expiry and levels,
R-5.4) and the scale and cut-offs of `satisfaction` (R-4.1, R-4.3). They were constants in
Python (4–5 of 1–5 is satisfied, NPS 9/6, a 365-day year); as pack data a pack with a 1–10
scale or a two-year churn window says so instead of forking the code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.time.durations import DurationError, Offset, parse_offset

Path = tuple[str | int, ...]
Problem = Callable[[Path, str, str | None], None]


@dataclass(frozen=True)
class Cutoffs:
    """How scores count (R-4.3): satisfied from `satisfied_at_least` on the pack's scale;
    NPS promoters from `promoter_at_least`, detractors up to `detractor_at_most` (0–10)."""

    scale_min: int = 1
    scale_max: int = 5
    satisfied_at_least: int = 4
    promoter_at_least: int = 9
    detractor_at_most: int = 6

    def reading(self) -> list[int]:
        """The cut-offs as the rollup stores them with a day it read (`rollup_days.cutoffs`)."""
        return [self.satisfied_at_least, self.promoter_at_least, self.detractor_at_most]


@dataclass(frozen=True)
class EconomicsSpec:
    """The windows of churn, repurchase, referral and CLTV (R-4.3), measured back from now.

    churned: a customer with an order before `churn_after` ago and none since;
    repurchased: a customer with an order in `repurchase_window` and an earlier one;
    referral: a customer whose first order falls in `repurchase_window`, referred by another;
    CLTV: average order value × orders per buyer per year × `lifespan_years`, over
    `cltv_window`.
    """

    churn_after: Offset = field(default_factory=lambda: parse_offset("365 days"))
    repurchase_window: Offset = field(default_factory=lambda: parse_offset("365 days"))
    cltv_window: Offset = field(default_factory=lambda: parse_offset("365 days"))
    lifespan_years: float = 3.0


@dataclass(frozen=True)
class LoyaltySpec:
    """Points per spend (per whole unit of an order's amount), per satisfaction answer and per
    referral; how long points last; levels by balance, lowest first (R-5.4)."""

    per_spend: float = 0.0
    per_answer: int = 0
    per_referral: int = 0
    expire_after: Offset | None = None
    levels: tuple[tuple[str, int], ...] = ()
    titles: dict[str, str] = field(default_factory=dict)  # level id → what people read


def build_cutoffs(data: Mapping[str, Any], problem: Problem) -> Cutoffs:
    """The satisfaction scale and cut-offs; each must lie on its scale."""
    scale = data.get("scale") or {}
    nps = data.get("nps_cutoffs") or {}
    cut = Cutoffs(
        int(scale.get("min", 1)),
        int(scale.get("max", 5)),
        int(data.get("satisfied_at_least", 4)),
        int(nps.get("promoter_at_least", 9)),
        int(nps.get("detractor_at_most", 6)),
    )
    path: Path = ("satisfaction",)
    if cut.scale_min >= cut.scale_max:
        problem((*path, "scale"), "the scale's min must lie below its max", None)
    if not cut.scale_min <= cut.satisfied_at_least <= cut.scale_max:
        problem((*path, "satisfied_at_least"), "satisfied_at_least lies outside the scale", None)
    if not 0 <= cut.detractor_at_most < cut.promoter_at_least <= 10:
        problem(
            (*path, "nps_cutoffs"),
            "NPS cut-offs must satisfy 0 ≤ detractor_at_most < promoter_at_least ≤ 10",
            "the usual ones: {promoter_at_least: 9, detractor_at_most: 6}",
        )
    return cut


def build_economics(data: Mapping[str, Any], problem: Problem) -> EconomicsSpec:
    default = EconomicsSpec()
    cltv = data.get("cltv") or {}
    return EconomicsSpec(
        churn_after=_window(data, ("economics",), "churn_after", default.churn_after, problem),
        repurchase_window=_window(
            data, ("economics",), "repurchase_window", default.repurchase_window, problem
        ),
        cltv_window=_window(cltv, ("economics", "cltv"), "window", default.cltv_window, problem),
        lifespan_years=float(cltv.get("lifespan_years", default.lifespan_years)),
    )


def _window(
    data: Mapping[str, Any], path: Path, key: str, fallback: Offset, problem: Problem
) -> Offset:
    """The offset under `key`, else the default; a bad one is a problem at its path."""
    if key not in data:
        return fallback
    try:
        return parse_offset(data[key])
    except DurationError as exc:
        problem((*path, key), exc.message, exc.hint)
        return fallback


def build_loyalty(data: Mapping[str, Any] | None, problem: Problem) -> LoyaltySpec | None:
    """The programme, or None when the pack has none; level thresholds must rise."""
    if not data:
        return None
    points = data.get("points") or {}
    expire_after = None
    if "expire_after" in data:
        try:
            expire_after = parse_offset(data["expire_after"])
        except DurationError as exc:
            problem(("loyalty", "expire_after"), exc.message, exc.hint)
    given = data.get("levels") or {}
    levels = tuple((str(k), int(v["from"])) for k, v in given.items())
    thresholds = [t for _, t in levels]
    if thresholds != sorted(set(thresholds)):
        problem(("loyalty", "levels"), "level thresholds must rise, lowest level first", None)
    return LoyaltySpec(
        float(points.get("per_spend", 0)),
        int(points.get("per_answer", 0)),
        int(points.get("per_referral", 0)),
        expire_after,
        levels,
        {str(k): str(v.get("title", k)) for k, v in given.items()},
    )
