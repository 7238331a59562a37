"""The queue's full-text index of records (issue #21 item 5 at scale, R-2.6).

Each record has one `RecordSearchDoc`: jieba's words (search mode, as the knowledge base cuts
its documents) of its non-personal text fields — the description, a subject, an order or
tracking number, a solution — joined by spaces. SQLite reads them through an FTS5 table,
PostgreSQL through a GIN index on a stored `simple` tsvector (migration 0025), the same two
indexes `engine.knowledge.search` uses, so a word of a description is found among a million
records without reading them. Personal fields (a contact, a masked name: `FieldSpec.
is_personal`, R-1.2, R-8.3) and choice keys never enter the index.

The documents are kept in step by a listener on every ORM flush, in the flush's own
transaction: whichever path adds a record object or writes its fields (a transition, an
edit from the desk, the admin), its words are current when the transaction commits. Intake
(the API, the desk, a campaign task, an early warning) writes records as plain rows and their
documents with them (`intakerows`). A batch of new records is one INSERT of all their
documents; records whose searched values did not change cost nothing but a comparison.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Boolean, ColumnElement, bindparam, delete, event, insert, inspect, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute, Session, UOWTransaction
from sqlalchemy.sql import visitors
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

from engine.errors import NotFound
from engine.knowledge import segment
from engine.specs.pack import RecordTypeSpec
from engine.store.models import PackVersion, Record, RecordSearchDoc

SEARCHED_TYPES = frozenset({"text"})  # numbers, dates and choice keys are filters, not words
# A word the tokenizers of both databases keep: one letter or digit at least (not `_` or `%`).
_INDEXABLE = re.compile(r"[^\W_]")
# Latin letters and digits also match as a prefix: `xqg8` finds the model XQG80-BD14.
_PREFIX = re.compile(r"[a-z0-9]+")
# A mainland mobile number (R-1.2's contact), wherever it was typed.
_MOBILE = re.compile(r"\+?(?:86)?1[3-9]\d{9}")
# SQLite: a search matching at most FEW records reads them by id (5,000 lookups and a sort:
# a few ms); beyond, walking the queue's index is cheaper (measured at 1,000,000 records).
FEW = 5_000
S = TypeVar("S", bound=ClauseElement)


def searched_fields(rtype: RecordTypeSpec) -> tuple[str, ...]:
    """The fields whose words a record's document holds: text, and not personal."""
    return tuple(
        f.id for f in rtype.fields.values() if f.type in SEARCHED_TYPES and not f.is_personal
    )


def tokens(fields: Mapping[str, Any], names: Iterable[str]) -> str:
    """The document of a record: the words of its searched fields, joined by spaces; a mobile
    number a customer wrote into a description is left out (personal data, R-8.3)."""
    text = "\n".join(str(fields[n]) for n in names if fields.get(n) not in (None, ""))
    return " ".join(w for w in segment.words(text) if not _MOBILE.fullmatch(w))


def terms(word: str) -> list[str]:
    """What the index is asked for a word typed in the search box: its words (precise mode,
    a subset of the search-mode words indexed), lowercased; none for a piece no index holds
    (a lone character, `%`, `_`), which the finder then matches as typed."""
    return [w for w in segment.words(word, search=False) if _INDEXABLE.search(w)]


class _Fields:
    """Searched field names per pack version and record type (versions never change)."""

    def __init__(self) -> None:
        self._names: dict[tuple[int, str], tuple[str, ...]] = {}
        self._lock = threading.Lock()

    def of(self, session: Session, record: Record) -> tuple[str, ...]:
        key = (record.pack_version_id, record.record_type)
        names = self._names.get(key)
        if names is None:
            version = session.get(PackVersion, record.pack_version_id)
            if version is None:
                raise NotFound(f"pack version {record.pack_version_id} does not exist")
            from engine.specs.build import build_pack_spec  # not at import: every process has us

            spec, problems = build_pack_spec(version.data)
            if spec is None:
                raise ValueError(f"stored pack {version.pack} is invalid: {problems[0].message}")
            with self._lock:
                for rtype in spec.record_types.values():
                    self._names[(version.id, rtype.id)] = searched_fields(rtype)
            names = self._names[key]
        return names


_FIELDS = _Fields()


@event.listens_for(Session, "after_flush")
def _keep_in_step(session: Session, _flush: UOWTransaction) -> None:
    """Write the documents of the records this flush created or whose searched text changed.

    `after_flush` still sees the flush's new and dirty objects and their attribute history,
    and the new records have their ids; the statements join the flush's transaction.
    """
    written: list[dict[str, Any]] = []
    replaced: list[int] = []
    for record in session.new:
        if isinstance(record, Record):
            written.append(_row(record, _FIELDS.of(session, record)))
    for record in session.dirty:
        if isinstance(record, Record):
            names = _FIELDS.of(session, record)
            if _text_changed(record, names):
                replaced.append(record.id)
                written.append(_row(record, names))
    if not written:
        return
    connection = session.connection()
    if replaced:
        connection.execute(delete(RecordSearchDoc).where(RecordSearchDoc.record_id.in_(replaced)))
    connection.execute(insert(RecordSearchDoc), written)


def _row(record: Record, names: Sequence[str]) -> dict[str, Any]:
    return {"record_id": record.id, "tokens": tokens(record.fields or {}, names)}


def _text_changed(record: Record, names: Sequence[str]) -> bool:
    history = inspect(record).attrs.fields.history
    if not history.has_changes():
        return False
    before = history.deleted[0] if history.deleted else None
    if not isinstance(before, Mapping):
        return True  # not loaded before it was replaced: write it anew
    after = record.fields or {}
    return any(before.get(n) != after.get(n) for n in names)


class HoldsWords(ColumnElement[bool]):
    """`record_id` is a record whose document holds every one of `words` (from `terms`).

    One IN over the index of the database at hand: an FTS5 MATCH on SQLite, a tsquery on the
    GIN index on PostgreSQL. The words are bound parameters, never SQL or query syntax.
    Not cached: the statement's text depends on how many words there are.
    """

    type = Boolean()
    inherit_cache = False
    # An IN is a truth value already: without this SQLAlchemy writes `… IN (…) = 1` on SQLite,
    # which no index can serve (the 200,000-record bench read the whole queue for a rare word).
    _is_implicitly_boolean = True

    def __init__(self, record_id: QueryableAttribute[int], words: Sequence[str]) -> None:
        if not words:
            raise ValueError("a search needs at least one word")
        self.record_id = record_id.expression
        self.words = tuple(dict.fromkeys(words))
        self.few: bool | None = None  # at most FEW matches (`planned` finds out)

    def matching(self, dialect: str) -> tuple[str, dict[str, str]]:
        """The ids of the matching records as a SELECT, and its parameters.

        SQLite: an FTS5 query, every word a quoted string (never query syntax). PostgreSQL:
        one tsquery per word, AND-ed. Latin words match as a prefix on both.
        """
        prefix = [bool(_PREFIX.fullmatch(word)) for word in self.words]
        if dialect == "postgresql":
            parts = [
                f"to_tsquery('simple', :w{n})" if p else f"plainto_tsquery('simple', :w{n})"
                for n, p in enumerate(prefix)
            ]
            values = {
                f"w{n}": w + (":*" if p else "")
                for n, (w, p) in enumerate(zip(self.words, prefix, strict=True))
            }
            sql = (
                "SELECT record_id FROM record_search_docs "
                f"WHERE search_vector @@ ({' && '.join(parts)})"
            )
            return sql, values
        match = " AND ".join(
            '"' + word.replace('"', '""') + '"' + ("*" if p else "")
            for word, p in zip(self.words, prefix, strict=True)
        )
        sql = "SELECT rowid FROM search_fts_records WHERE search_fts_records MATCH :w0"
        return sql, {"w0": match}


def holds_words(record_id: QueryableAttribute[int], words: Sequence[str]) -> ColumnElement[bool]:
    return HoldsWords(record_id, words)


def _matching(element: HoldsWords, compiler: SQLCompiler, **kw: Any) -> str:
    sql, values = element.matching(compiler.dialect.name)
    query = text(sql).bindparams(*(bindparam(k, v, unique=True) for k, v in values.items()))
    return compiler.process(query, **kw)


@compiles(HoldsWords, "postgresql")
def _tsquery(element: HoldsWords, compiler: SQLCompiler, **kw: Any) -> str:
    """Few matches: their ids first (`= ANY(ARRAY(…))`, an init plan), then those records by
    their primary key, sorted. Many: an IN the planner joins as it sees fit."""
    record_id = compiler.process(element.record_id, **kw)
    if element.few:
        return f"{record_id} = ANY(ARRAY({_matching(element, compiler, **kw)}))"
    return f"{record_id} IN ({_matching(element, compiler, **kw)})"


@compiles(HoldsWords, "sqlite")
def _fts5(element: HoldsWords, compiler: SQLCompiler, **kw: Any) -> str:
    """With few matches the records are read by id and sorted; with many, the queue's index
    is walked in order and each record looked up among the matches (`+` keeps SQLite from
    using the IN to choose the index)."""
    walk = "" if element.few else "+"
    record_id = compiler.process(element.record_id, **kw)
    return f"{walk}{record_id} IN ({_matching(element, compiler, **kw)})"


def planned(session: Session, statement: S) -> S:
    """The statement, each of its searches told whether it matches few records.

    Neither database estimates well how many records a search matches: SQLite has no
    statistics on an FTS5 table, and PostgreSQL's GIN costs made it walk 25,000 records of
    the queue for two words that 850 of 500,000 records hold (1.3 s; bench row of issue #21).
    So one bounded count per search decides: up to FEW matches, read them by id and sort
    them; more, walk the queue's index, where a page fills after about 25 / (the share of
    records matched) rows.
    """
    dialect = session.get_bind().dialect.name
    for element in visitors.iterate(statement):
        if isinstance(element, HoldsWords) and element.few is None:
            sql, values = element.matching(dialect)
            found = session.execute(
                text(f"SELECT count(*) FROM ({sql} LIMIT :few) AS found"),
                {**values, "few": FEW + 1},
            ).scalar_one()
            element.few = found <= FEW
    return statement
