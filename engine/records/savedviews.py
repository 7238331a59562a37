"""Saved views of the queue: a person's own filter sets and those their team shares (issue #21)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from engine.errors import InvalidInput
from engine.store.models import SavedView, User

MAX_VIEWS = 10  # the tabs a person sees; their counts are one statement (finder.count_each)
MAX_NAME = 64


def views_for(session: Session, user: User) -> list[SavedView]:
    """The user's own views, then those shared with their team, oldest first."""
    shared = SavedView.team_id == user.team_id if user.team_id is not None else None
    mine = SavedView.owner == user.username
    statement = select(SavedView).where(or_(mine, shared) if shared is not None else mine)
    return list(
        session.scalars(
            statement.order_by((SavedView.owner != user.username), SavedView.id).limit(MAX_VIEWS)
        )
    )


def save_view(
    session: Session, user: User, name: str, query: str, *, share: bool, now: datetime
) -> SavedView:
    """Keep the current filters under a name; shared with the user's team if asked and in one."""
    name = name.strip()
    if not name or len(name) > MAX_NAME or "\x00" in name:
        raise InvalidInput(
            f"a view needs a name of 1 to {MAX_NAME} characters", fields={"name": "name"}
        )
    owned = session.scalars(select(SavedView.id).where(SavedView.owner == user.username)).all()
    if len(owned) >= MAX_VIEWS:
        raise InvalidInput(
            f"at most {MAX_VIEWS} views each: delete one first", fields={"name": "full"}
        )
    view = SavedView(
        owner=user.username,
        team_id=user.team_id if share else None,
        name=name,
        query=query,
        created_at=now,
    )
    session.add(view)
    return view


def delete_view(session: Session, user: User, view_id: int) -> bool:
    """Delete one of the user's own views; False if it is not theirs (or does not exist)."""
    deleted = session.execute(
        delete(SavedView).where(SavedView.id == view_id, SavedView.owner == user.username)
    )
    return bool(getattr(deleted, "rowcount", 0))
