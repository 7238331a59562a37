"""The queue's query string as a typed filter set: every argument optional, each one checked.

A value that cannot be a filter (a NUL byte, an unknown state, a key that is no key, a date that
is not one) is left out and named in `ignored`, so the page says what it did not apply instead
of failing; only a forged paging cursor is refused (400), since no page was asked for with it.
Dates are days in the user's own zone, turned into the UTC instants the store holds.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from engine.knowledge import segment
from engine.records import finder, personal, tags
from engine.records.finder import Finder
from engine.store.models import User

KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")  # pack keys and usernames
MAX_WORDS, MAX_QUERY, MAX_TAGS = 8, 100, 5
STATUSES = {"open": True, "closed": False, "all": None}
# The sort keys' types, position by position (i: integer, t: time or none).
CURSOR_KINDS = {"urgency": "iiti", "received": "ti", "deadline": "iti"}
INT_RANGE = range(-(2**31), 2**31)  # what an INTEGER column can be compared with
FILTER_ARGS = (
    "q",
    "status",
    "stage",
    "priority",
    "channel",
    "category",
    "department",
    "pack",
    "assignee",
    "tier",
    "sla",
    "from",
    "to",
    "tags",
    "sort",
    "dir",
    "mine",
    "team",
    "unassigned",
    "breached",
)


class BadCursor(ValueError):
    """The `after` argument is not a cursor this queue wrote."""


@dataclass
class Parsed:
    finder: Finder
    ignored: list[str] = field(default_factory=list)


def parse(args: Mapping[str, str], user: User) -> Parsed:
    """The filter set the arguments ask for, with the names of those that could not be used."""
    found = Parsed(Finder())
    values = {name: _clean(args.get(name)) for name in FILTER_ARGS if args.get(name)}
    for name, value in values.items():
        if value is None:
            found.ignored.append(name)
            continue
        try:
            found.finder = _apply(found.finder, name, value, user)
        except ValueError:
            found.ignored.append(name)
    return found


def query_of(args: Mapping[str, str]) -> dict[str, str]:
    """The filter arguments alone (no cursor), as a saved view or an export link keeps them."""
    return {name: args[name] for name in FILTER_ARGS if args.get(name)}


def _clean(value: str | None) -> str | None:
    """The value stripped, or None for one no filter can hold (a NUL byte, too long).

    Bytes that are not UTF-8 (a lone surrogate's) arrive as U+FFFD, decoded by Werkzeug.
    """
    if value is None or "\x00" in value or len(value) > MAX_QUERY:
        return None
    return value.strip() or None


def _apply(wanted: Finder, name: str, value: str, user: User) -> Finder:
    """The filter set with one argument applied; ValueError if the value cannot be used."""
    if name == "q":
        contact = value if personal.looks_like_contact(value) else None
        return replace(wanted, words=search_words(value), contact=contact)
    if name in ("stage", "priority", "channel", "category", "department", "pack"):
        changed: dict[str, Any] = {name: _key(value)}
        return replace(wanted, **changed)
    if name == "assignee":
        return replace(wanted, assignee=_key(value))
    if name in ("from", "to"):
        return _dated(wanted, name, value, user.timezone)
    if name == "tags":  # a bad tag is an InvalidInput, a ValueError: the argument is ignored
        return replace(wanted, tags=tuple(tags.split(value))[:MAX_TAGS])
    if name in ("mine", "team", "unassigned", "breached"):
        return _tab(wanted, name, value, user)
    return _choice(wanted, name, value)


def search_words(text: str) -> tuple[str, ...]:
    """The words to look for: a phrase typed without spaces (洗衣机漏水) cut as the knowledge
    base cuts it, so each word may stand anywhere in the text; a piece with no word in it
    (a number sign, one character) is kept as typed."""
    found: list[str] = []
    for piece in text.split():
        found.extend(segment.words(piece, search=False) or [piece])
    return tuple(dict.fromkeys(found))[:MAX_WORDS]


def _choice(wanted: Finder, name: str, value: str) -> Finder:
    """status, tier, sla, sort and dir: one of a few words."""
    if name == "status" and value in STATUSES:
        return replace(wanted, is_open=STATUSES[value])
    if name == "tier" and value in finder.TIERS:
        return replace(wanted, tier=value)
    if name == "sla" and value in finder.SLA_STATES:
        return replace(wanted, sla=value)
    if name == "sort" and value in finder.SORTS:
        return replace(wanted, sort=value)
    if name == "dir" and value in ("asc", "desc"):
        return replace(wanted, descending=value == "desc")
    raise ValueError(name)


def _tab(wanted: Finder, name: str, value: str, user: User) -> Finder:
    """The queue's tabs (我的, 本组, 未分派, 已超时) as the filters they stand for."""
    if value != "1":
        raise ValueError(name)
    if name == "mine":
        return replace(wanted, assignee=user.username)
    if name == "team":
        return replace(wanted, own_team=True)
    if name == "unassigned":
        return replace(wanted, assignee=finder.NOBODY)
    return replace(wanted, sla="breached")


def _key(value: str) -> str:
    if not KEY.match(value):
        raise ValueError(value)
    return value


def _dated(wanted: Finder, name: str, value: str, zone: str) -> Finder:
    """A day in the user's zone: `from` its first instant, `to` the first instant after it."""
    day = date.fromisoformat(value)
    try:
        if name == "to":
            day += timedelta(days=1)
        moment = datetime.combine(day, time(), ZoneInfo(zone)).astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(value) from exc
    if name == "from":
        return replace(wanted, received_from=moment)
    return replace(wanted, received_to=moment)


def encode_cursor(sort: str, values: list[Any]) -> str:
    shown = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps([sort, *shown]).encode()).decode()


def decode_cursor(text: str, sort: str) -> list[Any]:
    """The sort key a page ended at; BadCursor unless it is one of this sort's, in range."""
    try:
        written, *values = json.loads(base64.urlsafe_b64decode(text.encode()))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise BadCursor(text) from exc
    kinds = CURSOR_KINDS[sort]
    if written != sort or len(values) != len(kinds):
        raise BadCursor(text)
    return [_typed(kind, value) for kind, value in zip(kinds, values, strict=True)]


def _typed(kind: str, value: Any) -> Any:
    if kind == "i":
        if type(value) is not int or value not in INT_RANGE:
            raise BadCursor(str(value))
        return value
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except (ValueError, TypeError) as exc:
        raise BadCursor(str(value)) from exc
    if moment.tzinfo is None:
        raise BadCursor(value)
    return moment
