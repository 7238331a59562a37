"""What every multi-connection PostgreSQL test starts from."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from engine.store.db import make_engine
from tests.conftest import truncate


@pytest.fixture
def pg_engine(pg_database: str) -> Iterator[Engine]:
    """The run's PostgreSQL database, emptied, with a pool for a few threads at once."""
    engine = make_engine(pg_database, pool_size=4)
    truncate(engine)
    yield engine
    engine.dispose()
