"""The work queue (R-2.6, R-2.1): open records, most urgent first, keyset-paged, never N+1.

Order: priority, then customers served first (VIP), then the nearest SLA
deadline (none last), then id. A page is one indexed query plus one for the
clocks and one for the customers, whatever its size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from engine.events import Assigned
from engine.records.journal import add_event
from engine.store.models import Record, SlaClock, Team, User

MAX_PAGE = 100


# Most urgent first: priority, tier, nearest deadline, records without a deadline last.
# The same expressions as `ix_records_queue`, so both databases read the page off the index
# (`NULLS LAST` would do on PostgreSQL, but SQLite's index cannot give it and sorts).
URGENCY = (
    Record.priority_rank,
    Record.tier_rank,
    Record.next_deadline.is_(None),
    Record.next_deadline,
    Record.id,
)


@dataclass(frozen=True)
class QueueFilter:
    mine: bool = False
    team: bool = False
    unassigned: bool = False
    breached: bool = False
    channel: str | None = None
    category: str | None = None
    stage: str | None = None
    pack: str | None = None


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the sort key of its last record."""

    priority_rank: int
    tier_rank: int
    deadline: datetime | None
    id: int

    @classmethod
    def after(cls, record: Record) -> Cursor:
        return cls(record.priority_rank, record.tier_rank, record.next_deadline, record.id)


def queue_page(
    session: Session,
    user: User,
    wanted: QueueFilter,
    now: datetime,
    *,
    limit: int = 25,
    after: Cursor | None = None,
) -> list[Record]:
    statement = _filtered(user, wanted, now)
    if after is not None:
        statement = statement.where(beyond(after))
    statement = statement.order_by(*URGENCY).limit(min(max(limit, 1), MAX_PAGE))
    return list(
        session.scalars(
            statement.options(selectinload(Record.customer), selectinload(Record.clocks))
        )
    )


def _filtered(user: User, wanted: QueueFilter, now: datetime) -> Select[Record]:
    statement = select(Record).where(Record.is_open.is_(True))
    if wanted.mine:
        statement = statement.where(Record.assignee == user.username)
    if wanted.team and user.team is not None and user.team.department:
        # The team's department, and records not yet triaged to any.
        statement = statement.where(
            or_(Record.department == user.team.department, Record.department.is_(None))
        )
    if wanted.unassigned:
        statement = statement.where(Record.assignee.is_(None))
    if wanted.breached:
        statement = statement.where(
            exists().where(
                SlaClock.record_id == Record.id,
                SlaClock.met_at.is_(None),
                SlaClock.breached_at.is_not(None),
            )
        )
    for column in ("channel", "category", "stage", "pack"):
        value = getattr(wanted, column)
        if value:
            statement = statement.where(getattr(Record, column) == value)
    return statement


def beyond(cursor: Cursor) -> ColumnElement[bool]:
    """Rows after the cursor in (priority, tier, deadline nulls last, id) order."""
    same_rank = and_(
        Record.priority_rank == cursor.priority_rank, Record.tier_rank == cursor.tier_rank
    )
    later_rank = or_(
        Record.priority_rank > cursor.priority_rank,
        and_(Record.priority_rank == cursor.priority_rank, Record.tier_rank > cursor.tier_rank),
    )
    if cursor.deadline is None:
        later_in_rank = and_(Record.next_deadline.is_(None), Record.id > cursor.id)
    else:
        later_in_rank = or_(
            Record.next_deadline > cursor.deadline,
            Record.next_deadline.is_(None),
            and_(Record.next_deadline == cursor.deadline, Record.id > cursor.id),
        )
    return or_(later_rank, and_(same_rank, later_in_rank))


def take_next(session: Session, user: User, now: datetime) -> Record | None:
    """Assign the most urgent unassigned record of the agent's team, safely under concurrency.

    `FOR UPDATE SKIP LOCKED` on PostgreSQL: two agents pressing at once get two records.
    """
    statement = (
        _filtered(user, QueueFilter(team=True, unassigned=True), now)
        .order_by(*URGENCY)
        .limit(1)
        .with_for_update(skip_locked=True, of=Record)
    )
    record = session.scalars(statement).first()
    if record is None:
        return None
    assign(session, record, user.username, now, actor=user.username)
    return record


def assign(
    session: Session, record: Record, username: str | None, now: datetime, *, actor: str
) -> None:
    """Give the record to someone (or nobody); the history keeps who had it before."""
    previous = record.assignee
    if previous == username:
        return
    record.assignee, record.updated_at = username, now
    add_event(session, record, now, Assigned(previous, username), actor=actor)


def may_see(user: User, record: Record) -> bool:
    """Supervisors and operations see every record; an agent, its own and its team's."""
    if user.role != "agent":
        return True
    if record.assignee == user.username or user.team is None or not user.team.department:
        return True
    return record.department in (None, user.team.department)


def auto_assign(session: Session, record: Record, now: datetime) -> None:
    """Give an unassigned record to someone, if the rules say who (R-2.3, R-5.2).

    A VIP's dedicated agent first; else the team serving the record's department
    hands it out by its method (round robin, or least open work), within each
    agent's capacity and categories; a `pull` team leaves it for "take next".
    """
    if record.assignee is not None:
        return
    customer = record.customer
    if customer is not None and customer.dedicated_agent:
        assign(session, record, customer.dedicated_agent, now, actor="routing")
        return
    if record.department is None:
        return
    team = session.scalars(select(Team).where(Team.department == record.department)).first()
    if team is None or team.assign_method == "pull":
        return
    chosen = _next_agent(session, team, record)
    if chosen is None:
        return
    team.last_assigned = chosen
    assign(session, record, chosen, now, actor="routing")


def _next_agent(session: Session, team: Team, record: Record) -> str | None:
    """Whom the team's method gives the record to, among its agents with room and the skill."""
    agents = [
        u
        for u in session.scalars(
            select(User)
            .where(User.team_id == team.id, User.active.is_(True), User.role == "agent")
            .order_by(User.username)
        )
        if not u.categories or record.category in u.categories
    ]
    load = dict(
        session.execute(
            select(Record.assignee, func.count())
            .where(Record.is_open.is_(True), Record.assignee.in_([a.username for a in agents]))
            .group_by(Record.assignee)
        ).all()
    )
    eligible = [a.username for a in agents if load.get(a.username, 0) < a.capacity]
    if not eligible:
        return None
    if team.assign_method == "least_open":
        return min(eligible, key=lambda name: (load.get(name, 0), name))
    after = [name for name in eligible if team.last_assigned is None or name > team.last_assigned]
    return (after or eligible)[0]


def set_tier_rank(session: Session, customer_id: int, rank: int) -> None:
    """A customer became (or stopped being) one to serve first: reorder their open records."""
    session.execute(
        update(Record)
        .where(
            Record.customer_id == customer_id, Record.is_open.is_(True), Record.tier_rank != rank
        )
        .values(tier_rank=rank, row_version=Record.row_version + 1)
        .execution_options(synchronize_session=False)
    )
