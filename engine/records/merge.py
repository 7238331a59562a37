"""Merging a duplicate record into the one that stays (issue #21 item 2; R-1.7, R-4.1).

The duplicate's thread moves to the survivor (each message with the outbox row that sent it,
so a customer's reply to an old mail lands on the survivor too). Its history stays where it
was written, append-only, and is *linked*: the survivor's timeline reads the events of every
record merged into it (`merged_ids`), each marked with the record it came from. Copying the
events instead would count a first response or a resolution twice in the KPIs (R-4.3), which
read the history by record.

The duplicate is then closed by `transitions.enter_stage`, as a transition or "close as
duplicate" closes a record (via `merged`, changes `{"merged_into": id}`): the same history
row and webhook (`record.transitioned`), SLA clocks stopped, its pending timers (promised
contacts and follow-ups included) cancelled, the case library's hook. A `RecordMerge` row
points from it to the survivor, whose history gets one `record.merged` event.

What may be merged, decided here: two different open records of the same pack and record
type (their stages, fields and forms are the same; across types the timeline could not name
the other's stages), with the same customer or with a customer on one side only (the survivor
then takes it: one customer, one view, R-1.7). A closed or already merged record is neither
merged nor merged into. Who may see which records is the caller's check (a 404 there).

The duplicate's tags and followers join the survivor's (set-based, each once); its own rows
stay, so the merged record still reads as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, literal, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from engine.errors import InvalidInput, NotFound, TransitionRefused
from engine.events import RecordsMerged
from engine.records.journal import add_event
from engine.records.transitions import enter_stage
from engine.specs.pack import PackSpec
from engine.store.models import (
    OutboxMessage,
    Record,
    RecordFollower,
    RecordMerge,
    RecordTag,
    ThreadMessage,
)
from engine.store.types import UTCDateTime

VIA = "merged"
MAX_DEPTH = 32  # a chain of merges deeper than this is not followed further


@dataclass(frozen=True)
class Merged:
    """What a merge did: which record went into which, and how many messages moved."""

    record_id: int
    into: int
    messages: int


def merge(
    session: Session,
    pack: PackSpec,
    duplicate: Record,
    survivor: Record,
    *,
    actor: str,
    now: datetime,
) -> Merged:
    """Move the duplicate's thread to the survivor and close the duplicate as merged into it."""
    check(session, duplicate, survivor)
    rtype = pack.record_type(duplicate.record_type)
    closed = next((s for s in rtype.stages.values() if s.is_closed), None)
    if closed is None:
        raise TransitionRefused(f"record type {rtype.id} has no closed stage to merge into")
    if survivor.customer_id is None and duplicate.customer_id is not None:
        survivor.customer_id = duplicate.customer_id
    moved = _move_thread(session, duplicate.id, survivor.id)
    _combine(session, RecordTag, RecordTag.tag, duplicate.id, survivor.id, now)
    _combine(session, RecordFollower, RecordFollower.user_id, duplicate.id, survivor.id, now)
    changes = {"merged_into": survivor.id}
    enter_stage(session, pack, rtype, duplicate, closed, VIA, changes, actor=actor, now=now)
    session.add(
        RecordMerge(record_id=duplicate.id, merged_into=survivor.id, actor=actor, merged_at=now)
    )
    # The survivor's row changes too (its time, its history), so its row version moves and a
    # merge racing with a change of the survivor loses cleanly (ConflictError at the commit).
    survivor.updated_at = now
    add_event(session, survivor, now, RecordsMerged(duplicate.id, moved), actor=actor)
    return Merged(duplicate.id, survivor.id, moved)


def check(session: Session, duplicate: Record, survivor: Record) -> None:
    """Refuse a merge that makes no sense, saying why (see the module's docstring)."""
    if duplicate.id == survivor.id:
        raise InvalidInput("a record cannot be merged into itself", fields={"into": "itself"})
    for record in (duplicate, survivor):
        if not record.is_open:
            merged = merged_into(session, record.id)
            what = f"merged into record {merged}" if merged is not None else "closed"
            raise TransitionRefused(f"record {record.id} is already {what}")
    if (duplicate.pack, duplicate.record_type) != (survivor.pack, survivor.record_type):
        raise InvalidInput(
            f"record {duplicate.id} ({duplicate.pack}/{duplicate.record_type}) and record "
            f"{survivor.id} ({survivor.pack}/{survivor.record_type}) are of different kinds; "
            "only records of one pack and record type merge",
            fields={"into": "another record type"},
        )
    if None not in (duplicate.customer_id, survivor.customer_id) and (
        duplicate.customer_id != survivor.customer_id
    ):
        raise InvalidInput(
            f"records {duplicate.id} and {survivor.id} belong to different customers",
            fields={"into": "another customer"},
        )


def merged_into(session: Session, record_id: int) -> int | None:
    """The record this one was merged into, or None."""
    return session.scalar(select(RecordMerge.merged_into).where(RecordMerge.record_id == record_id))


def survivor_of(session: Session, record: Record) -> Record:
    """The record a merged one lives on as (through a chain of merges); others are themselves.

    A customer's message naming a merged record (its reference in a subject, a reply to its
    old mail) belongs to the survivor's conversation.
    """
    for _level in range(MAX_DEPTH):
        into = merged_into(session, record.id) if not record.is_open else None
        found = session.get(Record, into) if into is not None else None
        if found is None:
            return record
        record = found
    return record


def merged_ids(session: Session, record_id: int) -> list[int]:
    """Every record merged into this one, directly or through a record merged into it
    (one query per level of the chain), oldest merge first within a level."""
    found: list[int] = []
    frontier = [record_id]
    for _level in range(MAX_DEPTH):
        frontier = list(
            session.scalars(
                select(RecordMerge.record_id)
                .where(RecordMerge.merged_into.in_(frontier))
                .order_by(RecordMerge.merged_at, RecordMerge.record_id)
            )
        )
        if not frontier:
            break
        found.extend(frontier)
    return found


def find(session: Session, reference: str) -> Record:
    """A record by the number or the reference an agent types: `123`, `#123` or `CL-123`."""
    text = reference.strip().upper().removeprefix("CL-").removeprefix("#").strip()
    if not text.isdigit() or len(text) > 18:
        raise InvalidInput(f"'{reference[:40]}' is not a record number", fields={"into": "number"})
    record = session.get(Record, int(text))
    if record is None:
        raise NotFound(f"record {text} does not exist")
    return record


def _move_thread(session: Session, from_id: int, to_id: int) -> int:
    """Move the messages (and the outbox rows that sent them); return how many messages moved."""
    sent_by = select(ThreadMessage.outbox_id).where(
        ThreadMessage.record_id == from_id, ThreadMessage.outbox_id.is_not(None)
    )
    session.execute(
        update(OutboxMessage).where(OutboxMessage.id.in_(sent_by)).values(record_id=to_id),
        execution_options={"synchronize_session": False},
    )
    result = session.execute(
        update(ThreadMessage).where(ThreadMessage.record_id == from_id).values(record_id=to_id),
        execution_options={"synchronize_session": False},
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _combine(
    session: Session,
    table: type[RecordTag] | type[RecordFollower],
    key: InstrumentedAttribute[Any],
    from_id: int,
    to_id: int,
    now: datetime,
) -> None:
    """Copy the duplicate's tags (or followers) to the survivor, those it lacks, in one INSERT."""
    has = select(key).where(table.record_id == to_id)
    rows = select(literal(to_id), key, literal(now, UTCDateTime())).where(
        table.record_id == from_id, key.not_in(has)
    )
    session.execute(insert(table).from_select(["record_id", key.key, "created_at"], rows))


@dataclass(frozen=True)
class Links:
    """A record's merges as its page shows them: where it went, what came into it."""

    into: int | None
    merged: tuple[int, ...]


def links(session: Session, record_id: int) -> Links:
    """The record it was merged into (if any) and every record merged into it."""
    return Links(merged_into(session, record_id), tuple(merged_ids(session, record_id)))
