"""Start-up (issue #24 item 2): `careloop --help`, and a scheduler's start to its first sweep.

A deployment's cron runs `careloop scheduler --once`, and a restarted worker fires nothing
until it has imported what it needs, so both are paid again and again. Each figure is the
wall time of a fresh process, the median of `--runs`: `careloop --help` until it exits; the
long-running `careloop scheduler` from its start to the moment its first sweep begins, and
to the moment it ends (a hook around the sweep job prints the times and ends the process),
on a fresh migrated database with nothing due and CARELOOP_SECRET_KEY set, as deployed. The
end counts what the sweep imports on its first run and what the other jobs, started with it
in their threads, import meanwhile: what is deferred to first use shows there, not hidden.
The CPU seconds of the process (all its threads) at those two moments are printed too: they
move less with the machine's load than the wall time. The baseline is the bare interpreter
(`python -c pass`), the floor no command goes below. Goals: 0.3 s and 1 s.

Where the environment sets PYTHONDONTWRITEBYTECODE, as this project's CI machine does, the
project's own modules are compiled from source by every process (their `.pyc` files are never
written; a wheel installed by pip has them): the header says so.

tests/unit/test_startup.py pins what each loads; this measures what that costs here.

    python -m bench.bench_startup [--runs 5] [--db both|sqlite|pg]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from bench.common import ROOT, Row, arguments, backends, database

CARELOOP = [sys.executable, "-c", "from cli import main; main()"]
GOAL_HELP, GOAL_SWEEP = 0.3, 1.0
FIRST_SWEEP = """
import os, sys, time
import schedules.worker as worker
sweep = worker.SweepJob.__call__
def first(self):
    began, cpu_began = time.time(), time.process_time()
    sweep(self)
    print(began, time.time(), cpu_began, time.process_time(), flush=True)
    os._exit(0)
worker.SweepJob.__call__ = first
from cli import careloop
careloop(["scheduler", "--interval", "60"], prog_name="careloop")
"""


def wall(command: list[str], env: dict[str, str] | None = None) -> float:
    began = time.time()
    subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=True, timeout=120)
    return time.time() - began


def to_first_sweep(url: str) -> list[float]:
    """Wall seconds from the start to the first sweep's beginning and end, then the process's
    CPU seconds at both."""
    env = {**os.environ, "CARELOOP_DATABASE_URL": url, "CARELOOP_SECRET_KEY": "ab" * 32}
    began = time.time()
    done = subprocess.run(
        [sys.executable, "-c", FIRST_SWEEP],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    wall_began, wall_ended, cpu_began, cpu_ended = map(
        float, done.stdout.strip().splitlines()[-1].split()
    )
    return [wall_began - began, wall_ended - began, cpu_began, cpu_ended]


def main() -> None:
    args = arguments(__doc__.splitlines()[0], 0, 0)
    bare = statistics.median(wall([sys.executable, "-c", "pass"]) for _ in range(args.runs))
    print(f"# start-up: median of {args.runs} fresh processes; bare interpreter {bare:.3f} s")
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print("# PYTHONDONTWRITEBYTECODE is set: every process compiles the project's modules")
    helps = [wall([*CARELOOP, "--help"]) for _ in range(args.runs)]
    goal = f"<= {GOAL_HELP:g} s"
    help_ms = 1000 * statistics.median(helps)
    Row("careloop --help", "-", "ms", help_ms, 1000 * bare, goal, False).print()
    for kind in backends(args.db):
        with database(kind) as engine:
            url = engine.url.render_as_string(hide_password=False)
            engine.dispose()
            sweeps = [to_first_sweep(url) for _ in range(args.runs)]
        goal = f"<= {GOAL_SWEEP:g} s"
        for column, what in enumerate(
            (
                "scheduler start to first sweep",
                "  ... to its end",
                "  CPU to first sweep",
                "  CPU to its end",
            )
        ):
            ms = 1000 * statistics.median(run[column] for run in sweeps)
            cpu = what.startswith("  CPU")
            Row(what, kind, "ms", ms, 1000 * bare, "-" if cpu else goal, False).print()


if __name__ == "__main__":
    main()
