"""knowledge base: articles with versions, known problems, synonyms, search documents

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22 19:54:44.692800
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Search: documents hold jieba's words joined by spaces; each dialect indexes them its own way,
# one index per kind, so a question about articles never wades through a million cases.
# (Migrations stay frozen: the kinds are written out here, not imported from engine.search.)
KINDS = ("article", "problem", "case")
COLUMNS = "title_tokens, body_tokens"
OLD = "old.id, old.title_tokens, old.body_tokens"
NEW = "new.id, new.title_tokens, new.body_tokens"


def _sqlite_up(kind: str) -> list[str]:
    """A contentless FTS5 table per kind, kept in step with search_docs by triggers."""
    fts = f"search_fts_{kind}"
    delete = f"INSERT INTO {fts}({fts}, rowid, {COLUMNS}) SELECT 'delete', {OLD}"
    insert = f"INSERT INTO {fts}(rowid, {COLUMNS}) SELECT {NEW}"
    return [
        f"CREATE VIRTUAL TABLE {fts} USING fts5({COLUMNS}, content='')",
        f"CREATE TRIGGER {fts}_ai AFTER INSERT ON search_docs "
        f"WHEN new.kind = '{kind}' BEGIN {insert}; END",
        f"CREATE TRIGGER {fts}_ad AFTER DELETE ON search_docs "
        f"WHEN old.kind = '{kind}' BEGIN {delete}; END",
        f"CREATE TRIGGER {fts}_au AFTER UPDATE ON search_docs "
        f"WHEN old.kind = '{kind}' OR new.kind = '{kind}' BEGIN "
        f"{delete} WHERE old.kind = '{kind}'; {insert} WHERE new.kind = '{kind}'; END",
    ]


def _sqlite_down(kind: str) -> list[str]:
    fts = f"search_fts_{kind}"
    triggers = [f"DROP TRIGGER IF EXISTS {fts}_{when}" for when in ("ai", "ad", "au")]
    return [*triggers, f"DROP TABLE IF EXISTS {fts}"]


# PostgreSQL: the 'simple' configuration splits on the spaces and lowercases; the vector is
# stored (ranking reads it, never recomputes it), titles weigh more (A), and each kind has
# its own partial GIN index.
POSTGRESQL_UP = [
    "ALTER TABLE search_docs ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('simple', title_tokens), 'A') || "
    "setweight(to_tsvector('simple', body_tokens), 'B')) STORED",
    *(
        f"CREATE INDEX ix_search_docs_vector_{kind} ON search_docs "
        f"USING gin (search_vector) WHERE kind = '{kind}'"
        for kind in KINDS
    ),
]


def upgrade() -> None:
    op.create_table(
        "kb_articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("product", sa.String(length=128), nullable=True),
        sa.Column("tags", sa.String(length=500), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_articles")),
    )
    with op.batch_alter_table("kb_articles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kb_articles_status"), ["status"], unique=False)

    op.create_table(
        "kb_synonyms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("words", sa.String(length=500), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_synonyms")),
    )
    op.create_table(
        "known_problems",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("symptoms", sa.Text(), nullable=False),
        sa.Column("solution", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("product", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_known_problems")),
    )
    op.create_table(
        "search_docs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ref_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("solution", sa.Text(), nullable=True),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("product", sa.String(length=128), nullable=True),
        sa.Column("title_tokens", sa.Text(), nullable=False),
        sa.Column("body_tokens", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_docs")),
        sa.UniqueConstraint("kind", "ref_id", name="uq_search_docs_kind_ref"),
    )
    op.create_table(
        "kb_article_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("product", sa.String(length=128), nullable=True),
        sa.Column("tags", sa.String(length=500), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("saved_by", sa.String(length=128), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["kb_articles.id"],
            name=op.f("fk_kb_article_versions_article_id_kb_articles"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_article_versions")),
        sa.UniqueConstraint("article_id", "version", name="uq_kb_article_versions_article_version"),
    )
    with op.batch_alter_table("kb_article_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_kb_article_versions_article_id"), ["article_id"], unique=False
        )

    op.create_table(
        "known_problem_links",
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("problem_id", sa.Integer(), nullable=False),
        sa.Column("linked_by", sa.String(length=128), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["problem_id"],
            ["known_problems.id"],
            name=op.f("fk_known_problem_links_problem_id_known_problems"),
        ),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name=op.f("fk_known_problem_links_record_id_records")
        ),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_known_problem_links")),
    )
    with op.batch_alter_table("known_problem_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_known_problem_links_problem_id"), ["problem_id"], unique=False
        )
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRESQL_UP:
            op.execute(statement)
    else:
        for statement in (s for kind in KINDS for s in _sqlite_up(kind)):
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        for statement in (s for kind in KINDS for s in _sqlite_down(kind)):
            op.execute(statement)
    with op.batch_alter_table("known_problem_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_known_problem_links_problem_id"))

    op.drop_table("known_problem_links")
    with op.batch_alter_table("kb_article_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kb_article_versions_article_id"))

    op.drop_table("kb_article_versions")
    op.drop_table("search_docs")
    op.drop_table("known_problems")
    op.drop_table("kb_synonyms")
    with op.batch_alter_table("kb_articles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kb_articles_status"))

    op.drop_table("kb_articles")
