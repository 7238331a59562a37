"""records' personal fields encrypted at rest, their contact found by a keyed hash (#22 item 4)

Each record's values that its record type, in the pack version the record is pinned to, marks
personal (`mask`, or type `contact`) move out of the clear `fields` JSON into `private_fields`,
one Fernet text under CARELOOP_DATA_KEY, and its contact's keyed hash (CARELOOP_LOOKUP_KEY)
goes to `contact_hash`, as 0013 did for the customers. Downgrade puts the values back in clear.
Without the keys the upgrade stops at the first record holding personal values, with the
line of `engine.access.crypto.MissingKey` (the variable, and `careloop keys new`).

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07 06:00:00
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from engine.access import crypto

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHUNK = 1_000
LOOKUP_MASKS = ("phone", "email")
RECORDS = sa.table(
    "records",
    sa.column("id", sa.Integer()),
    sa.column("pack_version_id", sa.Integer()),
    sa.column("record_type", sa.String()),
    sa.column("fields", sa.JSON()),
    sa.column("private_fields", sa.Text()),
    sa.column("contact_hash", sa.String()),
)


def upgrade() -> None:
    op.add_column("records", sa.Column("private_fields", sa.Text(), nullable=True))
    op.add_column("records", sa.Column("contact_hash", sa.String(length=64), nullable=True))
    _seal(op.get_bind())
    op.create_index(op.f("ix_records_contact_hash"), "records", ["contact_hash"], unique=False)


def downgrade() -> None:
    _unseal(op.get_bind())
    op.drop_index(op.f("ix_records_contact_hash"), table_name="records")
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+): a batch copy of `records` would lose
    # the expression indexes of the queue, which SQLite's reflection does not return.
    op.drop_column("records", "contact_hash")
    op.drop_column("records", "private_fields")


def _personal(connection: sa.Connection) -> dict[tuple[int, str], tuple[list[str], list[str]]]:
    """Per pack version and record type, `_names` of its fields, read from the stored pack with
    this revision's rule, so later code changes nothing here."""
    versions = sa.table("pack_versions", sa.column("id"), sa.column("data", sa.JSON()))
    found: dict[tuple[int, str], tuple[list[str], list[str]]] = {}
    for version_id, data in connection.execute(sa.select(versions.c.id, versions.c.data)):
        for rtype, spec in ((data or {}).get("record_types") or {}).items():
            found[(version_id, rtype)] = _names((spec or {}).get("fields") or {})
    return found


def _names(fields: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The personal fields (`mask`, or type `contact`), and those a contact is looked up by in
    the order tried: type contact first, then text masked as a phone or an email."""
    kinds = {n: f for n, f in fields.items() if isinstance(f, dict)}
    personal = [n for n, f in kinds.items() if f.get("type") == "contact" or f.get("mask")]
    contacts = [n for n, f in kinds.items() if f.get("type") == "contact"]
    contacts += [n for n in personal if n not in contacts and kinds[n].get("mask") in LOOKUP_MASKS]
    return personal, contacts


def _seal(connection: sa.Connection) -> None:
    """Move each record's personal values into the encrypted column, a chunk per statement."""
    personal = _personal(connection)
    update = (
        sa.update(RECORDS)
        .where(RECORDS.c.id == sa.bindparam("record_id"))
        .values(
            fields=sa.bindparam("plain", type_=sa.JSON()),
            private_fields=sa.bindparam("sealed"),
            contact_hash=sa.bindparam("hashed"),
        )
    )
    for chunk in _chunks(connection, RECORDS.c.fields.is_not(None)):
        rows = []
        for row in chunk:
            names, contacts = personal.get((row.pack_version_id, row.record_type), ([], []))
            values = row.fields if isinstance(row.fields, dict) else {}
            if not any(name in values for name in names):
                continue
            private = {n: values[n] for n in names if values.get(n) is not None}
            contact = next((private[n] for n in contacts if isinstance(private.get(n), str)), None)
            rows.append(
                {
                    "record_id": row.id,
                    "plain": {k: v for k, v in values.items() if k not in names},
                    "sealed": _encrypt(private) if private else None,
                    "hashed": crypto.lookup_hash(contact),
                }
            )
        if rows:
            connection.execute(update, rows)


def _encrypt(private: dict[str, Any]) -> str:
    """As `engine.store.types.EncryptedJSON` writes it: sorted JSON, then Fernet."""
    return crypto.encrypt(json.dumps(private, ensure_ascii=False, sort_keys=True))


def _unseal(connection: sa.Connection) -> None:
    """Put each record's decrypted personal values back into its plain fields."""
    update = (
        sa.update(RECORDS)
        .where(RECORDS.c.id == sa.bindparam("record_id"))
        .values(fields=sa.bindparam("plain", type_=sa.JSON()))
    )
    for chunk in _chunks(connection, RECORDS.c.private_fields.is_not(None)):
        rows = []
        for row in chunk:
            private = json.loads(crypto.decrypt(row.private_fields))
            plain = row.fields if isinstance(row.fields, dict) else {}
            rows.append({"record_id": row.id, "plain": {**plain, **private}})
        connection.execute(update, rows)


def _chunks(connection: sa.Connection, where: sa.ColumnElement[bool]) -> Iterator[Sequence[Any]]:
    """The records by id, CHUNK per query (keyset), so a million never sit in memory."""
    last = 0
    while True:
        chunk = connection.execute(
            sa.select(RECORDS).where(where, RECORDS.c.id > last).order_by(RECORDS.c.id).limit(CHUNK)
        ).all()
        if not chunk:
            return
        yield chunk
        last = chunk[-1].id
