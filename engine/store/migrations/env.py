"""Alembic environment: runs on the connection the engine hands over, or on the configured URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from engine.store.db import make_engine
from engine.store.migrate import include_object
from engine.store.models import Model

config = context.config
target_metadata = Model.metadata


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no sqlalchemy.url: run migrations with `careloop db upgrade`")
    engine = make_engine(url)
    with engine.connect() as conn:
        run(conn)
    engine.dispose()
