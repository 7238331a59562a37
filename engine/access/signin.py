"""Throttling of password guessing: after N failures for a username from one address, wait.

Failures are rows, not process memory, so every web process (and a restart) sees the same
count (ASVS 6.3.1). The lock lifts by itself when the oldest counted failure leaves the
window; a successful sign-in clears the pair. The password is not even checked while locked,
so a guesser learns nothing from the answers.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from engine.store.models import SignInFailure, User

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)


def locked_until(session: Session, username: str, address: str, now: datetime) -> datetime | None:
    """When this pair may try again, or None when it may try now."""
    recent = session.execute(
        select(func.count(), func.min(SignInFailure.at)).where(
            SignInFailure.username == username[:128],
            SignInFailure.address == address[:64],
            SignInFailure.at > now - WINDOW,
        )
    ).one()
    count, oldest = recent
    if count < MAX_FAILURES or oldest is None:
        return None
    until: datetime = oldest + WINDOW
    return until


def failed(session: Session, username: str, address: str, now: datetime) -> None:
    session.add(SignInFailure(username=username[:128], address=address[:64], at=now))
    # Old rows say nothing any more: keep the table small.
    session.execute(delete(SignInFailure).where(SignInFailure.at < now - WINDOW))


def succeeded(session: Session, username: str, address: str) -> None:
    session.execute(
        delete(SignInFailure).where(
            SignInFailure.username == username[:128], SignInFailure.address == address[:64]
        )
    )


def sign_out_everywhere(session: Session, user: User) -> None:
    """Void every session of this user: the loader refuses older generations."""
    user.session_generation = (user.session_generation or 0) + 1
