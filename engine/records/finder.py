"""Finding work (issue #21, R-2.6): the queue filtered, searched and sorted, keyset-paged.

One statement per page whatever the filters: every filter is a WHERE clause, the SLA state
an EXISTS over the record's clocks, and an agent's team scope (`queue.may_see`) is part of
the same WHERE, so another team's records are never read, let alone shown.

The words of a search are looked up in the records' own full-text index (`searchindex`:
FTS5 on SQLite, a GIN tsvector on PostgreSQL, jieba's words of the non-personal text fields),
every word must occur, as an IN over the index in the same WHERE as the filters, the team
scope and the keyset. A search that is a phone number or an email address also finds the
records whose contact it is, by the contact's keyed hash (`personal`). A piece no index
holds (one Chinese character, `%`) is matched as typed with a case-blind LIKE in the
description and subject, wildcards escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    cast,
    exists,
    false,
    func,
    not_,
    or_,
    select,
)
from sqlalchemy.orm import Session, selectinload

from engine.access.crypto import lookup_hash
from engine.records import queue, searchindex, tags
from engine.store.models import Record, SlaClock, User

SORTS = ("urgency", "received", "deadline")
SLA_STATES = ("on_track", "warning", "breached", "paused", "met")
TIERS = ("first", "other")  # served first (VIP, high value) or not
TEXT_FIELDS = ("subject", "description")
NOBODY = "none"  # the assignee filter's value for "not assigned to anyone"


@dataclass(frozen=True)
class Finder:
    """What the user asked the queue for; every part optional, all of them combined (AND)."""

    is_open: bool | None = True  # None: open and closed
    words: tuple[str, ...] = ()
    stage: str | None = None
    priority: str | None = None
    channel: str | None = None
    category: str | None = None
    department: str | None = None
    pack: str | None = None
    assignee: str | None = None  # a username, or NOBODY
    own_team: bool = False  # the user's department and records not yet triaged
    tier: str | None = None
    sla: str | None = None
    received_from: datetime | None = None  # inclusive
    received_to: datetime | None = None  # exclusive
    tags: tuple[str, ...] = ()  # every one of them on the record
    sort: str = "urgency"
    descending: bool = False
    # A phone or an address typed in the search box: also the records whose contact it is.
    contact: str | None = None


Key = tuple[Any, bool]  # an ORDER BY expression and whether it runs descending


def find_page(
    session: Session,
    user: User,
    wanted: Finder,
    now: datetime,
    *,
    limit: int,
    after: Sequence[Any] | None = None,
) -> list[Record]:
    """One page of the records the user may see and asked for, after the cursor's sort key."""
    keys = sort_keys(wanted)
    statement = select(Record).where(*conditions(user, wanted, now))
    if after is not None:
        statement = statement.where(_beyond(wanted, keys, after))
    statement = statement.order_by(*(c.desc() if d else c for c, d in keys)).limit(limit)
    statement = statement.options(selectinload(Record.customer), selectinload(Record.clocks))
    return list(session.scalars(searchindex.planned(session, statement)))


def cursor_of(wanted: Finder, record: Record) -> list[Any]:
    """The sort key of the page's last record: the next page starts after it."""
    if wanted.sort == "received":
        return [record.received_at, record.id]
    if wanted.sort == "deadline":
        return [int(record.next_deadline is None), record.next_deadline, record.id]
    return [record.priority_rank, record.tier_rank, record.next_deadline, record.id]


def count_each(session: Session, user: User, finders: Sequence[Finder], now: datetime) -> list[int]:
    """How many records each filter set finds, in one statement of scalar subqueries."""
    if not finders:
        return []
    counts = [
        select(func.count(Record.id)).where(*conditions(user, f, now)).scalar_subquery()
        for f in finders
    ]
    statement = searchindex.planned(session, select(*counts))
    return [int(n) for n in session.execute(statement).one()]


def conditions(user: User, wanted: Finder, now: datetime) -> list[ColumnElement[bool]]:
    """The WHERE clauses of a filter set, the user's visibility first."""
    found = [*_visibility(user), *_columns(user, wanted)]
    if wanted.is_open is not None:
        found.append(Record.is_open.is_(wanted.is_open))
    if wanted.tier is not None:
        found.append(Record.tier_rank == (0 if wanted.tier == "first" else 1))
    if wanted.sla is not None:
        found.append(sla_state_is(wanted.sla, now))
    if wanted.received_from is not None:
        found.append(Record.received_at >= wanted.received_from)
    if wanted.received_to is not None:
        found.append(Record.received_at < wanted.received_to)
    found.extend(_search_with_contact(wanted))
    found.extend(tags.has_tag(tag) for tag in wanted.tags)
    return found


def _visibility(user: User) -> list[ColumnElement[bool]]:
    """`queue.may_see` as SQL: an agent of a team sees its own, its team's and untriaged ones."""
    if user.role != "agent" or user.team is None or not user.team.department:
        return []
    return [
        or_(
            Record.assignee == user.username,
            Record.department.is_(None),
            Record.department == user.team.department,
        )
    ]


def _columns(user: User, wanted: Finder) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    for name in ("stage", "priority", "channel", "category", "department", "pack"):
        value = getattr(wanted, name)
        if value is not None:
            found.append(getattr(Record, name) == value)
    if wanted.assignee == NOBODY:
        found.append(Record.assignee.is_(None))
    elif wanted.assignee is not None:
        found.append(Record.assignee == wanted.assignee)
    if wanted.own_team and user.team is not None and user.team.department:
        found.append(or_(Record.department == user.team.department, Record.department.is_(None)))
    return found


def _search(words: Sequence[str]) -> list[ColumnElement[bool]]:
    """The index for the words it holds (one lookup for all), a LIKE for each piece it cannot."""
    found, indexed = [], []
    for word in words:
        terms = searchindex.terms(word)
        indexed.extend(terms)
        if not terms:
            found.append(_matches(word))
    if indexed:
        found.insert(0, searchindex.holds_words(Record.id, indexed))
    return found


def _search_with_contact(wanted: Finder) -> list[ColumnElement[bool]]:
    """The words' conditions; for a search that is a phone or an address, also the records
    whose contact it is, found by its keyed hash (the contact itself is encrypted, issue #22)."""
    by_words = _search(wanted.words)
    if wanted.contact is None:
        return by_words
    by_contact = Record.contact_hash == lookup_hash(wanted.contact)
    return [or_(by_contact, and_(*by_words)) if by_words else by_contact]


def _matches(word: str) -> ColumnElement[bool]:
    """The word in any of the record's text fields (JSON values read as text, not escapes)."""
    return or_(
        *(Record.fields[name].as_string().icontains(word, autoescape=True) for name in TEXT_FIELDS)
    )


def sla_state_is(state: str, now: datetime) -> ColumnElement[bool]:
    """The record's SLA state as the queue's colour shows it (`forms.present.sla_view`).

    A clock is met, breached (flagged, or past its deadline), paused (not running), warning
    (warned, or past its warning time) or on track; the record takes the most urgent state
    of its clocks, in the order breached, warning, on track, paused, met.
    """
    unmet = SlaClock.met_at.is_(None)
    late = or_(
        SlaClock.breached_at.is_not(None),
        and_(SlaClock.deadline.is_not(None), SlaClock.deadline <= now),
    )
    warned = or_(
        SlaClock.warned_at.is_not(None),
        and_(SlaClock.warning_at.is_not(None), SlaClock.warning_at <= now),
    )
    running = SlaClock.running_since.is_not(None)
    clock = {
        "breached": and_(unmet, late),
        "warning": and_(unmet, not_(late), running, warned),
        "on_track": and_(unmet, not_(late), running, not_(warned)),
        "paused": and_(unmet, not_(late), not_(running)),
        "met": SlaClock.met_at.is_not(None),
    }
    order = ("breached", "warning", "on_track", "paused", "met")
    more_urgent = order[: order.index(state)]
    return and_(_any_clock(clock[state]), *(not_(_any_clock(clock[s])) for s in more_urgent))


def _any_clock(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(SlaClock.record_id == Record.id, condition)


def sort_keys(wanted: Finder) -> list[Key]:
    """ORDER BY of the sort; the default is the queue's own (R-2.6), read off its index."""
    if wanted.sort == "received":
        d = wanted.descending
        return [(Record.received_at, d), (Record.id, d)]
    if wanted.sort == "deadline":
        d = wanted.descending
        # The expression of `ix_records_deadline` (migration 0025), so the index is read.
        missing = cast(Record.next_deadline.is_(None), Integer)
        return [(missing, False), (Record.next_deadline, d), (Record.id, d)]
    return [(c, False) for c in queue.URGENCY]


def _beyond(wanted: Finder, keys: list[Key], after: Sequence[Any]) -> ColumnElement[bool]:
    """Rows after the cursor in the sort's order (a tuple comparison, spelled out per key)."""
    if wanted.sort == "urgency":
        return queue.beyond(queue.Cursor(*after))
    later: ColumnElement[bool] | None = None
    for (column, descending), value in reversed(list(zip(keys, after, strict=True))):
        if value is None:
            continue  # a missing deadline: the flag before it already placed the row
        step = column < value if descending else column > value
        later = step if later is None else or_(step, and_(column == value, later))
    return later if later is not None else false()
