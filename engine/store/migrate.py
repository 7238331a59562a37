"""Schema migrations through Alembic, for `careloop db upgrade`, `make run` and the tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from engine.store import migrations

MIGRATIONS = Path(migrations.__file__).parent
# Search objects one dialect has and the models cannot declare (see SearchDoc): SQLite's FTS5
# tables and their shadow tables, PostgreSQL's stored tsvector and its GIN indexes.
DIALECT_ONLY = ("search_fts", "search_vector", "ix_search_docs_vector")


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Autogenerate and schema checks leave the dialect-only search objects alone."""
    return not (reflected and compare_to is None and (name or "").startswith(DIALECT_ONLY))


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to `revision` on one connection, in one transaction where possible."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def is_current(engine: Engine) -> bool:
    """True when the database sits at the newest migration (the readiness check asks)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head
