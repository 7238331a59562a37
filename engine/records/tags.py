"""Tags on records (issue #21, item 2): free words agents put on a record to find it again.

A tag is 1–32 characters without spaces or commas (`保修`, `vip-callback`); Latin letters
are kept lower case, so `VIP` and `vip` are one tag. A record carries at most `MAX_TAGS`.
Tags live in their own table: tagging never touches the record's row, so nobody's open form
goes stale, and the history says who added or removed which. The queue reads the tags of a
whole page in one statement (`tags_of`) and filters by them with one EXISTS per tag asked for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, delete, exists, select
from sqlalchemy.orm import Session

from engine.errors import InvalidInput
from engine.events import TagsChanged
from engine.records.journal import add_event
from engine.store import dialect
from engine.store.models import Record, RecordTag

MAX_TAGS, MAX_LENGTH = 20, 32
# No whitespace, no separators a list is typed with, no control characters.
_BAD = re.compile(r"[\s,，、;；\x00-\x1f\x7f]")


def normalise(text: str) -> str:
    """The tag as stored, or InvalidInput saying why it cannot be one."""
    tag = text.strip().lower()
    if not tag or len(tag) > MAX_LENGTH or _BAD.search(tag):
        raise InvalidInput(
            f"a tag is 1–{MAX_LENGTH} characters without spaces or commas: '{text[:40]}'",
            fields={"tags": "bad_tag"},
        )
    return tag


def split(text: str) -> list[str]:
    """Tags typed in one box, separated by spaces or commas (ASCII or Chinese), each checked."""
    return list(dict.fromkeys(normalise(t) for t in re.split(r"[\s,，、;；]+", text) if t))


def tags_of(session: Session, record_ids: Iterable[int]) -> dict[int, list[str]]:
    """Each record's tags in alphabetical order, for a whole page in one statement."""
    wanted = list(set(record_ids))
    found: dict[int, list[str]] = {i: [] for i in wanted}
    if not wanted:
        return found
    rows = session.execute(
        select(RecordTag.record_id, RecordTag.tag)
        .where(RecordTag.record_id.in_(wanted))
        .order_by(RecordTag.record_id, RecordTag.tag)
    )
    for record_id, tag in rows:
        found[record_id].append(tag)
    return found


def change(
    session: Session,
    record: Record,
    *,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
    actor: str,
    now: datetime,
) -> list[str]:
    """Add and remove tags; the history names those that really changed. Returns the tags."""
    adding = list(dict.fromkeys(normalise(t) for t in add))
    removing = [t for t in dict.fromkeys(t.strip().lower() for t in remove) if t not in adding]
    current = set(tags_of(session, [record.id])[record.id])
    added = [t for t in adding if t not in current]
    removed = [t for t in removing if t in current]
    if len(current) + len(added) - len(removed) > MAX_TAGS:
        raise InvalidInput(f"a record carries at most {MAX_TAGS} tags", fields={"tags": "too_many"})
    if added:  # two agents adding the same tag at once: the second insert does nothing
        rows = [{"record_id": record.id, "tag": t, "created_at": now} for t in added]
        session.execute(dialect.insert(session, RecordTag).values(rows).on_conflict_do_nothing())
    if removed:
        session.execute(
            delete(RecordTag).where(RecordTag.record_id == record.id, RecordTag.tag.in_(removed))
        )
    if added or removed:
        add_event(session, record, now, TagsChanged(tuple(added), tuple(removed)), actor=actor)
    return sorted((current | set(added)) - set(removed))


def has_tag(tag: str) -> ColumnElement[bool]:
    """The queue's filter: the record carries the tag (read off `ix_record_tags_tag`)."""
    return exists().where(RecordTag.record_id == Record.id, RecordTag.tag == tag)
