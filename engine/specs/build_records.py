"""Build a pack's record types: fields, stages, transitions, SLA and follow-ups.

The part of the pack builder that checks how records run: targets exist, every stage is
reachable from the initial one, priorities and calendars referenced exist, durations parse.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any

from engine.specs.build_contacts import ContactBuilder
from engine.specs.build_sla import PackContext as PackContext  # where build.py finds it
from engine.specs.build_sla import SlaBuilder
from engine.specs.pack import (
    CONTACT_EVENTS,
    CORE_FIELDS,
    RESERVED_FIELDS,
    Effect,
    FieldSpec,
    FollowUpSpec,
    FormField,
    RecordTypeSpec,
    SlaSpec,
    StageSpec,
    TransitionSpec,
)
from engine.specs.problems import Path, entries, section


class RecordTypeBuilder(ContactBuilder, SlaBuilder):
    """Builds one record type at a time, noting problems of meaning."""

    def record_type(
        self, path: Path, tid: str, data: Mapping[str, Any], ctx: PackContext
    ) -> RecordTypeSpec:
        self.check_field_names(path, data)
        fields = {fid: _field(fid, f) for fid, f in section(data, "fields").items()}
        stages = {
            sid: StageSpec(sid, s["kind"], s.get("title", sid)) for sid, s in data["stages"].items()
        }
        initial = data["initial"]
        self.check_initial(path, initial, stages)
        transitions = {
            xid: self.transition((*path, "transitions", xid), xid, x, stages, fields)
            for xid, x in section(data, "transitions").items()
        }
        if initial in stages:
            self.check_reachable(path, initial, stages, transitions)
        sla = (
            self.sla((*path, "sla"), data["sla"], stages, fields, ctx) if data.get("sla") else None
        )
        followups = {
            name: self.followup((*path, "followups", name), name, f, stages, ctx, sla)
            for name, f in section(data, "followups").items()
        }
        customer_reply = data.get("customer_reply")
        if customer_reply is not None:
            self.check_customer_reply((*path, "customer_reply"), customer_reply, transitions)
        return RecordTypeSpec(
            tid,
            data.get("title", tid),
            fields,
            stages,
            initial,
            transitions,
            sla,
            followups,
            customer_reply,
            self.contacts(path, data, stages, followups, ctx.message_names, ctx.calendar_names),
            self.extension((*path, "extension"), data.get("extension"), sla),
        )

    def check_customer_reply(
        self, path: Path, xid: str, transitions: Mapping[str, TransitionSpec]
    ) -> None:
        """The customer's own message takes it, so it can ask nobody for a field."""
        if not self.reference(path, "transition", xid, transitions):
            return
        required = [f.field for f in transitions[xid].form if f.required]
        if required:
            self.problem(
                path,
                f"transition '{xid}' asks for {', '.join(required)}, which a customer's "
                "message cannot give",
                "choose a transition whose form has no required field",
            )

    def check_field_names(self, path: Path, data: Mapping[str, Any]) -> None:
        """A field may not shadow what the record or its form already has (RESERVED_FIELDS)."""
        for fid in section(data, "fields"):
            if fid in RESERVED_FIELDS:
                self.problem(
                    (*path, "fields", fid),
                    f"'{fid}' is a reserved field name",
                    "rename the field, e.g. " + f"'{fid}_value'",
                )

    def check_initial(self, path: Path, initial: str, stages: Mapping[str, StageSpec]) -> None:
        if (
            self.reference((*path, "initial"), "stage", initial, stages)
            and stages[initial].kind == "closed"
        ):
            self.problem(
                (*path, "initial"),
                f"initial stage '{initial}' is closed",
                "a record must start in an open stage",
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
        for i, entry in enumerate(entries(data, "form")):
            item = (
                FormField(entry)
                if isinstance(entry, str)
                else FormField(entry["field"], entry.get("required", False), entry.get("label"))
            )
            where = (*path, "form", i) if isinstance(entry, str) else (*path, "form", i, "field")
            self.reference(where, "field", item.field, [*fields, *CORE_FIELDS])
            form.append(item)
        effects = []
        for i, effect in enumerate(entries(data, "effects")):
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

    def followup(
        self,
        path: Path,
        name: str,
        data: Mapping[str, Any],
        stages: Mapping[str, StageSpec],
        ctx: PackContext,
        sla: SlaSpec | None,
    ) -> FollowUpSpec:
        calendar = data.get("calendar")
        if calendar is not None:
            self.reference((*path, "calendar"), "calendar", calendar, ctx.calendar_names)
        key = next(k for k in ("every", "after", "before") if k in data)
        amount = self.duration((*path, key), data[key])
        # `before` a deadline counts on the deadline's own calendar unless it names one.
        if amount is not None and amount.working and calendar is None and key != "before":
            self.problem(
                (*path, key),
                f"'{amount.text}' counts working time but no calendar is set",
                "add `calendar: <name>` to this follow-up",
            )
        of = data.get("of")
        if of is not None:
            self.reference((*path, "of"), "SLA target", of, sla.targets if sla else {})
        on_event = data.get("on")
        if on_event is not None:
            self.reference((*path, "on"), "event", on_event, CONTACT_EVENTS)
        return FollowUpSpec(
            name=name,
            title=data.get("title", name),
            every=amount if key == "every" else None,
            while_in=self.selector((*path, "while_in"), data.get("while_in"), stages),
            after=amount if key == "after" else None,
            on_entering=self.selector((*path, "on_entering"), data.get("on_entering"), stages),
            calendar=calendar,
            catch_up=data.get("catch_up", "coalesce"),
            on_event=on_event,
            before=amount if key == "before" else None,
            of=of,
            # Read when the timer fires, where only the record is at hand.
            when=self.expression((*path, "when"), data.get("when"), ("record",)),
        )


def _field(fid: str, f: Mapping[str, Any]) -> FieldSpec:
    return FieldSpec(
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
