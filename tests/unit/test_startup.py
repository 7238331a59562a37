"""What `careloop --help` and a scheduler load before their first useful act (issue #24 item 2).

Goals: `careloop --help` in 0.3 s, a scheduler's start to its first sweep in 1 s. Timings vary
with the machine, so these tests pin the cause instead: the modules loaded. Each runs a fresh
interpreter (this one has imported everything already) and lists the heavy packages it loaded:
- `--help` loads the command modules and click, no engine behind them;
- a scheduler, up to its first sweep, loads the ORM, the jobs and the calendars it needs, and
  none of the web app, the validator, Alembic (its schema check reads the migration files),
  Pillow (only when a picture arrives) or the search's segmenter; nor the services' areas no
  job of its uses, the mail parser (only with mailboxes to read, or a reply's files to send)
  or the knowledge base: each is imported on first use (engine/services, schedules/worker.py);
  nor the pack builder or Jinja2, before a version's spec is first needed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from engine.store.migrate import alembic_config, upgrade
from engine.store.schemahead import head_revision, is_current

ROOT = Path(__file__).resolve().parents[2]
# What the web app, the pack validator, the admin, migrations and previews bring in.
WEB_AND_TOOLS = {
    "alembic",
    "mako",
    "pygments",
    "flask",
    "flask_admin",
    "flask_babel",
    "flask_smorest",
    "werkzeug",
    "babel",
    "wtforms",
    "rjieba",
    "PIL",
    "jsonschema",
    "icalendar",
    "markdown_it",
}
# The services' areas a scheduler's jobs never call, and what only they bring in.
UNUSED_BY_THE_SCHEDULER = {
    "engine.services.canned",
    "engine.services.conversation",
    "engine.services.editing",
    "engine.services.files",
    "engine.services.knowledge",
    "engine.services.merging",
    "engine.services.portal",
    "engine.services.selfservice",
    "engine.conversation.mail",
    "engine.conversation.thread",
    "engine.knowledge.search",
    "engine.selfservice",
}
# The pack builder and Jinja2: a version's spec is built, its texts compiled, when a sweep first
# fires one of its timers.
BUILT_ON_FIRST_USE = {"engine.specs.build", "jinja2"}
# What any command that touches data needs, and `--help` must not.
DATA = {"sqlalchemy", "apscheduler", "holidays", "jinja2", "cryptography", "prometheus_client"}

REPORT = """
import json, sys
HEAVY = set(json.loads(sys.argv[1]))
def loaded():
    return sorted(({name.split(".")[0] for name in sys.modules} | set(sys.modules)) & HEAVY)
"""

HELP = (
    REPORT
    + """
from cli import careloop
try:
    careloop(["--help"], prog_name="careloop")
except SystemExit:
    pass
print(json.dumps(loaded()))
"""
)

# The long-running command as a deployment starts it; the first sweep reports what was loaded
# before it ran, then ends the process.
FIRST_SWEEP = (
    REPORT
    + """
import os
import schedules.worker as worker
sweep = worker.SweepJob.__call__
def first(self):
    before = loaded()
    sweep(self)
    print(json.dumps(before), flush=True)
    os._exit(0)
worker.SweepJob.__call__ = first
from cli import careloop
careloop(["scheduler", "--interval", "60"], prog_name="careloop")
"""
)


def loaded_by(script: str, heavy: set[str], env: dict[str, str]) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", script, json.dumps(sorted(heavy))],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def test_careloop_help_loads_click_and_the_commands_only() -> None:
    assert loaded_by(HELP, WEB_AND_TOOLS | DATA, {}) == set()


def test_a_scheduler_reaches_its_first_sweep_without_the_web_app_or_the_tools(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'careloop.db'}"
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    env = {
        "CARELOOP_DATABASE_URL": url,
        "CARELOOP_SECRET_KEY": "ab" * 32,  # as deployed (docs/deploy.md)
        "CARELOOP_METRICS_PORT": "0",
        "CARELOOP_MAILBOXES": "",
    }
    heavy = WEB_AND_TOOLS | UNUSED_BY_THE_SCHEDULER | BUILT_ON_FIRST_USE
    heavy |= {"sqlalchemy", "engine.time.timers"}
    loaded = loaded_by(FIRST_SWEEP, heavy, env)
    # it did start and sweep, with only what it needs
    assert loaded == {"sqlalchemy", "engine.time.timers"}


def test_the_schema_head_read_from_the_files_is_alembics(tmp_path: Path) -> None:
    from alembic.script import ScriptDirectory

    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()
    engine = create_engine(f"sqlite:///{tmp_path / 'careloop.db'}")
    assert not is_current(engine)  # no alembic_version table yet
    upgrade(engine, "0027")
    assert not is_current(engine)
    upgrade(engine)
    assert is_current(engine)
    engine.dispose()


def test_two_heads_are_refused(tmp_path: Path) -> None:
    for name, revision, down in (("a", "1", None), ("b", "2", "1"), ("c", "3", "1")):
        (tmp_path / f"{name}.py").write_text(
            f'revision: str = "{revision}"\ndown_revision: str | None = {down!r}\n'
        )
    with pytest.raises(RuntimeError, match="2 heads"):
        head_revision(tmp_path)
