"""The sweep: timers due, then the customer contacts due (R-2.4, R-3.2).

An area of its own, apart from the records' use cases: a scheduler's first sweep imports the
timers and the contacts, not intake, the queue or the early warnings (issue #24 item 2).
"""

from __future__ import annotations

from engine.conversation import contacts
from engine.services.base import ServiceBase
from engine.time import timers


class SweepServices(ServiceBase):
    """What the scheduler's sweep job and the simulator call as time passes."""

    def sweep(
        self, *, batch_size: int = 100, max_batches: int | None = None, sweepers: int | None = None
    ) -> timers.SweepResult:
        """Fire every timer due now, exactly once, oldest first; then send the customer
        contacts due, those the timers just armed included (progress updates, R-3.2).
        `sweepers` threads side by side on PostgreSQL (`time.sweepers.how_many`)."""
        now = self.clock.now()
        result = timers.sweep(
            self.session_factory,
            self.specs,
            now,
            batch_size=batch_size,
            max_batches=max_batches,
            sweepers=sweepers,
        )
        sent, batches = contacts.send_due(
            self.session_factory,
            self.specs,
            self.links,
            now,
            batch_size=batch_size,
            sweepers=sweepers,
        )
        result.fired.extend(sent)
        result.batches += batches
        return result
