"""What any input may be, in one place: identifiers, text, times and nesting (issue #22).

Every door (the API, the web forms, the CSV imports, the pack YAML) refuses what lies outside
these bounds before it reaches the database, so PostgreSQL and SQLite answer alike:

- identifiers fit the `INTEGER` primary keys (PostgreSQL's are 32-bit: a bigger one is a
  DataError there and a plain miss on SQLite);
- text holds no NUL (PostgreSQL's text cannot store it) and no lone surrogate (not Unicode:
  it cannot be encoded, so every later page and export of the row fails);
- a moment lies in a plausible window: a record received in 1900 would make the daily rollup
  write a row for every day since then;
- nested data (JSON bodies, YAML) stays shallow, so no parser or walker recurses past
  Python's stack.

Pure functions over plain values: the engine raises `InvalidInput` with them, the web faces
answer 400/422 with them (web/bounds.py), the pack loader names the file and line.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.errors import InvalidInput

MAX_ID = 2**31 - 1  # INTEGER primary keys; PostgreSQL refuses anything past this
MAX_DEPTH = 64  # lists and mappings inside one another; real payloads need three or four
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # no desk received anything before this
AHEAD = timedelta(days=3653)  # ten years: the furthest deadline or schedule that makes sense

_BAD_CHARACTER = re.compile("[\x00\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text, or None when it can."""
    found = _BAD_CHARACTER.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "contains a NUL character (U+0000), which text cannot hold"
    return "contains a lone surrogate (not valid Unicode text)"


def check_text(value: str, name: str) -> str:
    """`value` unchanged, or InvalidInput naming the field and the bad character."""
    problem = text_problem(value)
    if problem is not None:
        raise InvalidInput(f"{name} {problem}", fields={name: problem})
    return value


def scrub(value: str) -> str:
    """`value` with NULs and lone surrogates replaced: for data stored before the doors checked,
    so an export or an erasure of an old row cannot fail on it."""
    return _BAD_CHARACTER.sub("\ufffd", value)


def scrub_all(value: Any) -> Any:
    """`scrub` through nested lists and mappings (a record's fields, an event's payload)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {scrub_all(k): scrub_all(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_all(v) for v in value]
    return value


def nested_problem(value: Any, limit: int = MAX_DEPTH) -> str | None:
    """Why parsed data (JSON, YAML) cannot be taken: nested past `limit`, or a string (a key or
    a value) that `text_problem` refuses. Iterative, so depth itself cannot overflow the stack."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem is not None:
                return f"a string {problem}"
        elif isinstance(item, dict | list | tuple):
            if depth >= limit:
                return f"nested deeper than {limit} levels"
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return None


def in_range_id(value: int) -> bool:
    """Whether `value` can be a stored row's id at all (a bigger one simply finds nothing)."""
    return 1 <= value <= MAX_ID


def parse_id(text: str | bytes | None) -> int | None:
    """The id written in `text` (digits only), or None when it is none or past `MAX_ID`: a
    lookup by it would find nothing on SQLite and overflow INTEGER on PostgreSQL."""
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    if not text or not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    value = int(text)
    return value if in_range_id(value) else None


def check_moment(value: datetime, now: datetime, name: str) -> datetime:
    """`value` unchanged when it lies between 2000-01-01 and ten years after `now`; otherwise
    InvalidInput naming the field (a record from year 1 or 1900 is a typo or an attack)."""
    if value < EARLIEST or value > now + AHEAD:
        problem = (
            f"must lie between {EARLIEST.date().isoformat()} and {(now + AHEAD).date().isoformat()}"
        )
        raise InvalidInput(f"{name} {value.isoformat()} {problem}", fields={name: problem})
    return value
