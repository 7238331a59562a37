"""Schema migrations through Alembic, for `careloop db upgrade`, `make run` and the tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from engine.store import migrations
from engine.store.schemahead import is_current

__all__ = ["alembic_config", "downgrade", "include_object", "is_current", "upgrade"]

MIGRATIONS = Path(migrations.__file__).parent
# Objects one dialect has and the models do not declare: SQLite's FTS5 tables and their shadow
# tables, PostgreSQL's stored tsvector and its GIN indexes (see SearchDoc), and PostgreSQL's
# partial indexes of the pending timers (engine.time.claims).
DIALECT_ONLY = ("search_fts", "search_vector", "ix_search_docs_vector", "ix_timers_pending_")


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
    _migrate(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database back to `revision` (tests of a migration's backfill, rollbacks)."""
    _migrate(engine, command.downgrade, revision)


def _migrate(engine: Engine, step: Callable[[Config, str], None], revision: str) -> None:
    """Run `step` in one transaction; on SQLite with foreign keys off until it has committed.

    SQLite changes a column by copying the table and dropping the old one (Alembic's batch
    mode), and with foreign keys on, dropping `pack_versions` under existing records fails:
    every installation with data could not upgrade. SQLite ignores the pragma inside a
    transaction, so it is set before BEGIN, and the keys are checked once the copy is done.
    """
    config = alembic_config(engine)
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:  # on the driver's own connection: SQLAlchemy's would BEGIN first
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        with connection.begin():
            config.attributes["connection"] = connection
            step(config, revision)
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all() if sqlite else []
            if broken:
                raise RuntimeError(f"the migration left rows pointing nowhere: {broken[:5]}")
        if sqlite:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]
