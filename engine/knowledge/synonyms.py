"""Synonyms operations staff keep (快递 = 物流 = 配送), applied to questions at query time.

Expanding the question rather than the index means a new synonym works at
once, for everything already indexed, with no reindex.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import InvalidInput
from engine.knowledge import segment
from engine.store.models import SynonymGroup

# A term is one word, or several that must all be found (无法开机 is cut into 无法 and 开机).
Term = tuple[str, ...]
_SEPARATORS = re.compile(r"[,，、;；=\s]+")
_NOT_WORD = re.compile(r"\W+")


def parse(words: str) -> list[str]:
    """The distinct words of a group as typed: separated by commas, 、, = or spaces."""
    return list(dict.fromkeys(w.strip().lower() for w in _SEPARATORS.split(words) if w.strip()))


def add_group(session: Session, words: str, *, actor: str, now: datetime) -> SynonymGroup:
    """A new group of words that mean the same; at least two, or it says nothing."""
    group = SynonymGroup(words=words, updated_by=actor, updated_at=now)
    check(group)
    session.add(group)
    return group


def check(group: SynonymGroup) -> None:
    parsed = parse(group.words or "")
    if len(parsed) < 2:
        raise InvalidInput(
            "a synonym group needs at least two words, e.g. 快递, 物流, 配送",
            fields={"words": group.words or ""},
        )
    group.words = ", ".join(parsed)


def groups(session: Session) -> list[list[str]]:
    return [parse(words) for words in session.scalars(select(SynonymGroup.words))]


def expand(question: str, terms: Sequence[str], known: Sequence[Sequence[str]]) -> list[Term]:
    """The question's terms, then every synonym of a word the question contains."""
    wanted: dict[Term, None] = {(term,): None for term in terms}
    text = question.lower()
    for group in known:
        if any(word in text or word in terms for word in group):
            for word in group:
                term = _term(word)
                if term:
                    wanted.setdefault(term, None)
    return list(wanted)


def _term(word: str) -> Term:
    """A synonym as words to find, or () when segmenting it loses part of it.

    开不了机 cuts into 开 / 不了 / 机, and 不了 alone would match anything that fails;
    such a word is left out and the rest of its group still applies.
    """
    found = tuple(segment.words(word, search=False))
    return found if "".join(found) == _NOT_WORD.sub("", word) else ()
