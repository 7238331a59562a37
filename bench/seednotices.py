"""The notifications and outbox messages of the firings a seeded history says happened.

A live database whose scheduler fired timers until it stopped holds the tasks those firings
gave people (`notifications`, delivered) and the emails and webhooks they sent
(`outbox_messages`, sent). Without them the sweep benches started on empty tables, which a
real restart never meets, and which PostgreSQL makes expensive: a session plans a foreign
key's check (`outbox_messages.notification_id` → `notifications`) the first time it runs
and keeps that plan, so a check planned on an empty table stays a sequential scan while the
sweep fills it (a one-process sweep of 20,000 due timers spent 10 of its server's 15 s of
CPU there; autovacuum's analyse would re-plan it in a live system within a minute or so).

The rows follow `engine.time.firing`: a follow-up tells the record's owner; a warning, a
breach or an escalation step tells the audiences of the ladder's steps that act at once; each
notification has one message per recipient the pack names for its audience, when the pack
has a message for its subject. Subjects and bodies are not rendered (a bench reads no text).
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from engine.specs.pack import PackSpec, RecordTypeSpec

AT_OF_KIND = {"sla_warning": "warning", "sla_breach": "breach"}


class PastNotices:
    """Builds the rows of past firings, with ids of their own (written by COPY)."""

    def __init__(self, spec: PackSpec, rtype: RecordTypeSpec) -> None:
        self.spec = spec
        self.rtype = rtype
        self._notification_ids = itertools.count(1)
        self._message_ids = itertools.count(1)

    def of(
        self, record_id: int, timer: dict[str, Any], at: datetime, target: str | None
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """A fired timer's notifications and their messages."""
        notifications: list[dict[str, Any]] = []
        messages: list[dict[str, Any]] = []
        for audience, subject in self._told(timer, target):
            notification = {
                "id": next(self._notification_ids),
                "record_id": record_id,
                "created_at": at,
                "audience": audience,
                "subject": subject,
                "detail": {"target": target} if target else {},
                "delivered_at": at,
                "timer_id": timer["id"],
                "user_id": None,
            }
            notifications.append(notification)
            messages.extend(self._messages(notification))
        return notifications, messages

    def _told(self, timer: dict[str, Any], target: str | None) -> list[tuple[str, str]]:
        """(audience, subject) of each notification the firing gave."""
        kind = timer["kind"]
        if kind == "followup":
            return [("owner", f"followup.{timer['name']}")]
        assert self.rtype.sla is not None and target is not None
        steps = self.rtype.sla.escalation
        if kind == "sla_escalation":
            acting = [s for s in steps if s.index == timer["step"]]
        else:
            acting = [s for s in steps if s.at == AT_OF_KIND[kind] and s.after is None]
        subject = kind.replace("sla_", f"sla.{target}.")
        audiences = dict.fromkeys(a for step in acting for a in step.notify)
        return [(audience, subject) for audience in audiences]

    def _messages(self, notification: dict[str, Any]) -> list[dict[str, Any]]:
        recipient = self.spec.recipients.get(notification["audience"])
        if recipient is None or self.spec.message_for(notification["subject"]) is None:
            return []
        targets = [("email", address) for address in recipient.emails]
        if recipient.webhook:
            targets.append(("webhook", notification["audience"]))
        at = notification["created_at"]
        return [
            {
                "id": next(self._message_ids),
                "notification_id": notification["id"],
                "event_id": None,
                "occasion_id": None,
                "record_id": notification["record_id"],
                "channel": channel,
                "recipient": address,
                "subject": notification["subject"],
                "body": "",
                "payload": {},
                "created_at": at,
                "status": "sent",
                "attempts": 1,
                "next_attempt_at": at,
                "lease_until": None,
                "sent_at": at,
                "last_error": None,
            }
            for channel, address in targets
        ]
