"""The scheduler's mail job: read each configured mailbox and hand every mail to the engine.

A mail is marked seen only once the engine has taken it (made or joined a record, or found
it automatic or a repeat), so a crash or a database outage leaves it for the next poll. A
mail that is no mail at all (`MailUnreadable`) is marked seen too: reading it again would
never succeed. One mailbox that cannot be reached does not stop the others.
"""

from __future__ import annotations

import logging
from collections import Counter

from engine.conversation.mail import MailUnreadable
from engine.services import Services
from schedules.mailboxes import MailboxUnavailable, fetch_new
from schedules.mailsources import MailSource

log = logging.getLogger(__name__)


class MailJob:
    """Poll every mailbox once; counts of what became of the mail, never its contents."""

    def __init__(self, services: Services, sources: tuple[MailSource, ...]) -> None:
        self.services = services
        self.sources = sources

    def __call__(self) -> Counter[str]:
        outcomes: Counter[str] = Counter()
        for source in self.sources:
            try:
                fetch_new(source.mailbox, _Take(self.services, source, outcomes))
            except MailboxUnavailable as exc:
                outcomes["unavailable"] += 1
                log.warning("mailbox unavailable: %s", exc)
        if outcomes:
            log.info("mail taken: %s", dict(outcomes))
        return outcomes


class _Take:
    """The handler for one mailbox's poll: True once the engine has taken the mail."""

    def __init__(self, services: Services, source: MailSource, outcomes: Counter[str]) -> None:
        self.services, self.source, self.outcomes = services, source, outcomes

    def __call__(self, raw: bytes) -> bool:
        try:
            outcome = self.services.take_mail(self.source.pack, self.source.channel, raw)
        except MailUnreadable:
            self.outcomes["unreadable"] += 1
            return True
        self.outcomes[outcome.action] += 1
        return True
