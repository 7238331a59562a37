"""Issue #14: the soak test's smoke run (`bench/soak.py --minutes 0.5`) passes: 2 gunicorn
workers and 2 schedulers on a PostgreSQL of its own, with a web worker and a scheduler
SIGKILLed and PostgreSQL crash-restarted, lose no acknowledged write and fire every due
timer once. The ten-minute run's figures are in docs/performance.md."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path(os.environ.get("CARELOOP_SOAK_PG_BIN", "/usr/lib/postgresql/15/bin"))


def test_the_smoke_soak_passes_with_its_faults() -> None:
    if not (PG_BIN / "initdb").exists():
        if os.environ.get("CARELOOP_REQUIRE_PG") == "1":
            pytest.fail(f"no PostgreSQL binaries in {PG_BIN}, and CI requires them")
        pytest.skip(f"no PostgreSQL binaries in {PG_BIN} (CARELOOP_SOAK_PG_BIN)")
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "soak.py"), "--minutes", "0.5"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = run.stdout + run.stderr[-3000:]
    assert run.returncode == 0, report
    lines = dict(line.split("  ", 1) for line in run.stdout.splitlines() if "  " in line)
    figures = {key.strip(): value.strip() for key, value in lines.items()}
    assert figures["acknowledged creates lost"] == "0", report
    assert figures["transitions acknowledged / lost"].endswith("/ 0"), report
    assert figures["due timers not acted on"] == "0", report
    assert figures["records with a history gap"] == "0", report
    assert figures["metrics series seen under load"] == "10 / 10", report
    assert run.stdout.rstrip().endswith("PASS"), report
