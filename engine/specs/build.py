"""Build a `PackSpec` from pack data and report every problem of meaning with its path.

The JSON Schema checks shapes; this checks sense: targets exist, every stage
is reachable, priorities and calendars referenced exist, durations parse,
expressions compile. Problems are collected, not raised one by one, so an
author sees them all at once (like SpiffWorkflow's `WorkflowSpec.validate`).

This module reads the pack-wide lists; record types are built by `build_records`, tiers and
campaigns by `build_care`, the insight keys by `insight`, and `problems` holds what they share.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.specs.answering import AnsweringSpec, parse_quiet_hours
from engine.specs.build_canned import build_canned
from engine.specs.build_care import CareBuilder
from engine.specs.build_instant import build_instant
from engine.specs.build_portal import build_portal
from engine.specs.build_records import PackContext, RecordTypeBuilder
from engine.specs.expressions import MessageTemplate
from engine.specs.insight import InsightSpec, build_insight
from engine.specs.pack import (
    IntakeSpec,
    MessageSpec,
    Option,
    PackSpec,
    Recipient,
    RecordTypeSpec,
    RoutingRule,
    StageSelector,
)
from engine.specs.problems import Path, SpecProblem, entries, section
from engine.time.calendar import BusinessCalendar, validate_config

__all__ = ["SpecProblem", "build_pack_spec", "jsonable"]


def jsonable(value: Any) -> Any:
    """Pack data as JSON: YAML dates become ISO text, so a version can be stored and rebuilt."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def build_pack_spec(data: Mapping[str, Any]) -> tuple[PackSpec | None, list[SpecProblem]]:
    """Return the spec, or None and the list of problems. `data` has passed the schema."""
    builder = _Builder()
    spec = builder.pack(jsonable(data))
    return (None, builder.problems) if builder.problems else (spec, [])


class _Builder(RecordTypeBuilder, CareBuilder):
    """Walks pack data once, building values and noting problems."""

    def pack(self, data: Mapping[str, Any]) -> PackSpec | None:
        timezone = self.timezone(data)
        priorities = tuple(self.options(data, "priorities").values())
        priority_ids = [p.id for p in priorities]
        default_priority = self.default_priority(data, priority_ids)
        departments = self.options(data, "departments")
        calendars = self.calendars(section(data, "calendars"))
        routing = tuple(
            self.routing_rule(i, r, departments) for i, r in enumerate(entries(data, "routing"))
        )
        context = PackContext(
            priority_ids,
            list(section(data, "calendars")),
            list(section(section(data, "messages"), "templates")),
            {key: list(section(data, f"{key}s")) for key in ("channel", "tier")}
            | {"category": list(section(data, "categories"))}
            | {"loyalty_level": list(section(section(data, "loyalty"), "levels"))},
        )
        record_types = {
            tid: self.record_type(("record_types", tid), tid, t, context)
            for tid, t in section(data, "record_types").items()
        }
        categories = self.options(data, "categories")
        channels = self.options(data, "channels")
        for i, category in enumerate(entries(data, "complaint_categories")):
            self.reference(("complaint_categories", i), "category", category, categories)
        messages = self.messages(section(data, "messages"))
        tiers, campaigns = self.care(
            data, record_types, departments, priority_ids, channels, messages, calendars
        )
        intake = {
            channel: self.intake(
                ("intake", channel), i, channels, departments, record_types, context
            )
            for channel, i in section(data, "intake").items()
        }
        return PackSpec(
            name=data["name"],
            title=data["title"],
            timezone=timezone,
            priorities=priorities,
            default_priority=default_priority,
            channels=channels,
            categories=categories,
            departments=departments,
            routing=routing,
            calendars=calendars,
            record_types=record_types,
            recipients=self.recipients(section(data, "messages")),
            messages=messages,
            complaint_categories=tuple(entries(data, "complaint_categories")),
            tiers=tiers,
            campaigns=campaigns,
            intake=intake,
            answering=self.answering(section(data, "answering"), channels),
            insight=self.insight(data, record_types, priority_ids),
            canned_responses=build_canned(self, data, record_types),
            instant_answers=build_instant(self, data, intake),
            portal=build_portal(self, data.get("portal"), channels, record_types),
        )

    def timezone(self, data: Mapping[str, Any]) -> ZoneInfo:
        try:
            return ZoneInfo(data["timezone"])
        except (ZoneInfoNotFoundError, ValueError, KeyError):
            self.problem(
                ("timezone",),
                f"unknown timezone '{data.get('timezone')}'",
                "use an IANA name such as Asia/Shanghai",
            )
            return ZoneInfo("UTC")

    def default_priority(self, data: Mapping[str, Any], priorities: list[str]) -> str:
        """The one given, which must exist, else the last (lowest) priority."""
        default: str = data.get("default_priority") or (priorities[-1] if priorities else "")
        if "default_priority" in data:
            self.reference(("default_priority",), "priority", default, priorities)
        return default

    def options(self, data: Mapping[str, Any], key: str) -> dict[str, Option]:
        return {
            oid: Option(oid, o.get("title", oid), o.get("description"))
            for oid, o in section(data, key).items()
        }

    def insight(
        self,
        data: Mapping[str, Any],
        record_types: Mapping[str, RecordTypeSpec],
        priorities: list[str],
    ) -> InsightSpec:
        """Satisfaction, monitors, warnings and KPI targets (issue #8), read by their own module."""
        stages = {sid: s for t in record_types.values() for sid, s in t.stages.items()}

        def selector(path: Path, given: Mapping[str, Any] | None) -> StageSelector | None:
            return self.selector(path, given, stages)

        return build_insight(data, self.problem, record_types, priorities, selector)

    def recipients(self, data: Mapping[str, Any]) -> dict[str, Recipient]:
        return {
            audience: Recipient(audience, tuple(r.get("email", [])), r.get("webhook", False))
            for audience, r in section(data, "recipients").items()
        }

    def messages(self, data: Mapping[str, Any]) -> tuple[MessageSpec, ...]:
        specs = []
        for name, m in section(data, "templates").items():
            path: Path = ("messages", "templates", name)
            subject = self.template((*path, "subject"), m["subject"])
            body = self.template((*path, "body"), m["body"])
            by_channel = self.channel_texts(path, m, m["subject"])
            if subject is not None and body is not None:
                specs.append(MessageSpec(name, tuple(m.get("on", [])), subject, body, by_channel))
        return tuple(specs)

    def channel_texts(
        self, path: Path, data: Mapping[str, Any], subject: str
    ) -> dict[str, tuple[MessageTemplate, MessageTemplate]]:
        """A template's own wording per channel (an SMS is short); its subject defaults to the
        template's. Channels are checked where the message is sent: any channel may be named."""
        texts = {}
        for channel, t in section(data, "channels").items():
            where: Path = (*path, "channels", channel)
            own_subject = self.template((*where, "subject"), t.get("subject", subject))
            own_body = self.template((*where, "body"), t["body"])
            if own_subject is not None and own_body is not None:
                texts[channel] = (own_subject, own_body)
        return texts

    def calendars(self, data: Mapping[str, Any]) -> dict[str, BusinessCalendar]:
        calendars = {}
        for name, config in data.items():
            errors = validate_config(config)
            for error in errors:
                self.problem(("calendars", name, *error.path), error.message, error.hint)
            if not errors:
                calendars[name] = BusinessCalendar.from_config(name, config)
        return calendars

    def routing_rule(
        self, index: int, rule: Mapping[str, Any], departments: Mapping[str, Option]
    ) -> RoutingRule:
        path: Path = ("routing", index)
        self.reference((*path, "department"), "department", rule["department"], departments)
        return RoutingRule(rule["department"], self.expression((*path, "when"), rule.get("when")))

    def answering(self, data: Mapping[str, Any], channels: Mapping[str, Option]) -> AnsweringSpec:
        """`answering:` names only the pack's channels; quiet hours are clock-time windows."""
        known = list(channels)
        path: Path = ("answering",)
        by_channel = dict(section(data, "by_channel"))
        for source, target in by_channel.items():
            if known and self.reference((*path, "by_channel", source), "channel", source, known):
                self.reference((*path, "by_channel", source), "channel", target, known)
        quiet = {}
        for name, text in section(data, "quiet_hours").items():
            if known:
                self.reference((*path, "quiet_hours", name), "channel", name, known)
            window = parse_quiet_hours(str(text))
            if window is None:
                self.problem(
                    (*path, "quiet_hours", name),
                    f"'{text}' is not a window of two different clock times",
                    'write it as "21:00-08:00" (24-hour clock, in the pack\'s timezone)',
                )
            else:
                quiet[name] = window
        if "gateways" not in data:
            return AnsweringSpec(by_channel, quiet)
        for i, name in enumerate(data["gateways"]):
            if known:
                self.reference((*path, "gateways", i), "channel", name, known)
        return AnsweringSpec(by_channel, quiet, tuple(data["gateways"]))

    def intake(
        self,
        path: Path,
        data: Mapping[str, Any],
        channels: Mapping[str, Option],
        departments: Mapping[str, Option],
        record_types: Mapping[str, RecordTypeSpec],
        ctx: PackContext,
    ) -> IntakeSpec:
        """A channel's intake names a channel, a record type with a text field, a priority."""
        channel = str(path[-1])
        self.reference(path, "channel", channel, channels)
        department = data.get("department")
        if department is not None:
            self.reference((*path, "department"), "department", department, departments)
        rtype = record_types.get(data["record_type"])
        if not self.reference(
            (*path, "record_type"), "record type", data["record_type"], record_types
        ):
            rtype = None
        priority = data.get("priority")
        if priority is not None:
            self.reference((*path, "priority"), "priority", priority, ctx.priorities)
        text_field = data.get("text_field") or _first_text_field(rtype)
        if rtype is not None and text_field not in rtype.fields:
            self.problem(
                (*path, "text_field"),
                f"record type '{rtype.id}' has no text field '{text_field}'",
                "name a text field of the record type as text_field",
            )
        return IntakeSpec(
            channel, data["record_type"], priority, data.get("department"), text_field
        )


def _first_text_field(rtype: RecordTypeSpec | None) -> str:
    """The record type's first required text field: where a message's words belong."""
    if rtype is None:
        return ""
    texts = [f for f in rtype.fields.values() if f.type == "text"]
    chosen = next((f for f in texts if f.required), texts[0] if texts else None)
    return chosen.id if chosen is not None else ""
