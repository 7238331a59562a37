"""Backups a live database can be taken from, and restored into an empty one.

SQLite: the online backup API (`sqlite3.Connection.backup`) copies a consistent snapshot
page by page while the app keeps writing. PostgreSQL: `pg_dump --format=custom` (one
consistent snapshot) and `pg_restore` into a fresh database. Personal data stays encrypted
in the copy: a backup is only as readable as CARELOOP_DATA_KEY, which it does not contain.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import Engine, func, inspect, select, table
from sqlalchemy.engine import make_url


class BackupError(RuntimeError):
    """A backup or restore that could not be made; the message says why."""


def backup(url: str, target: Path) -> None:
    parsed = make_url(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    if parsed.get_backend_name() == "sqlite":
        _sqlite_copy(Path(parsed.database or ""), target)
    elif parsed.get_backend_name() == "postgresql":
        _run(["pg_dump", "--format=custom", "--no-owner", f"--file={target}", _libpq(url)])
    else:
        raise BackupError(f"no backup for {parsed.get_backend_name()} databases")


def restore(source: Path, url: str) -> None:
    """Into an empty database (a fresh file, or a freshly created PostgreSQL database)."""
    if not source.is_file():
        raise BackupError(f"{source}: no such backup file")
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        target = Path(parsed.database or "")
        if target.exists() and target.stat().st_size > 0:
            raise BackupError(f"{target} exists: restore into a new file, then swap it in")
        _sqlite_copy(source, target)
    elif parsed.get_backend_name() == "postgresql":
        database = f"--dbname={_libpq(url)}"
        _run(["pg_restore", "--no-owner", "--exit-on-error", database, str(source)])
    else:
        raise BackupError(f"no restore for {parsed.get_backend_name()} databases")


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows per table: what a restore is checked against."""
    with engine.connect() as conn:
        return {
            name: int(conn.scalar(select(func.count()).select_from(table(name))) or 0)
            for name in sorted(inspect(conn).get_table_names())
        }


def _sqlite_copy(source: Path, target: Path) -> None:
    if not source.is_file():
        raise BackupError(f"{source}: no such database file")
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def _libpq(url: str) -> str:
    """The SQLAlchemy URL as libpq takes it (no +driver)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _run(command: list[str]) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed (the PostgreSQL client tools)")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()[-500:]}")
