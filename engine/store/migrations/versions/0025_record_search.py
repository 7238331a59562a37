"""records' search documents, the deadline sort's and the priority filter's indexes (#21)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 02:30:00
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As for the knowledge base's documents (0011): the words are jieba's, joined by spaces; SQLite
# indexes them in a contentless FTS5 table whose rowid is the record's id, kept in step by
# triggers; PostgreSQL in a stored 'simple' tsvector with a GIN index. The names start like
# 0011's so the schema checks (`engine.store.migrate.DIALECT_ONLY`) leave them alone too.
FTS = "search_fts_records"
SQLITE_UP = [
    f"CREATE VIRTUAL TABLE {FTS} USING fts5(tokens, content='')",
    f"CREATE TRIGGER {FTS}_ai AFTER INSERT ON record_search_docs BEGIN "
    f"INSERT INTO {FTS}(rowid, tokens) VALUES (new.record_id, new.tokens); END",
    f"CREATE TRIGGER {FTS}_ad AFTER DELETE ON record_search_docs BEGIN "
    f"INSERT INTO {FTS}({FTS}, rowid, tokens) VALUES ('delete', old.record_id, old.tokens); END",
    f"CREATE TRIGGER {FTS}_au AFTER UPDATE ON record_search_docs BEGIN "
    f"INSERT INTO {FTS}({FTS}, rowid, tokens) VALUES ('delete', old.record_id, old.tokens); "
    f"INSERT INTO {FTS}(rowid, tokens) VALUES (new.record_id, new.tokens); END",
]
SQLITE_DOWN = [
    *(f"DROP TRIGGER IF EXISTS {FTS}_{when}" for when in ("ai", "ad", "au")),
    f"DROP TABLE IF EXISTS {FTS}",
]
POSTGRESQL_VECTOR = (
    "ALTER TABLE record_search_docs ADD COLUMN search_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple', tokens)) STORED"
)
# Built after the backfill: one sort of the whole table instead of a million index inserts.
POSTGRESQL_INDEX = (
    "CREATE INDEX ix_search_docs_vector_records ON record_search_docs USING gin (search_vector)"
)
CHUNK = 5_000
MOBILE = re.compile(r"\+?(?:86)?1[3-9]\d{9}")  # left out of the documents: personal data


def upgrade() -> None:
    op.create_table(
        "record_search_docs",
        sa.Column("record_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tokens", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name=op.f("fk_record_search_docs_record_id_records")
        ),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_record_search_docs")),
    )
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute(POSTGRESQL_VECTOR)
    else:
        for statement in SQLITE_UP:
            op.execute(statement)
    _backfill(op.get_bind())
    if postgresql:
        op.execute(POSTGRESQL_INDEX)
    # The queue by nearest deadline (none last) read off an index rather than sorted whole.
    op.create_index(
        "ix_records_deadline",
        "records",
        ["is_open", sa.text("CAST(next_deadline IS NULL AS INTEGER)"), "next_deadline", "id"],
    )
    # The queue filtered by one priority, in the queue's order: on `ix_records_queue` a P2
    # filter first skipped every open P0 and P1 record.
    op.create_index(
        "ix_records_priority_queue",
        "records",
        [
            "is_open",
            "priority",
            "priority_rank",
            "tier_rank",
            sa.text("(next_deadline IS NULL)"),
            "next_deadline",
            "id",
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_records_priority_queue", table_name="records")
    op.drop_index("ix_records_deadline", table_name="records")
    if op.get_bind().dialect.name != "postgresql":
        for statement in SQLITE_DOWN:
            op.execute(statement)
    op.drop_table("record_search_docs")


def _backfill(connection: sa.Connection) -> None:
    """Every existing record's document, in chunks of CHUNK records (one INSERT each).

    The searched fields are read from each pack version's stored data with the rule of this
    revision (text fields that are neither a contact nor masked: `FieldSpec.is_personal`),
    so the migration does not depend on how later code builds a pack's spec.
    """
    from engine.knowledge import segment  # jieba: loaded only when there is text to cut

    names = _searched_fields(connection)
    docs = sa.table("record_search_docs", sa.column("record_id"), sa.column("tokens"))
    rows: list[dict[str, Any]] = []
    for record_id, version_id, record_type, fields in _records(connection):
        searched = names.get((version_id, record_type), ())
        values = fields if isinstance(fields, dict) else {}
        text = "\n".join(str(values[n]) for n in searched if values.get(n) not in (None, ""))
        words = (w for w in segment.words(text) if not MOBILE.fullmatch(w))
        rows.append({"record_id": record_id, "tokens": " ".join(words)})
        if len(rows) >= CHUNK:
            connection.execute(sa.insert(docs), rows)
            rows.clear()
    if rows:
        connection.execute(sa.insert(docs), rows)


def _searched_fields(connection: sa.Connection) -> dict[tuple[int, str], tuple[str, ...]]:
    versions = sa.table("pack_versions", sa.column("id"), sa.column("data", sa.JSON()))
    found: dict[tuple[int, str], tuple[str, ...]] = {}
    for version_id, data in connection.execute(sa.select(versions.c.id, versions.c.data)):
        for rtype, spec in ((data or {}).get("record_types") or {}).items():
            fields = (spec or {}).get("fields") or {}
            found[(version_id, rtype)] = tuple(
                name
                for name, field in fields.items()
                if isinstance(field, dict) and field.get("type") == "text" and not field.get("mask")
            )
    return found


def _records(connection: sa.Connection) -> Iterator[tuple[int, int, str, Any]]:
    """The records by id, a chunk per query (keyset), so a million never sit in memory."""
    records = sa.table(
        "records",
        sa.column("id"),
        sa.column("pack_version_id"),
        sa.column("record_type"),
        sa.column("fields", sa.JSON()),
    )
    last = 0
    while True:
        chunk = connection.execute(
            sa.select(records.c.id, records.c.pack_version_id, records.c.record_type)
            .add_columns(records.c.fields)
            .where(records.c.id > last)
            .order_by(records.c.id)
            .limit(CHUNK)
        ).all()
        if not chunk:
            return
        for row in chunk:
            yield row.id, row.pack_version_id, row.record_type, row.fields
        last = chunk[-1].id
