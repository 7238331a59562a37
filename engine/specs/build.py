"""Build a `PackSpec` from pack data and report every problem of meaning with its path.

The JSON Schema checks shapes; this checks sense: targets exist, every stage
is reachable, priorities and calendars referenced exist, durations parse,
expressions compile. Problems are collected, not raised one by one, so an
author sees them all at once (like SpiffWorkflow's `WorkflowSpec.validate`).
"""

from __future__ import annotations

import difflib
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
from engine.specs.expressions import (
    Expression,
    ExpressionError,
    MessageTemplate,
    compile_expression,
    compile_template,
)
from engine.specs.insight import InsightSpec, build_insight
from engine.specs.pack import (
    CORE_FIELDS,
    EXPRESSION_NAMES,
    RESERVED_FIELDS,
    TEMPLATE_NAMES,
    Effect,
    EscalationStep,
    FieldSpec,
    FollowUpSpec,
    FormField,
    MessageSpec,
    Option,
    PackSpec,
    Recipient,
    RecordTypeSpec,
    RoutingRule,
    SlaSpec,
    SlaTargetSpec,
    SlaTerm,
    StageSelector,
    StageSpec,
    TransitionSpec,
)
from engine.time.calendar import BusinessCalendar, validate_config
from engine.time.durations import Duration, DurationError, Offset, parse_duration, parse_offset

Path = tuple[str | int, ...]
DEFAULT_WARNING = 0.8


@dataclass(frozen=True)
class SpecProblem:
    """A problem of meaning at a path of the pack data."""

    path: Path
    message: str
    hint: str | None = None


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


def _suggest(name: str, known: Iterable[str]) -> str:
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=1)
    return f"did you mean '{close[0]}'?" if close else f"known: {', '.join(known) or 'none'}"


class _Builder:
    """Walks pack data once, building values and noting problems."""

    def __init__(self) -> None:
        self.problems: list[SpecProblem] = []

    def problem(self, path: Path, message: str, hint: str | None = None) -> None:
        self.problems.append(SpecProblem(path, message, hint))

    def reference(self, path: Path, kind: str, name: str, known: Iterable[str]) -> bool:
        known = list(known)
        if name in known:
            return True
        self.problem(path, f"unknown {kind} '{name}'", _suggest(name, known))
        return False

    def duration(self, path: Path, text: Any) -> Duration | None:
        try:
            return parse_duration(text)
        except DurationError as exc:
            self.problem(path, exc.message, exc.hint)
            return None

    def expression(self, path: Path, source: str | None) -> Expression | None:
        if source is None:
            return None
        try:
            return compile_expression(source, EXPRESSION_NAMES)
        except ExpressionError as exc:
            self.problem(path, exc.message, exc.hint)
            return None

    def options(self, data: Mapping[str, Any], key: str) -> dict[str, Option]:
        return {
            oid: Option(oid, o.get("title", oid), o.get("description"))
            for oid, o in (data.get(key) or {}).items()
        }

    def pack(self, data: Mapping[str, Any]) -> PackSpec | None:
        try:
            timezone = ZoneInfo(data["timezone"])
        except (ZoneInfoNotFoundError, ValueError, KeyError):
            self.problem(
                ("timezone",),
                f"unknown timezone '{data.get('timezone')}'",
                "use an IANA name such as Asia/Shanghai",
            )
            timezone = ZoneInfo("UTC")
        priorities = tuple(self.options(data, "priorities").values())
        priority_ids = [p.id for p in priorities]
        default_priority = data.get("default_priority") or (
            priority_ids[-1] if priority_ids else ""
        )
        if "default_priority" in data:
            self.reference(("default_priority",), "priority", default_priority, priority_ids)
        departments = self.options(data, "departments")
        calendars = self.calendars(data.get("calendars") or {})
        routing = tuple(
            self.routing_rule(i, r, departments) for i, r in enumerate(data.get("routing") or [])
        )
        context = _PackContext(priority_ids, list(data.get("calendars") or {}))
        record_types = {
            tid: self.record_type(("record_types", tid), tid, t, context)
            for tid, t in (data.get("record_types") or {}).items()
        }
        categories = self.options(data, "categories")
        channels = self.options(data, "channels")
        for i, category in enumerate(data.get("complaint_categories") or []):
            self.reference(("complaint_categories", i), "category", category, categories)
        messages = self.messages(data.get("messages") or {})
        tiers = {
            tid: self.tier(
                ("tiers", tid), tid, t, record_types, departments, priority_ids, channels
            )
            for tid, t in (data.get("tiers") or {}).items()
        }
        care = _CareContext(
            tiers,
            record_types,
            [m.name for m in messages],
            priority_ids,
            channels,
            list(data.get("calendars") or {}),
        )
        campaigns = {
            cid: self.campaign(("campaigns", cid), cid, c, care, calendars)
            for cid, c in (data.get("campaigns") or {}).items()
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
            recipients=self.recipients(data.get("messages") or {}),
            messages=messages,
            complaint_categories=tuple(data.get("complaint_categories") or ()),
            tiers=tiers,
            campaigns=campaigns,
            insight=self.insight(data, record_types, priority_ids),
        )

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
            for audience, r in (data.get("recipients") or {}).items()
        }

    def messages(self, data: Mapping[str, Any]) -> tuple[MessageSpec, ...]:
        specs = []
        for name, m in (data.get("templates") or {}).items():
            path: Path = ("messages", "templates", name)
            subject = self.template((*path, "subject"), m["subject"])
            body = self.template((*path, "body"), m["body"])
            if subject is not None and body is not None:
                specs.append(MessageSpec(name, tuple(m.get("on", [])), subject, body))
        return tuple(specs)

    def template(self, path: Path, source: str) -> MessageTemplate | None:
        try:
            return compile_template(source, TEMPLATE_NAMES)
        except ExpressionError as exc:
            self.problem(path, exc.message, exc.hint)
            return None

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

    def record_type(
        self, path: Path, tid: str, data: Mapping[str, Any], ctx: _PackContext
    ) -> RecordTypeSpec:
        for fid in data.get("fields") or {}:
            if fid in RESERVED_FIELDS:
                self.problem(
                    (*path, "fields", fid),
                    f"'{fid}' is a reserved field name",
                    "rename the field, e.g. " + f"'{fid}_value'",
                )
        fields = {
            fid: FieldSpec(
                id=fid,
                type=f["type"],
                label=f.get("label", fid),
                required=f.get("required", False),
                multiline=f.get("multiline", False),
                mask=f.get("mask"),
                choices={str(k): v for k, v in (f.get("choices") or {}).items()},
                min=f.get("min"),
                max=f.get("max"),
                help=f.get("help"),
            )
            for fid, f in (data.get("fields") or {}).items()
        }
        stages = {
            sid: StageSpec(sid, s["kind"], s.get("title", sid)) for sid, s in data["stages"].items()
        }
        initial = data["initial"]
        if (
            self.reference((*path, "initial"), "stage", initial, stages)
            and stages[initial].kind == "closed"
        ):
            self.problem(
                (*path, "initial"),
                f"initial stage '{initial}' is closed",
                "a record must start in an open stage",
            )
        transitions = {
            xid: self.transition((*path, "transitions", xid), xid, x, stages, fields)
            for xid, x in (data.get("transitions") or {}).items()
        }
        if initial in stages:
            self.check_reachable(path, initial, stages, transitions)
        sla = self.sla((*path, "sla"), data["sla"], stages, ctx) if data.get("sla") else None
        followups = {
            name: self.followup((*path, "followups", name), name, f, stages, ctx)
            for name, f in (data.get("followups") or {}).items()
        }
        return RecordTypeSpec(
            tid, data.get("title", tid), fields, stages, initial, transitions, sla, followups
        )

    def transition(
        self,
        path: Path,
        xid: str,
        data: Mapping[str, Any],
        stages: Mapping[str, StageSpec],
        fields: Mapping[str, FieldSpec],
    ) -> TransitionSpec:
        for i, source in enumerate(data["from"]):
            self.reference((*path, "from", i), "stage", source, stages)
        self.reference((*path, "to"), "stage", data["to"], stages)
        form = []
        for i, entry in enumerate(data.get("form") or []):
            item = (
                FormField(entry)
                if isinstance(entry, str)
                else FormField(entry["field"], entry.get("required", False), entry.get("label"))
            )
            where = (*path, "form", i) if isinstance(entry, str) else (*path, "form", i, "field")
            self.reference(where, "field", item.field, [*fields, *CORE_FIELDS])
            form.append(item)
        effects = []
        for i, effect in enumerate(data.get("effects") or []):
            if "set" in effect:
                for name in effect["set"]:
                    self.reference((*path, "effects", i, "set", name), "field", name, fields)
                effects.append(Effect("set", dict(effect["set"])))
            else:
                effects.append(Effect("assign"))
        return TransitionSpec(
            id=xid,
            title=data.get("title", xid),
            sources=tuple(data["from"]),
            target=data["to"],
            form=tuple(form),
            guard=self.expression((*path, "guard"), data.get("guard")),
            effects=tuple(effects),
        )

    def check_reachable(
        self,
        path: Path,
        initial: str,
        stages: Mapping[str, StageSpec],
        transitions: Mapping[str, TransitionSpec],
    ) -> None:
        seen, queue = {initial}, deque([initial])
        while queue:
            current = queue.popleft()
            for t in transitions.values():
                if current in t.sources and t.target not in seen:
                    seen.add(t.target)
                    queue.append(t.target)
        for sid in stages:
            if sid not in seen:
                self.problem(
                    (*path, "stages", sid),
                    f"stage '{sid}' cannot be reached",
                    f"add a transition into it, starting from '{initial}'",
                )

    def selector(
        self, path: Path, data: Mapping[str, Any] | None, stages: Mapping[str, StageSpec]
    ) -> StageSelector | None:
        if data is None:
            return None
        for i, sid in enumerate(data.get("stages", [])):
            self.reference((*path, "stages", i), "stage", sid, stages)
        return StageSelector(frozenset(data.get("stages", [])), frozenset(data.get("kinds", [])))

    def sla(
        self,
        path: Path,
        data: Mapping[str, Any],
        stages: Mapping[str, StageSpec],
        ctx: _PackContext,
    ) -> SlaSpec:
        warning = _percent(data.get("warning"), DEFAULT_WARNING)
        targets = {}
        for name, t in data["targets"].items():
            on: Literal["leaving", "entering"] = (
                "leaving" if "leaving" in t["met_by"] else "entering"
            )
            selector = self.selector(
                (*path, "targets", name, "met_by", on), t["met_by"][on], stages
            )
            targets[name] = SlaTargetSpec(
                name, t.get("title", name), on, selector or StageSelector()
            )
        policies: dict[str, dict[str, SlaTerm]] = {}
        for priority, terms in data["policies"].items():
            ppath = (*path, "policies", priority)
            self.reference(ppath, "priority", priority, ctx.priorities)
            policies[priority] = {}
            for target, term in terms.items():
                tpath = (*ppath, target)
                self.reference(tpath, "SLA target", target, targets)
                within = self.duration((*tpath, "within"), term["within"])
                if (
                    self.reference(
                        (*tpath, "calendar"), "calendar", term["calendar"], ctx.calendar_names
                    )
                    and within is not None
                ):
                    policies[priority][target] = SlaTerm(
                        target, within, term["calendar"], _percent(term.get("warning"), warning)
                    )
        escalation = tuple(
            EscalationStep(
                index=i,
                at=step["at"],
                after=self.duration((*path, "escalation", i, "after"), step["after"])
                if "after" in step
                else None,
                notify=tuple(step.get("notify", [])),
                raise_priority=step.get("raise_priority", False),
            )
            for i, step in enumerate(data.get("escalation") or [])
        )
        return SlaSpec(
            targets,
            policies,
            escalation,
            self.selector((*path, "pause_in"), data.get("pause_in"), stages),
        )

    def followup(
        self,
        path: Path,
        name: str,
        data: Mapping[str, Any],
        stages: Mapping[str, StageSpec],
        ctx: _PackContext,
    ) -> FollowUpSpec:
        calendar = data.get("calendar")
        if calendar is not None:
            self.reference((*path, "calendar"), "calendar", calendar, ctx.calendar_names)
        key = "every" if "every" in data else "after"
        amount = self.duration((*path, key), data[key])
        if amount is not None and amount.working and calendar is None:
            self.problem(
                (*path, key),
                f"'{amount.text}' counts working time but no calendar is set",
                "add `calendar: <name>` to this follow-up",
            )
        return FollowUpSpec(
            name=name,
            title=data.get("title", name),
            every=amount if key == "every" else None,
            while_in=self.selector((*path, "while_in"), data.get("while_in"), stages),
            after=amount if key == "after" else None,
            on_entering=self.selector((*path, "on_entering"), data.get("on_entering"), stages),
            calendar=calendar,
            catch_up=data.get("catch_up", "coalesce"),
        )

    def offset(self, path: Path, text: Any) -> Offset | None:
        try:
            return parse_offset(text)
        except DurationError as exc:
            self.problem(path, exc.message, exc.hint)
            return None

    def tier_rule(self, path: Path, data: Mapping[str, Any]) -> TierRule:
        ranges = {
            m: Bounds(data[m].get("min"), data[m].get("max")) for m in RANGE_METRICS if m in data
        }
        offsets = {}
        for metric in OFFSET_METRICS:
            if metric in data and (offset := self.offset((*path, metric), data[metric])):
                offsets[metric] = offset
        return TierRule(ranges, offsets)

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
        return TierSpec(
            id=tid,
            title=data["title"],
            rules=tuple(rules),
            serve_first=data.get("serve_first", False),
            department=department,
            on_enter=self.task((*path, "on_enter"), on_enter, record_types, priorities, channels)
            if on_enter
            else None,
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
        for name in data.get("set") or {}:
            self.reference((*path, "set", name), "field", name, rtype.fields)
        priority = data.get("priority")
        if priority is not None:
            self.reference((*path, "priority"), "priority", priority, priorities)
        channel = data.get("channel")
        if channel is not None:
            self.reference((*path, "channel"), "channel", channel, channels)
        elif channels:
            self.problem(path, "missing required key 'channel'", "this pack records a channel")
        return TaskSpec(rtype_id, dict(data.get("set") or {}), priority, channel)

    def campaign(
        self,
        path: Path,
        cid: str,
        data: Mapping[str, Any],
        care: _CareContext,
        calendars: Mapping[str, BusinessCalendar],
    ) -> CampaignSpec:
        audience = data.get("audience") or {}
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
        care: _CareContext,
        calendars: Mapping[str, BusinessCalendar],
    ) -> TriggerSpec:
        on = data["on"]
        needs = {
            "birthday": ("at",),
            "holiday": ("at", "calendar"),
            "purchase": ("after",),
            "shipment": ("after",),
            "tier_entered": ("tier",),
        }[on]
        for key in needs:
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


@dataclass(frozen=True)
class _CareContext:
    """What tiers and campaigns may refer to."""

    tiers: Mapping[str, TierSpec]
    record_types: Mapping[str, RecordTypeSpec]
    templates: list[str]
    priorities: list[str]
    channels: Mapping[str, Option]
    calendar_names: list[str]


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class _PackContext:
    """What record types may refer to; calendar names are the declared ones, valid or not."""

    priorities: list[str]
    calendar_names: list[str]


def _percent(text: str | None, default: float) -> float:
    return default if text is None else float(str(text).rstrip("%")) / 100
