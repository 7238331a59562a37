"""Run a scenario on a virtual clock in a throwaway in-memory database (`careloop simulate`).

Operations staff test a process before publishing it: records are created
and moved at given times, and every timer fires when virtual time reaches it,
exactly as the scheduler would fire it in production.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from engine.conversation.addressing import answer_channel
from engine.customers import satisfaction
from engine.customers.surveylinks import SurveyLinks
from engine.errors import CareloopError
from engine.records import transitions
from engine.records.intake import NewRecord
from engine.records.simfigures import read_figures
from engine.records.simreviews import actions, mailed, review_until
from engine.records.versions import PackSource
from engine.services import Services
from engine.specs.build import build_pack_spec
from engine.specs.pack import RecordTypeSpec
from engine.store.db import make_engine, make_session_factory
from engine.store.migrate import upgrade
from engine.store.models import (
    CampaignOccasion,
    Customer,
    Record,
    RecordEvent,
    SlaClock,
    Timer,
)
from engine.time.clock import VirtualClock
from engine.time.extensions import ExtensionRefused

SIMULATED_SITE = "http://127.0.0.1:5000"  # where the survey links of a rehearsal point


@dataclass(frozen=True)
class Step:
    at: datetime
    action: str  # "create" | "transition" | "extend" | "answer" | "reply"
    ref: str
    data: Mapping[str, Any]
    line: int


@dataclass(frozen=True)
class Scenario:
    file: str
    start: datetime
    until: datetime
    steps: tuple[Step, ...]
    customers: tuple[Mapping[str, Any], ...] = ()


class ScenarioError(CareloopError, ValueError):
    """A scenario that cannot run, pointing at its line: `file:line: message`."""

    def __init__(self, file: str, line: int, message: str) -> None:
        super().__init__(f"{file}:{line}: {message}")
        self.file, self.line, self.message = file, line, message


@dataclass
class Timeline:
    timezone: Any
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[dict[str, str | None]] = field(default_factory=list)
    care: list[dict[str, str | None]] = field(default_factory=list)
    # KPIs of the scenario's records, customer economics and loyalty at `until` (issue #25).
    figures: dict[str, float | None] = field(default_factory=dict)
    loyalty: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The scheduled reviews' mail (issue #25 item 4): to, subject, text body.
    mailed: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)  # raised by frequency
    # What the pack's monitors raise at `until`: monitor, scope, level.
    warnings: list[dict[str, str | None]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "events": self.events,
            "care": self.care,
            "figures": self.figures,
            "loyalty": self.loyalty,
            "mailed": self.mailed,
            "actions": self.actions,
            "warnings": self.warnings,
        }


def simulate(source: PackSource, scenario: Scenario) -> Timeline:
    """Play `scenario` against `source` and return the records' end state and every event."""
    engine = make_engine("sqlite://")
    try:
        upgrade(engine)
        clock = VirtualClock(scenario.start)
        links = SurveyLinks("simulation", SIMULATED_SITE)
        services = Services(make_session_factory(engine), clock, links=links)
        services.publish(source, by="simulation")
        _add_customers(services, scenario)
        refs: dict[str, int] = {}
        refused: list[dict[str, str | None]] = []
        spec = build_pack_spec(source.data)[0]
        assert spec is not None  # published above, so it built
        for step in sorted(scenario.steps, key=lambda s: s.at):
            review_until(services, clock, spec, step.at, _fire_until)
            _fire_until(services, clock, step.at)
            clock.set(step.at)
            try:
                _apply(services, source.name, step, refs, refused)
            except CareloopError as exc:
                raise ScenarioError(scenario.file, step.line, str(exc)) from None
            services.raise_frequent_actions()  # as the scheduler's monitors job does
        review_until(services, clock, spec, scenario.until, _fire_until)
        _fire_until(services, clock, scenario.until)
        clock.set(scenario.until)
        services.run_campaigns(replay_from=scenario.start)
        timeline = _timeline(services, source, refs)
        timeline.figures, timeline.loyalty = read_figures(
            services, source.name, scenario.start, scenario.until
        )
        timeline.mailed, timeline.actions = mailed(services), actions(services, spec)
        timeline.warnings = [  # last: a warning's own record changes no figure above
            {"monitor": o.warning.monitor, "scope": o.warning.scope, "level": o.warning.level}
            for o in services.evaluate_monitors()
        ]
        timeline.events = sorted([*timeline.events, *refused], key=lambda e: str(e["at"]))
        return timeline
    finally:
        engine.dispose()


def _fire_until(services: Services, clock: VirtualClock, moment: datetime) -> None:
    """Fire timers in due order, moving the clock to each due time, until `moment`."""
    while True:
        with services.session_factory() as session:
            due_at = session.scalar(
                select(func.min(Timer.due_at)).where(
                    Timer.status == "pending", Timer.due_at <= moment
                )
            )
        if due_at is None:
            return
        clock.set(max(due_at, clock.now()))
        services.sweep()


def _apply(
    services: Services,
    pack: str,
    step: Step,
    refs: dict[str, int],
    refused: list[dict[str, str | None]],
) -> None:
    data = step.data
    if step.action == "create":
        if step.ref in refs:
            raise CareloopError(f"ref '{step.ref}' is already used by an earlier create")
        record = services.create_record(
            pack,
            NewRecord(
                record_type=data["type"],
                fields=data.get("fields") or {},
                channel=data.get("channel"),
                category=data.get("category"),
                priority=data.get("priority"),
                received_at=data.get("received_at"),
                assignee=data.get("assignee"),
            ),
            actor="simulation",
        )
        refs[step.ref] = record.id
        return
    if step.ref not in refs:
        raise CareloopError(f"unknown ref '{step.ref}': create it in an earlier step")
    record_id = refs[step.ref]
    if step.action == "extend":
        _extend(services, step, record_id, refused)
        return
    if step.action == "answer":  # the satisfaction callback or the customer's link
        nps = data.get("nps")
        given = satisfaction.Answer(
            int(data["score"]), str(data.get("comment", "")), None if nps is None else int(nps)
        )
        services.answer_satisfaction(record_id, given, via=data["via"], actor="simulation")
        return
    if step.action == "reply":
        _reply(services, record_id, data)
        return
    with services.uow() as uow:
        record = transitions.get_record(uow.session, record_id)
        rtype = services.specs.get(uow.session, record.pack_version_id).record_type(
            record.record_type
        )
        transition_id = _transition_to(rtype, record, data["to"])
    services.transition(record_id, transition_id, data.get("fields") or {}, actor="simulation")


def _reply(services: Services, record_id: int, data: Mapping[str, Any]) -> None:
    """An agent's answer to the customer, on the channel the desk preselects unless the step
    names one, so a scenario shows a contact skipped because someone wrote (R-3.2)."""
    channel = data.get("channel")
    if channel is None:
        with services.uow() as uow:
            record = transitions.get_record(uow.session, record_id)
            spec = services.specs.get(uow.session, record.pack_version_id)
            channel = answer_channel(spec, record, record.customer)
    services.reply(record_id, str(data["text"]), channel=str(channel), actor="simulation")


def _extend(
    services: Services, step: Step, record_id: int, refused: list[dict[str, str | None]]
) -> None:
    """Move the deadline (R-3.2); a step that `expect: refused` must be refused, and the
    refusal shows on the timeline as `extension.refused` with the engine's reason."""
    data = step.data
    try:
        services.extend_deadline(
            record_id,
            data["deadline"],
            str(data.get("reason", "")),
            actor="simulation",
            override=bool(data.get("override", False)),
        )
    except ExtensionRefused as exc:
        if data.get("expect") != "refused":
            raise
        at = step.at.isoformat()
        refused.append({"at": at, "ref": step.ref, "kind": "extension.refused", "reason": str(exc)})
        return
    if data.get("expect") == "refused":
        raise CareloopError("the extension was expected to be refused, and it was not")


def _transition_to(rtype: RecordTypeSpec, record: Record, to: str) -> str:
    """`to` names a transition, or the stage to reach by the one transition leading there."""
    if to in rtype.transitions:
        return to
    leading = [t.id for t in rtype.transitions_from(record.stage) if t.target == to]
    if len(leading) != 1:
        possible = ", ".join(f"{t.id} → {t.target}" for t in rtype.transitions_from(record.stage))
        raise CareloopError(
            f"no single transition from '{record.stage}' to '{to}' (possible: {possible or 'none'})"
        )
    return leading[0]


PROFILE_KEYS = (
    *("name", "contact", "tier", "dedicated_agent", "birthday", "timezone", "since"),
    *("consent_service", "consent_marketing", "referred_by"),
)


def _add_customers(services: Services, scenario: Scenario) -> None:
    """The scenario's customers and their past orders; tiers follow as in production."""
    for customer in scenario.customers:
        number = str(customer["number"])
        services.save_customer(number, {k: customer[k] for k in PROFILE_KEYS if k in customer})
        for order in customer.get("orders") or []:
            services.record_order(
                number,
                {
                    "external_id": str(order["id"]),
                    "amount": float(order.get("amount", 0)),
                    "ordered_at": order["ordered_at"],
                    "shipped_at": order.get("shipped_at"),
                },
            )
    if scenario.customers:
        services.recompute_tiers()


def _timeline(services: Services, source: PackSource, refs: dict[str, int]) -> Timeline:
    spec = build_pack_spec(source.data)[0]
    assert spec is not None
    tz = spec.timezone
    by_id = {record_id: ref for ref, record_id in refs.items()}
    timeline = Timeline(tz)
    with services.session_factory() as session:
        for ref, record_id in refs.items():
            record = session.get_one(Record, record_id)
            timeline.records[ref] = {
                "stage": record.stage,
                "priority": record.priority,
                "deadlines": {c.target: _iso(c.deadline, tz) for c in record.clocks},
            }
        clocks = session.scalars(select(SlaClock).where(SlaClock.record_id.in_(list(by_id))))
        for clock in clocks:
            if clock.met_at is not None:
                timeline.records[by_id[clock.record_id]].setdefault("met", {})[clock.target] = _iso(
                    clock.met_at, tz
                )
        events = session.scalars(
            select(RecordEvent)
            .where(RecordEvent.record_id.in_(list(by_id)))
            .order_by(RecordEvent.at, RecordEvent.id)
        )
        timeline.events = [_event(e, by_id, tz) for e in events]
        occasions = session.execute(
            select(CampaignOccasion, Customer.number)
            .join(Customer, Customer.id == CampaignOccasion.customer_id)
            .order_by(CampaignOccasion.send_at, CampaignOccasion.id)
        )
        timeline.care = [
            {
                "at": _iso(o.send_at, tz),
                "due_at": _iso(o.due_at, tz),
                "campaign": o.campaign,
                "customer": number,
                "occasion": o.occasion,
                "status": o.status,
            }
            for o, number in occasions
        ]
    return timeline


def _event(event: RecordEvent, by_id: Mapping[int, str], tz: Any) -> dict[str, str | None]:
    """A history line as the timeline shows it; a contact says which, on what or why not."""
    line: dict[str, str | None] = {
        "at": _iso(event.at, tz),
        "ref": by_id[event.record_id],
        "kind": event.kind,
    }
    if not event.kind.startswith("contact."):
        return line  # other changes may hold the customer's personal data
    for key in ("contact", "channel", "reason", "detail"):
        if key in event.changes:
            line[key] = str(event.changes[key])
    return line


def _iso(moment: datetime | None, tz: Any) -> str | None:
    return moment.astimezone(tz).isoformat() if moment is not None else None
