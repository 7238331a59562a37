"""Every bench in one run, with what it ran on, into one log: at the issue's sizes, or small.

docs/performance.md's table is filled from such a log, so that every figure in it
comes from the same commit, machine and hour. Each bench runs as its own process
(`python -m bench.<name> --full …`), one after the other, never two at once; its
output is copied to the screen and to the log as it comes, with the wall time each took.

Runs per bench: the median of 3 where a run takes seconds to a few minutes; one run
where a single run takes many minutes (intake writes 100,000 records per database and
run; the sweep fires 100,000 of 1,000,000 timers per process count and a catch-up of
1,000,000 late timers; the dashboard seeds 1,000,000 records per database). `--runs`
overrides them all.

`--small` runs the small sizes `make bench` uses (under 5 minutes in all), into
`bench/results/small-YYYY-MM-DD.txt` (not kept in git), each bench's wall time included.

    python -m bench.full [--small] [--log FILE] [--only sweep,http] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from bench.common import ROOT

# (module, arguments at full size): in the order `make bench` runs them.
BENCHES: dict[str, list[str]] = {
    "deadlines": ["--full", "--runs", "3"],
    "startup": ["--runs", "5"],
    "intake": ["--full", "--runs", "1"],
    "scheduler_memory": ["--full", "--runs", "3"],
    "queue": ["--full", "--runs", "3"],
    "queue_filters": ["--full", "--runs", "3"],
    "sweep": ["--full", "--runs", "1"],
    "search": ["--full", "--runs", "3"],
    "campaigns": ["--full", "--runs", "3"],
    "economics": ["--full", "--runs", "3"],
    "call_signals": ["--full", "--db", "pg", "--runs", "3"],
    "dashboard": ["--full", "--runs", "1"],
    "http": ["--seconds", "10", "--runs", "3"],
}
# The same benches at their default (small) sizes: the HTTP bench's three phases 5 s each,
# one round.
SMALL: dict[str, list[str]] = {
    **{name: [] for name in BENCHES},
    "http": ["--seconds", "5", "--runs", "1"],
}


def machine() -> list[str]:
    """What the figures were measured on: enough to tell two runs' machines apart."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    postgres = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", "show server_version"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return [
        f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"commit: {commit}{' (with uncommitted changes)' if dirty else ''}",
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {memory:.0f} GiB, "
        f"{platform.system()} {platform.release()}",
        f"python: {platform.python_version()}; PostgreSQL {postgres or 'not reachable'}",
        f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
    ]


def run(name: str, arguments: list[str], log: TextIO) -> int:
    """One bench as its own process; its lines go to the screen and the log as they come."""
    command = [sys.executable, "-m", f"bench.bench_{name}", *arguments]
    header = f"\n## bench_{name}: {' '.join(command[1:])}"
    for out in (sys.stdout, log):
        print(header, file=out, flush=True)
    began = time.monotonic()
    with subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            sys.stdout.write(line)
            log.write(line)
            log.flush()
    footer = (
        f"# bench_{name}: exit {process.returncode}, {time.monotonic() - began:,.0f} s, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    for out in (sys.stdout, log):
        print(footer, file=out, flush=True)
    return process.returncode


def with_runs(arguments: list[str], runs: int) -> list[str]:
    """The arguments with `--runs` set to `runs`, whether they named it or not."""
    if "--runs" not in arguments:
        return [*arguments, "--runs", str(runs)]
    at = arguments.index("--runs")
    return [*arguments[: at + 1], str(runs), *arguments[at + 2 :]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--small", action="store_true", help="the small sizes of `make bench`")
    parser.add_argument("--log", type=Path, default=None)
    parser.add_argument("--only", default="", help="comma-separated bench names")
    parser.add_argument("--runs", type=int, default=None, help="runs for every bench")
    args = parser.parse_args()
    benches = SMALL if args.small else BENCHES
    kind = "small" if args.small else "full"
    args.log = args.log or ROOT / "bench" / "results" / f"{kind}-{datetime.now(UTC):%Y-%m-%d}.txt"
    chosen = [n for n in args.only.split(",") if n] or list(BENCHES)
    unknown = set(chosen) - set(BENCHES)
    if unknown:
        names = ", ".join(BENCHES)
        parser.error(f"unknown bench {', '.join(sorted(unknown))}; choose from {names}")
    args.log.parent.mkdir(parents=True, exist_ok=True)
    failed = []
    began = time.monotonic()
    with args.log.open("w", encoding="utf-8") as log:
        for line in [f"# Careloop bench run, {kind} sizes", *machine()]:
            print(line, file=log, flush=True)
            print(line, flush=True)
        for name in chosen:
            arguments = benches[name]
            if args.runs is not None:
                arguments = with_runs(arguments, args.runs)
            if run(name, arguments, log) != 0:
                failed.append(name)
        took = time.monotonic() - began
        summary = f"\n# all: {took:,.0f} s; failed: {', '.join(failed) or 'none'}"
        print(summary, file=log, flush=True)
        print(summary, flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
