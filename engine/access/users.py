"""People who sign in, their teams, and the audit log of what they reveal (R-8.3).

Password hashing is injected (the web passes Werkzeug's), so the engine holds
no web library and tests can hash cheaply.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.choices import LOCALES, ROLES
from engine.errors import InvalidInput, NotFound
from engine.store.models import AuditEntry, Team, User

Hasher = Callable[[str], str]


def add_user(
    session: Session,
    username: str,
    role: str,
    password: str,
    hasher: Hasher,
    now: datetime,
    *,
    display_name: str | None = None,
    team: str | None = None,
    locale: str = "zh",
    categories: Iterable[str] = (),
) -> User:
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", fields={"role": role})
    if locale not in LOCALES:
        raise InvalidInput(f"locale must be one of {', '.join(LOCALES)}", fields={"locale": locale})
    if len(password) < 10:
        raise InvalidInput("a password has at least 10 characters", fields={"password": "short"})
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise InvalidInput(f"user '{username}' exists", fields={"username": username})
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=hasher(password),
        role=role,
        team=ensure_team(session, team) if team else None,
        locale=locale,
        timezone="Asia/Shanghai",
        capacity=20,
        categories=sorted(categories),
        active=True,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


def ensure_team(session: Session, name: str, department: str | None = None) -> Team:
    team = session.scalars(select(Team).where(Team.name == name)).first()
    if team is None:
        team = Team(name=name, department=department or name, assign_method="pull")
        session.add(team)
        session.flush()
    return team


def new_password() -> str:
    """A password for a first account, printed once."""
    return secrets.token_urlsafe(12)


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise NotFound(f"no active user {user_id}")
    return user


def get_active(session: Session, username: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None or not user.active:
        raise InvalidInput(f"no active user '{username}'", fields={"assignee": username})
    return user


def display_names(session: Session, usernames: Iterable[str | None]) -> dict[str, str]:
    """Each username's display name, in one query for a whole page (the owner column reads
    people's names, not their sign-in names); unknown names map to themselves at the caller."""
    wanted = {name for name in usernames if name}
    if not wanted:
        return {}
    rows = session.execute(
        select(User.username, User.display_name).where(User.username.in_(wanted))
    ).all()
    return {username: display or username for username, display in rows}


def audit(
    session: Session, actor: str, action: str, subject: str, now: datetime, **detail: Any
) -> None:
    """Append to the audit log; never the revealed value itself."""
    session.add(AuditEntry(at=now, actor=actor, action=action, subject=subject, detail=detail))
