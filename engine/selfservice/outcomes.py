"""The vocabulary of self-service outcomes and the one function that writes them.

Kinds: `answered` (the customer left satisfied with an article and made no record), `handed_over`
(the portal or chat box created a record for a person), `helpful` / `unhelpful` (a vote on an
article). Sources: `portal` (the knowledge-base pages), `form` (the web form's suggestions),
`chat` (the instant-answer box). A query is kept for the per-question figure, but personal data
must not ride along: runs of digits (phones, order and ID numbers) and mail addresses are blanked.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final, Literal

from sqlalchemy.orm import Session

from engine.store.models.selfservice import SelfServiceOutcome

Kind = Literal["answered", "handed_over", "helpful", "unhelpful"]
Source = Literal["portal", "form", "chat"]
KINDS: Final = ("answered", "handed_over", "helpful", "unhelpful")
SOURCES: Final = ("portal", "form", "chat")
QUERY_MAX: Final = 200
_MAIL = re.compile(r"[^@\s]+@[^@\s]+")
_DIGITS = re.compile(r"\d{4,}")
_SPACES = re.compile(r"\s+")


def clean_query(text: str | None) -> str | None:
    """The words of a question fit to keep: no addresses or long numbers, one space, ≤200 chars."""
    if text is None:
        return None
    cleaned = _DIGITS.sub("#", _MAIL.sub("@", text))
    cleaned = _SPACES.sub(" ", cleaned).strip()[:QUERY_MAX]
    return cleaned or None


def record_outcome(
    session: Session,
    *,
    kind: Kind,
    source: Source,
    at: datetime,
    pack: str | None = None,
    article_id: int | None = None,
    query: str | None = None,
    record_id: int | None = None,
) -> SelfServiceOutcome:
    """Add one outcome to the session (the caller's unit of work commits it)."""
    if kind not in KINDS or source not in SOURCES:
        raise ValueError(f"unknown self-service outcome {kind!r} from {source!r}")
    row = SelfServiceOutcome(
        pack=pack,
        kind=kind,
        source=source,
        article_id=article_id,
        query=clean_query(query),
        record_id=record_id,
        at=at,
    )
    session.add(row)
    return row
