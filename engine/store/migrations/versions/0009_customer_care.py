"""customer care: profile, consent, tiers per pack, customer history, campaign occasions

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 19:53:57.061947
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "campaign_runs",
        sa.Column("pack", sa.String(length=64), nullable=False),
        sa.Column("campaign", sa.String(length=64), nullable=False),
        sa.Column("ran_until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pack", "campaign", name=op.f("pk_campaign_runs")),
    )
    op.create_table(
        "customer_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("pack", sa.String(length=64), nullable=True),
        sa.Column("old_value", sa.String(length=64), nullable=True),
        sa.Column("new_value", sa.String(length=64), nullable=True),
        sa.Column("rule", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_customer_events_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_events")),
    )
    with op.batch_alter_table("customer_events", schema=None) as batch_op:
        batch_op.create_index("ix_customer_events_customer", ["customer_id", "at"], unique=False)

    op.create_table(
        "customer_tiers",
        sa.Column("pack", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("tier", sa.String(length=32), nullable=True),
        sa.Column("rule", sa.String(length=300), nullable=True),
        sa.Column("spend_percentile", sa.Double(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_customer_tiers_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("pack", "customer_id", name=op.f("pk_customer_tiers")),
    )
    with op.batch_alter_table("customer_tiers", schema=None) as batch_op:
        batch_op.create_index("ix_customer_tiers_pack_tier", ["pack", "tier"], unique=False)

    op.create_table(
        "campaign_occasions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pack", sa.String(length=64), nullable=False),
        sa.Column("campaign", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("occasion", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("send_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_campaign_occasions_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name=op.f("fk_campaign_occasions_record_id_records")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_occasions")),
        sa.UniqueConstraint(
            "pack", "campaign", "customer_id", "occasion", name="uq_campaign_occasions_once"
        ),
    )
    with op.batch_alter_table("campaign_occasions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_campaign_occasions_customer", ["customer_id", "status", "due_at"], unique=False
        )
        batch_op.create_index(
            "ix_campaign_occasions_work", ["pack", "campaign", "status", "id"], unique=False
        )

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("birthday", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("birth_md", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("since", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("consent_service", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(
            sa.Column("consent_marketing", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("consent_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("consent_source", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_customers_birth_md"), ["birth_md"], unique=False)

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_orders_ordered_at"), ["ordered_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_orders_shipped_at"), ["shipped_at"], unique=False)

    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("occasion_id", sa.Integer(), nullable=True))
        batch_op.alter_column("record_id", existing_type=sa.INTEGER(), nullable=True)
        batch_op.create_unique_constraint(
            "uq_outbox_messages_occasion_once", ["occasion_id", "channel", "recipient"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_messages_occasion_id_campaign_occasions"),
            "campaign_occasions",
            ["occasion_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_outbox_messages_occasion_id_campaign_occasions"), type_="foreignkey"
        )
        batch_op.drop_constraint("uq_outbox_messages_occasion_once", type_="unique")
        batch_op.alter_column("record_id", existing_type=sa.INTEGER(), nullable=False)
        batch_op.drop_column("occasion_id")

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_shipped_at"))
        batch_op.drop_index(batch_op.f("ix_orders_ordered_at"))
        batch_op.drop_column("shipped_at")

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customers_birth_md"))
        batch_op.drop_column("consent_source")
        batch_op.drop_column("consent_at")
        batch_op.drop_column("consent_marketing")
        batch_op.drop_column("consent_service")
        batch_op.drop_column("since")
        batch_op.drop_column("timezone")
        batch_op.drop_column("birth_md")
        batch_op.drop_column("birthday")

    with op.batch_alter_table("campaign_occasions", schema=None) as batch_op:
        batch_op.drop_index("ix_campaign_occasions_work")
        batch_op.drop_index("ix_campaign_occasions_customer")

    op.drop_table("campaign_occasions")
    with op.batch_alter_table("customer_tiers", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_tiers_pack_tier")

    op.drop_table("customer_tiers")
    with op.batch_alter_table("customer_events", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_events_customer")

    op.drop_table("customer_events")
    op.drop_table("campaign_runs")
