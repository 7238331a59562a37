"""Whether a database sits at the newest migration, answered without importing Alembic.

The scheduler asks before it starts and the readiness check on every probe. Alembic, with Mako
and Pygments behind it, took about a third of a second of a scheduler's start to its first sweep
(issue #24 item 2), only to read the head. The head is read here from the migration files' own
`revision` and `down_revision` lines, which is what Alembic reads too, and the database's revision
from Alembic's `alembic_version` table; tests/unit/test_startup.py checks both against Alembic.
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

from sqlalchemy import Engine, inspect, text

VERSIONS = Path(__file__).resolve().parent / "migrations" / "versions"
_LINE = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=\s*(.+?)\s*$", re.MULTILINE)


@functools.cache
def head_revision(versions: Path = VERSIONS) -> str:
    """The one revision no other migration names as its parent."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in versions.glob("*.py"):
        values = {name: ast.literal_eval(value) for name, value in _LINE.findall(path.read_text())}
        if "revision" not in values:
            continue  # not a migration (an __init__.py)
        revisions.add(values["revision"])
        down = values.get("down_revision")
        parents.update(down if isinstance(down, tuple) else () if down is None else (down,))
    heads = sorted(revisions - parents)
    if len(heads) != 1:
        raise RuntimeError(f"the migrations in {versions} have {len(heads)} heads: {heads}")
    return heads[0]


def is_current(engine: Engine) -> bool:
    """True when the database sits at the newest migration."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return False
        stored = connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
        return list(stored) == [head_revision()]
