"""scrub NUL and lone surrogates from records' fields (issue #22)

Before intake refused them (`engine.bounds`), a record could store `\\u0000` or a lone
surrogate (`\\ud800`) inside its JSON fields: PostgreSQL then fails every `->>` that meets
it, so that customer's export and erasure and the early-warning monitors failed on each run.
This replaces each with U+FFFD, the replacement character, once; nothing else changes.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 02:40:00
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As json.dumps writes them (ensure_ascii): a NUL, and the first half of each surrogate escape.
NEEDLES = ("\\u0000", *(f"\\ud{c}" for c in "89abcdef"))
# The same characters as `engine.bounds` refuses, kept here: a migration must not change
# with the code after it.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def scrub(value: Any) -> Any:
    if isinstance(value, str):
        return UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {scrub(k): scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def upgrade() -> None:
    bind = op.get_bind()
    records = sa.table("records", sa.column("id", sa.Integer), sa.column("fields", sa.JSON))
    text = sa.cast(records.c.fields, sa.Text)
    find = sa.func.strpos if bind.dialect.name == "postgresql" else sa.func.instr
    rows = bind.execute(
        sa.select(records.c.id, text).where(sa.or_(*(find(text, n) > 0 for n in NEEDLES)))
    ).all()
    for record_id, raw in rows:
        fields = scrub(json.loads(raw))
        bind.execute(records.update().where(records.c.id == record_id).values(fields=fields))


def downgrade() -> None:
    """Nothing to undo: the characters replaced could not be read back anyway."""
