"""Build a pack's customer care: tiers with their rules and on-entry tasks, and campaigns.

The part of the pack builder that checks what concerns customers rather than records (R-5.1–
R-5.3): the tiers, record types, templates and calendars a tier or campaign names exist, and a
trigger has what its occasion needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from typing import Any

from engine.specs.care import (
    OFFSET_METRICS,
    RANGE_METRICS,
    Bounds,
    CampaignSpec,
    TaskSpec,
    TierRule,
    TierSpec,
    TriggerSpec,
)
from engine.specs.expressions import ExpressionError, compile_expression
from engine.specs.pack import MessageSpec, Option, RecordTypeSpec
from engine.specs.problems import Path, ProblemLog, section
from engine.time.calendar import BusinessCalendar

# The keys each trigger needs besides `on`.
TRIGGER_NEEDS = {
    "birthday": ("at",),
    "holiday": ("at", "calendar"),
    "purchase": ("after",),
    "shipment": ("after",),
    "tier_entered": ("tier",),
}


@dataclass(frozen=True)
class CareContext:
    """What tiers and campaigns may refer to."""

    tiers: Mapping[str, TierSpec]
    record_types: Mapping[str, RecordTypeSpec]
    templates: list[str]
    priorities: list[str]
    channels: Mapping[str, Option]
    calendar_names: list[str]


class CareBuilder(ProblemLog):
    """Builds tiers and campaigns, noting problems of meaning."""

    # The pack's loyalty levels and their thresholds, which tier rules may name.
    loyalty_levels: list[tuple[str, int]]

    def care(
        self,
        data: Mapping[str, Any],
        record_types: Mapping[str, RecordTypeSpec],
        departments: Mapping[str, Option],
        priorities: list[str],
        channels: Mapping[str, Option],
        messages: tuple[MessageSpec, ...],
        calendars: Mapping[str, BusinessCalendar],
    ) -> tuple[dict[str, TierSpec], dict[str, CampaignSpec]]:
        """The tiers, then the campaigns (which may name the tiers)."""
        loyalty = section(data, "loyalty")
        levels = section(loyalty, "levels").items()
        self.loyalty_levels = [(str(k), int(v["from"])) for k, v in levels]
        tiers = {
            tid: self.tier(("tiers", tid), tid, t, record_types, departments, priorities, channels)
            for tid, t in section(data, "tiers").items()
        }
        care = CareContext(
            tiers,
            record_types,
            [m.name for m in messages],
            priorities,
            channels,
            list(section(data, "calendars")),
        )
        for tid, tier in tiers.items():
            if tier.welcome is not None:
                path = ("tiers", tid, "welcome", "message")
                self.reference(path, "message template", tier.welcome, care.templates)
        campaigns = {
            cid: self.campaign(("campaigns", cid), cid, c, care, calendars)
            for cid, c in section(data, "campaigns").items()
        }
        return tiers, campaigns

    def tier_rule(self, path: Path, data: Mapping[str, Any]) -> TierRule:
        ranges = {
            m: Bounds(data[m].get("min"), data[m].get("max")) for m in RANGE_METRICS if m in data
        }
        if "loyalty_level" in data:
            ranges["loyalty_points"] = self.loyalty_bounds((*path, "loyalty_level"), data)
        offsets = {}
        for metric in OFFSET_METRICS:
            if metric in data and (offset := self.offset((*path, metric), data[metric])):
                offsets[metric] = offset
        return TierRule(ranges, offsets)

    def loyalty_bounds(self, path: Path, data: Mapping[str, Any]) -> Bounds:
        """A loyalty level range as the points the levels start at (R-5.4): tiers are computed
        in SQL from the unexpired balance, so a level is its threshold there."""
        if "loyalty_points" in data:
            self.problem(path, "give loyalty_level or loyalty_points, not both", None)
        levels = dict(self.loyalty_levels)
        bounds: dict[str, float | None] = {"min": None, "max": None}
        for key, level in data["loyalty_level"].items():
            if self.reference((*path, key), "loyalty level", level, levels):
                bounds[key] = float(levels[level])
        return Bounds(bounds["min"], bounds["max"])

    def tier(
        self,
        path: Path,
        tid: str,
        data: Mapping[str, Any],
        record_types: Mapping[str, RecordTypeSpec],
        departments: Mapping[str, Option],
        priorities: list[str],
        channels: Mapping[str, Option],
    ) -> TierSpec:
        if "when" in data and "any" in data:
            self.problem((*path, "any"), "a tier has `when` or `any`, not both", "keep one")
        rules = [self.tier_rule((*path, "when"), data["when"])] if "when" in data else []
        rules += [self.tier_rule((*path, "any", i), r) for i, r in enumerate(data.get("any", []))]
        department = data.get("department")
        if department is not None:
            self.reference((*path, "department"), "department", department, departments)
        on_enter = data.get("on_enter")
        welcome = section(data, "welcome")
        return TierSpec(
            id=tid,
            title=data["title"],
            rules=tuple(rules),
            serve_first=data.get("serve_first", False),
            department=department,
            on_enter=self.task((*path, "on_enter"), on_enter, record_types, priorities, channels)
            if on_enter
            else None,
            welcome=welcome.get("message"),
            welcome_purpose=welcome.get("purpose", "marketing"),
        )

    def task(
        self,
        path: Path,
        data: Mapping[str, Any],
        record_types: Mapping[str, RecordTypeSpec],
        priorities: list[str],
        channels: Mapping[str, Option],
    ) -> TaskSpec | None:
        rtype_id = data["record_type"]
        if not self.reference((*path, "record_type"), "record type", rtype_id, record_types):
            return None
        rtype = record_types[rtype_id]
        if not any(f.type == "customer" for f in rtype.fields.values()):
            self.problem(
                (*path, "record_type"),
                f"record type '{rtype_id}' has no field of type customer",
                "a task is about a customer: add a `type: customer` field to it",
            )
        for name in section(data, "set"):
            self.reference((*path, "set", name), "field", name, rtype.fields)
        priority = data.get("priority")
        if priority is not None:
            self.reference((*path, "priority"), "priority", priority, priorities)
        channel = data.get("channel")
        if channel is not None:
            self.reference((*path, "channel"), "channel", channel, channels)
        elif channels:
            self.problem(path, "missing required key 'channel'", "this pack records a channel")
        return TaskSpec(rtype_id, dict(section(data, "set")), priority, channel)

    def campaign(
        self,
        path: Path,
        cid: str,
        data: Mapping[str, Any],
        care: CareContext,
        calendars: Mapping[str, BusinessCalendar],
    ) -> CampaignSpec:
        audience = section(data, "audience")
        for i, tier in enumerate(audience.get("tiers", [])):
            self.reference((*path, "audience", "tiers", i), "tier", tier, care.tiers)
        when = None
        if "when" in audience:
            try:
                when = compile_expression(audience["when"], ("customer",))
            except ExpressionError as exc:
                self.problem((*path, "audience", "when"), exc.message, exc.hint)
        message = data.get("message")
        if message is not None:
            self.reference((*path, "message"), "message template", message, care.templates)
        task = data.get("task")
        quiet = data.get("quiet_hours")
        cap = data.get("cap")
        cap_per = self.offset((*path, "cap", "per"), cap["per"]) if cap else None
        late = data.get("send_late_within", "1 day")
        return CampaignSpec(
            id=cid,
            title=data["title"],
            trigger=self.trigger((*path, "trigger"), data["trigger"], care, calendars),
            purpose=data.get("purpose", "marketing" if message is not None else "service"),
            tiers=frozenset(audience.get("tiers", [])),
            when=when,
            message=message,
            task=self.task((*path, "task"), task, care.record_types, care.priorities, care.channels)
            if task
            else None,
            quiet_hours=(_clock(quiet[:5]), _clock(quiet[6:])) if quiet else None,
            cap=(cap["max"], cap_per) if cap and cap_per else None,
            send_late_within=self.offset((*path, "send_late_within"), late),
        )

    def trigger(
        self,
        path: Path,
        data: Mapping[str, Any],
        care: CareContext,
        calendars: Mapping[str, BusinessCalendar],
    ) -> TriggerSpec:
        on = data["on"]
        for key in TRIGGER_NEEDS[on]:
            if key not in data:
                self.problem(path, f"missing required key '{key}'", f"a {on} trigger needs '{key}'")
        calendar = data.get("calendar")
        if (
            calendar is not None
            and self.reference((*path, "calendar"), "calendar", calendar, care.calendar_names)
            and calendar in calendars  # an invalid calendar is reported where it is declared
        ):
            if calendars[calendar].holiday_country is None:
                self.problem(
                    (*path, "calendar"),
                    f"calendar '{calendar}' has no public holidays",
                    "add `holidays: {country: CN}` to it, or name one that has them",
                )
        tier = data.get("tier")
        if tier is not None:
            self.reference((*path, "tier"), "tier", tier, care.tiers)
        after = data.get("after")
        return TriggerSpec(
            on=on,
            at=_clock(data["at"]) if "at" in data else None,
            calendar=calendar,
            after=self.offset((*path, "after"), after) if after is not None else None,
            tier=tier,
        )


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))
