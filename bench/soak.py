"""Soak test with faults (issue #14): the production layout under load, broken on purpose.

    python bench/soak.py --minutes 10      # the recorded run (docs/performance.md)
    python bench/soak.py --minutes 0.5     # the smoke run tests/ops/test_soak.py makes

It starts a PostgreSQL of its own (initdb into a temporary folder, a free port on
127.0.0.1: the shared server on 5432 is never touched), `gunicorn wsgi:app` with 2
workers and 2 `careloop scheduler` processes. Writers create P0 records through the
API with `received_at` set so that one of each record's SLA timers falls due during
the run (the earlier ones are overdue at once), and advance half of them (accept,
then resolve). Meanwhile it SIGKILLs a web worker, SIGKILLs a scheduler and starts it
again, and restarts PostgreSQL (immediate mode: a crash, recovered from the WAL).
After the load it lets the schedulers drain, stops everything and checks, from the
database: every acknowledged API write is stored, every due timer was acted on
exactly once, no record's history has a gap, and the timer lag p99 stays within the
sweep interval plus the outage. It prints the figures and exits 1 if a check failed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # `python bench/soak.py` as well as `python -m bench.soak`

from sqlalchemy import create_engine, text  # noqa: E402

from bench.common import wait_for  # noqa: E402
from engine.access import tokens  # noqa: E402
from engine.services import Services  # noqa: E402
from engine.store.db import make_engine, make_session_factory  # noqa: E402
from engine.store.migrate import upgrade  # noqa: E402
from ops.settings import configure_engine_keys, load  # noqa: E402
from workflows.validate import checked_source  # noqa: E402

PG_BIN = Path(os.environ.get("CARELOOP_SOAK_PG_BIN", "/usr/lib/postgresql/15/bin"))
VENV_BIN = Path(sys.executable).parent
# Minutes after `received_at` at which a P0 record's SLA timers fall due (24x7 calendar,
# warning at 80 %): respond 2 h, resolve 24 h.
DUE_OFFSETS = {"respond warning": 96, "respond breach": 120, "resolve warning": 1152}
SERIES = (
    "careloop_http_requests_total",
    "careloop_http_request_duration_seconds",
    "careloop_records_created_total",
    "careloop_records_transitioned_total",
    "careloop_sla_warnings_total",
    "careloop_sla_breaches_total",
    "careloop_timer_lag_seconds",
    "careloop_sweep_duration_seconds",
    "careloop_outbox_backlog",
    "careloop_outbox_dead_letters",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def log(message: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", flush=True)


class Postgres:
    """A throwaway cluster: initdb, start, crash-restart, stop. As `postgres` when run as root
    (initdb and pg_ctl refuse root)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/careloop"
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_owner:
            shutil.chown(folder, "postgres", "postgres")

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_owner, *args], check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        self._run(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
            "--no-sync", "-E", "UTF8", "--locale=C",
        )  # fmt: skip
        self.start()
        admin = create_engine(
            self.url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE careloop"))
        admin.dispose()

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c max_connections=200 -c shared_buffers=64MB"
        )
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "postgres.log"),
            "-w", "-o", options, "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def crash_restart(self) -> float:
        """Stop without a checkpoint (as a crash would), start again: seconds without a server."""
        began = time.monotonic()
        self.stop("immediate")
        self.start()
        return time.monotonic() - began


@dataclass
class Ledger:
    """What the API acknowledged, what failed, and how long requests took."""

    created: list[tuple[int, str]] = field(default_factory=list)
    transitions: list[tuple[int, str]] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Writer(threading.Thread):
    """One API client: create a record, sometimes advance an earlier one, at a steady pace."""

    def __init__(
        self, number: int, base: str, token: str, ledger: Ledger, pace: float, due_window: float
    ) -> None:
        super().__init__(daemon=True, name=f"writer-{number}")
        self.number, self.base, self.token, self.ledger = number, base, token, ledger
        self.pace, self.due_window = pace, due_window
        self.stop = threading.Event()
        self.advance: list[tuple[int, str]] = []
        self.random = random.Random(number)

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(
            self.base + path,
            data=json.dumps(body).encode(),
            headers={
                "Authorization": f"Bearer {self.token}",
                "Content-Type": "application/json",
                "X-Request-Id": f"soak-{self.number}-{time.monotonic_ns()}",
            },
            method="POST",
        )
        began = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, payload = response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            status, payload = error.code, {}
        except (OSError, ValueError) as error:  # refused, reset, timed out, cut short
            with self.ledger.lock:
                self.ledger.errors[type(error).__name__] += 1
            return 0, {}
        with self.ledger.lock:
            self.ledger.latencies.append(time.perf_counter() - began)
            if status >= 300:
                self.ledger.errors[f"HTTP {status}"] += 1
        return status, payload

    def create(self, n: int) -> None:
        offset = self.random.choice(list(DUE_OFFSETS.values()))
        due = datetime.now(UTC) + timedelta(seconds=self.random.uniform(0, self.due_window))
        external_id = f"soak-{self.number}-{n}"
        status, body = self.post(
            "/api/v1/records",
            {
                "pack": "after_sales",
                "type": "feedback",
                "channel": "online_chat",
                "priority": "P0",
                "external_id": external_id,
                "received_at": (due - timedelta(minutes=offset)).isoformat(),
                "fields": {
                    "customer_no": f"C-{self.number}{n:05d}",
                    "customer_name": "测试客户",
                    "contact": f"139{self.number:02d}{n:06d}",
                    "description": "洗衣机显示 E3",
                },
            },
        )
        if status in (200, 201):
            with self.ledger.lock:
                self.ledger.created.append((body["id"], external_id))
            if self.random.random() < 0.5:
                self.advance.append((body["id"], "accept"))

    def step(self, record_id: int, transition: str) -> None:
        fields = (
            {"category": "quality", "priority": "P0"}
            if transition == "accept"
            else {"solution_type": "service", "solution": "更换主板"}
        )
        status, _ = self.post(
            f"/api/v1/records/{record_id}/transitions",
            {"transition": transition, "fields": fields},
        )
        if status == 200:
            with self.ledger.lock:
                self.ledger.transitions.append((record_id, transition))
            if transition == "accept" and self.random.random() < 0.5:
                self.advance.append((record_id, "resolve"))
        elif status == 0 or status >= 500:  # not acknowledged: try again later
            self.advance.append((record_id, transition))

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            began = time.monotonic()
            if self.advance and self.random.random() < 0.5:
                self.step(*self.advance.pop(0))
            else:
                n += 1
                self.create(n)
            self.stop.wait(max(0.0, self.pace - (time.monotonic() - began)))


def spawn(args: list[str], env: dict[str, str], logfile: Path) -> subprocess.Popen[bytes]:
    with logfile.open("ab") as out:
        return subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True
        )


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return sorted(found)


def scrape(url: str, *, wait: float = 20.0) -> set[str]:
    """The metric names at `url`; a process just started again may take a few seconds to
    listen (longer on a busy machine), so a refused connection is retried for up to `wait`."""
    deadline = time.monotonic() + wait
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                body = response.read().decode()
            break
        except urllib.error.URLError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.25)
    return {line.split("{")[0].split(" ")[0] for line in body.splitlines() if line[:1] != "#"}


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def check(url: str, ledger: Ledger, started: datetime, bound: float) -> dict[str, Any]:
    """The verdict, from the database alone."""
    engine = make_engine(url)
    with engine.connect() as conn:
        stored: dict[int, str] = dict(
            conn.execute(
                text("SELECT id, external_id FROM records WHERE external_id LIKE 'soak-%'")
            ).all()
        )
        lost_creates = [r for r, ext in ledger.created if stored.get(r) != ext]
        applied = Counter(
            (row[0], row[1])
            for row in conn.execute(
                text("SELECT record_id, transition FROM record_events WHERE transition IS NOT NULL")
            )
        )
        acknowledged = Counter(ledger.transitions)
        lost_transitions = sum((acknowledged - applied).values())
        timers: dict[str, int] = dict(
            conn.execute(text("SELECT status, count(*) FROM timers GROUP BY status")).all()
        )
        overdue = conn.scalar(
            text(
                "SELECT count(*) FROM timers WHERE status IN ('pending', 'failed') AND due_at <= :t"
            ),
            {"t": datetime.now(UTC) - timedelta(seconds=bound)},
        )
        # A fired timer's effect is one history event carrying its id (unique: never two).
        effects: dict[str, int] = dict(
            conn.execute(
                text(
                    "SELECT t.status, count(e.id) FROM timers t "
                    "LEFT JOIN record_events e ON e.timer_id = t.id GROUP BY t.status"
                )
            ).all()
        )
        unfired = conn.scalar(
            text(
                "SELECT count(*) FROM timers t WHERE t.status = 'fired' AND NOT EXISTS "
                "(SELECT 1 FROM record_events e WHERE e.timer_id = t.id)"
            )
        )
        # Lag from the later of the due time and the timer's creation: a timer born overdue
        # (its record received long ago) can only fire at the next sweep.
        rows = conn.execute(
            text(
                "SELECT extract(epoch FROM fired_at - greatest(due_at, created_at)), "
                "due_at > created_at FROM timers WHERE status = 'fired' AND created_at >= :s"
            ),
            {"s": started},
        ).all()
        lags = [float(lag) for lag, _ in rows]
        fell_due = [float(lag) for lag, later in rows if later]
        doubled = conn.scalar(
            text(
                "SELECT count(*) FROM (SELECT timer_id FROM record_events "
                "WHERE timer_id IS NOT NULL GROUP BY timer_id HAVING count(*) > 1) AS twice"
            )
        )
        gaps = 0
        stages: dict[int, str] = dict(conn.execute(text("SELECT id, stage FROM records")).all())
        chain: dict[int, list[tuple[str | None, str | None]]] = {}
        for record_id, source, target in conn.execute(
            text(
                "SELECT record_id, from_stage, to_stage FROM record_events "
                "WHERE to_stage IS NOT NULL ORDER BY record_id, id"
            )
        ):
            chain.setdefault(record_id, []).append((source, target))
        for record_id, stage in stages.items():
            steps = chain.get(record_id, [])
            if not steps:
                gaps += 1
                continue
            linked = all(steps[i][0] == steps[i - 1][1] for i in range(1, len(steps)))
            gaps += not linked or steps[-1][1] != stage
    engine.dispose()
    return {
        "records acknowledged / stored": f"{len(ledger.created)} / {len(stored)}",
        "acknowledged creates lost": len(lost_creates),
        "transitions acknowledged / lost": f"{len(ledger.transitions)} / {lost_transitions}",
        "timers by status": timers,
        "history events of timers, by timer status": effects,
        "fired timers without their event": unfired,
        "due timers not acted on": overdue,
        "records with a history gap": gaps,
        "timers with two effects": doubled,
        "timer lag p50 / p99 / max (s), all fired": (
            f"{percentile(lags, 50):.2f} / {percentile(lags, 99):.2f} / {max(lags or [0]):.2f}"
            f" ({len(lags)} timers)"
        ),
        "timer lag p50 / p99 / max (s), due after armed": (
            f"{percentile(fell_due, 50):.2f} / {percentile(fell_due, 99):.2f} / "
            f"{max(fell_due or [0]):.2f} ({len(fell_due)} timers)"
        ),
        "_ok": not lost_creates
        and not lost_transitions
        and not overdue
        and not unfired
        and not gaps
        and not doubled
        and effects.get("cancelled", 0) == 0
        and bool(lags)
        and percentile(lags, 99) <= bound,
        "_p99": percentile(lags, 99),
    }


def main() -> int:
    configure_engine_keys(load())  # personal data with the configured keys, as the app
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="load time (default 10)")
    parser.add_argument("--writers", type=int, default=4, help="API client threads")
    parser.add_argument("--rate", type=float, default=40.0, help="API requests a second in all")
    parser.add_argument("--sweep-seconds", type=float, default=None, help="5, or 1 under 2 min")
    parser.add_argument("--keep", action="store_true", help="keep the folder (logs, database)")
    args = parser.parse_args()
    load_seconds = args.minutes * 60
    sweep = args.sweep_seconds or (5.0 if args.minutes >= 2 else 1.0)
    folder = Path(tempfile.mkdtemp(prefix="careloop-soak-"))
    folder.chmod(0o755)
    postgres = Postgres(folder)
    processes: dict[str, subprocess.Popen[bytes]] = {}
    figures: dict[str, Any] = {}
    ok = False
    try:
        log(f"PostgreSQL of our own on 127.0.0.1:{postgres.port} in {folder}")
        postgres.init()
        upgrade(make_engine(postgres.url))
        services = Services(make_session_factory(make_engine(postgres.url)))
        services.publish(checked_source(ROOT / "workflows" / "after_sales"), by="soak")
        with services.uow() as uow:
            _, token = tokens.issue(uow.session, "soak", ("read", "write"), services.clock.now())
            uow.commit()
        web_port = free_port()
        env = {
            **os.environ,
            "CARELOOP_DATABASE_URL": postgres.url,
            "CARELOOP_SECRET_KEY": "soak-only",
            "CARELOOP_IN_PROCESS_SCHEDULER": "0",
            "CARELOOP_SWEEP_SECONDS": str(sweep),
            "CARELOOP_LOG_LEVEL": "WARNING",
        }
        env.pop("CARELOOP_METRICS_TOKEN", None)
        web_env = {**env, "PROMETHEUS_MULTIPROC_DIR": str(folder / "prometheus")}
        processes["web"] = spawn(
            [str(VENV_BIN / "gunicorn"), "wsgi:app", "-w", "2", "-b", f"127.0.0.1:{web_port}"],
            web_env,
            folder / "web.log",
        )
        metric_ports = [free_port(), free_port()]

        def start_scheduler(i: int) -> None:
            processes[f"scheduler-{i}"] = spawn(
                [str(VENV_BIN / "careloop"), "scheduler", "--interval", str(sweep)],
                {**env, "CARELOOP_METRICS_PORT": str(metric_ports[i])},
                folder / f"scheduler-{i}.log",
            )

        start_scheduler(0)
        start_scheduler(1)
        base = f"http://127.0.0.1:{web_port}"
        wait_for(f"{base}/readyz", seconds=120)
        for port in metric_ports:
            wait_for(f"http://127.0.0.1:{port}/metrics", seconds=120)
        log(
            f"gunicorn (2 workers) on {web_port}, 2 schedulers every {sweep:g} s; "
            f"load {args.minutes:g} min"
        )

        ledger = Ledger()
        started = datetime.now(UTC)
        writers = [
            Writer(i, base, token, ledger, args.writers / args.rate, load_seconds)
            for i in range(args.writers)
        ]
        for writer in writers:
            writer.start()
        began = time.monotonic()

        def at(fraction: float) -> None:
            time.sleep(max(0.0, began + fraction * load_seconds - time.monotonic()))

        at(0.2)
        workers = children(processes["web"].pid)
        os.kill(workers[0], signal.SIGKILL)
        log(f"SIGKILL web worker {workers[0]} (of {workers})")
        at(0.4)
        processes["scheduler-0"].send_signal(signal.SIGKILL)
        processes["scheduler-0"].wait()
        log("SIGKILL scheduler 0; starting it again")
        start_scheduler(0)
        at(0.5)
        seen = scrape(f"{base}/metrics") | set().union(
            *(scrape(f"http://127.0.0.1:{p}/metrics") for p in metric_ports)
        )
        missing = [
            s for s in SERIES if not any(n.startswith(s.removesuffix("_total")) for n in seen)
        ]
        log(
            f"/metrics under load: {len(SERIES) - len(missing)} of {len(SERIES)} series"
            + (f", missing {missing}" if missing else "")
        )
        at(0.6)
        outage = postgres.crash_restart()
        log(f"PostgreSQL crash-restarted: {outage:.1f} s without a server")
        at(1.0)
        for writer in writers:
            writer.stop.set()
        for writer in writers:
            writer.join(timeout=60)
        log("load stopped; letting the schedulers drain")
        bound = sweep + outage + 1.0  # one sweep's own duration
        time.sleep(2 * sweep + 2)
        for process in processes.values():
            process.send_signal(signal.SIGTERM)
        for process in processes.values():
            process.wait(timeout=60)
        verdict = check(postgres.url, ledger, started, bound)
        errors = dict(ledger.errors)
        figures = {
            "load": f"{args.minutes:g} min, {args.writers} writers at {args.rate:g} req/s in all",
            "API requests answered / not": (
                f"{len(ledger.latencies)} / {sum(errors.values())} {errors}"
            ),
            "API latency p50 / p99 (ms)": (
                f"{percentile(ledger.latencies, 50) * 1000:.0f} / "
                f"{percentile(ledger.latencies, 99) * 1000:.0f}"
            ),
            "faults": "web worker SIGKILL, scheduler SIGKILL + restart, PostgreSQL crash-restart",
            "PostgreSQL outage (s)": f"{outage:.1f}",
            "metrics series seen under load": f"{len(SERIES) - len(missing)} / {len(SERIES)}",
            "timer lag bound: sweep + outage + 1 s": f"{bound:.1f}",
            **{k: v for k, v in verdict.items() if not k.startswith("_")},
        }
        ok = bool(verdict["_ok"]) and not missing
    finally:
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
        try:
            postgres.stop("immediate")
        except subprocess.SubprocessError:
            pass
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    width = max((len(k) for k in figures), default=0)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
