"""Build a record type's promised customer contacts and its deadline extension (R-3.2, R-3.3).

Checked here: each contact's message exists, its trigger names a follow-up or stages the record
type has, its durations parse; an extension names an SLA target the record type has.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.specs.pack import (
    CONTACT_EVENTS,
    ContactSpec,
    ExtensionSpec,
    FollowUpSpec,
    SlaSpec,
    StageSpec,
)
from engine.specs.problems import Path, ProblemLog, section
from engine.time.durations import Duration


class ContactBuilder(ProblemLog):
    """The `customer_contacts` and `extension` keys of a record type."""

    def contacts(
        self,
        path: Path,
        data: Mapping[str, Any],
        stages: Mapping[str, StageSpec],
        followups: Mapping[str, FollowUpSpec],
        messages: list[str],
        calendars: list[str],
    ) -> dict[str, ContactSpec]:
        contacts = {}
        for name, c in section(data, "customer_contacts").items():
            where: Path = (*path, "customer_contacts", name)
            self.reference((*where, "message"), "message template", c["message"], messages)
            calendar = c.get("calendar")
            if calendar is not None:
                self.reference((*where, "calendar"), "calendar", calendar, calendars)
            on = c["on"]
            event = on if isinstance(on, str) else None
            if event is not None and event not in CONTACT_EVENTS:
                self.problem(
                    (*where, "on"),
                    f"unknown event '{event}'",
                    f"use one of {', '.join(CONTACT_EVENTS)}, {{entering: …}} or {{followup: …}}",
                )
            followup = on.get("followup") if isinstance(on, Mapping) else None
            if followup is not None:
                self.reference((*where, "on", "followup"), "follow-up", followup, followups)
            entering = on.get("entering") if isinstance(on, Mapping) else None
            after = self._amount((*where, "after"), c.get("after"), calendar)
            window = c.get("unless_replied_within")
            contacts[name] = ContactSpec(
                name=name,
                title=c.get("title", name),
                message=c["message"],
                on_event=event,
                on_entering=self.selector((*where, "on", "entering"), entering, stages),
                on_followup=followup,
                after=after,
                calendar=calendar,
                unless_replied_within=(
                    self.duration((*where, "unless_replied_within"), window) if window else None
                ),
            )
        return contacts

    def _amount(self, path: Path, text: str | None, calendar: str | None) -> Duration | None:
        if text is None:
            return None
        amount = self.duration(path, text)
        if amount is not None and amount.working and calendar is None:
            self.problem(
                path,
                f"'{amount.text}' counts working time but no calendar is set",
                "add `calendar: <name>` to this contact",
            )
        return amount

    def extension(
        self, path: Path, data: Mapping[str, Any] | None, sla: SlaSpec | None
    ) -> ExtensionSpec | None:
        if data is None:
            return None
        targets = sla.targets if sla is not None else {}
        self.reference((*path, "target"), "SLA target", data["target"], targets)
        notice = self.duration((*path, "notice"), data.get("notice", "1 day"))
        if notice is None:
            return None
        return ExtensionSpec(data["target"], notice)
