"""Fixed-window hit counters (issue #23): how often one address or one contact used a public page.

One row per key and window, written by a set-based upsert, so every web worker and every host
sharing the database counts together; old windows are deleted as their key is hit again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models.base import Model


class RateLimitCounter(Model):
    """`hits` of `key` in the window starting at `window_start` (engine.access.ratelimit)."""

    __tablename__ = "rate_limit_counters"

    # The limit's name and a hash of what is counted (an address, a contact): never the
    # address or the contact itself, which would be personal data kept for no reason.
    key: Mapped[str] = mapped_column(String(96), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(primary_key=True)
    hits: Mapped[int] = mapped_column(default=0)
    # When the window is over and the row may go.
    expires_at: Mapped[datetime] = mapped_column(index=True)
