"""trust: sign-in throttling, session generations, customer contact data encrypted at rest

Existing customers' names and contacts are encrypted with CARELOOP_DATA_KEY and their
contacts hashed with CARELOOP_LOOKUP_KEY (see engine/crypto.py), in this migration.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-22 21:00:00.000000
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from engine.access import crypto

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "sign_in_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=128), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_failures")),
    )
    op.create_index(
        "ix_sign_in_failures_who", "sign_in_failures", ["username", "address", "at"], unique=False
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_generation", sa.Integer(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.alter_column("name", type_=sa.Text(), existing_type=sa.String(length=200))
        batch_op.alter_column("contact", type_=sa.Text(), existing_type=sa.String(length=200))
        batch_op.add_column(sa.Column("contact_hash", sa.String(length=64), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_customers_contact_hash"), ["contact_hash"], unique=False
        )
    _seal_customers(crypto.encrypt, hashed=True)


def _seal_customers(change: Callable[[str], str], *, hashed: bool) -> None:
    """Encrypt (or, going down, decrypt) every stored name and contact."""
    customers = sa.table(
        "customers",
        sa.column("id", sa.Integer()),
        sa.column("name", sa.Text()),
        sa.column("contact", sa.Text()),
        sa.column("contact_hash", sa.String()),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(customers.c.id, customers.c.name, customers.c.contact)).all()
    for row in rows:
        values: dict[str, str | None] = {
            "name": None if row.name is None else change(row.name),
            "contact": None if row.contact is None else change(row.contact),
        }
        if hashed:
            values["contact_hash"] = crypto.lookup_hash(row.contact)
        bind.execute(sa.update(customers).where(customers.c.id == row.id).values(**values))


def downgrade() -> None:

    _seal_customers(crypto.decrypt, hashed=False)
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customers_contact_hash"))
        batch_op.drop_column("contact_hash")
        batch_op.alter_column("contact", type_=sa.String(length=200), existing_type=sa.Text())
        batch_op.alter_column("name", type_=sa.String(length=200), existing_type=sa.Text())

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_generation")
    op.drop_index("ix_sign_in_failures_who", table_name="sign_in_failures")
    op.drop_table("sign_in_failures")
