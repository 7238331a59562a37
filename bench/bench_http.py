"""Row 5: HTTP intake, POST /api/v1/records with a token, through gunicorn on PostgreSQL.

gunicorn serves `wsgi:app` as docs/deploy.md recommends (`gunicorn.conf.py`: 2 workers of
4 threads each, no scheduler inside) on a database of its own on the local PostgreSQL. Load
comes from `wrk` in a second process on loopback, bounded in time:

* peak: `wrk` with C connections for D seconds against the record intake (a Lua script
  posts a feedback record with a bearer token) and, as the baseline in the same run,
  against `/healthz` (a trivial endpoint of the same server): requests/s, p99, errors.
  Each request comes on a connection of its own (`Connection: close`), as a reverse proxy
  without upstream keep-alive sends them and as the paced client below always did: a
  kept-alive connection stays with the worker that accepted it, and of the C that wrk
  opens at once one worker often took most, so two workers ran at one's pace (CPU of the
  two workers over a run, /proc: 7.7 and 25.8 s at 220 req/s, 24.7 and 25.1 s at 360; 200
  to 380 req/s and /healthz 1,000 to 3,000 between runs of the same code, 2026-12-07);
  R rounds of the two, alternated, their medians printed with each round's figures and the
  CPU a request of the workers and of PostgreSQL (/proc): on this VM one 10 s run of the
  same code gave anything from 260 to 410 req/s within minutes;
* at 70 % of the intake's peak: an open-loop, paced Python client sends requests at that
  rate and reports p99 latency and errors (wrk cannot pace).

    python -m bench.bench_http [--seconds 10] [--runs 3] [--connections 8] [--db pg]

Needs Debian's `wrk` (apt-get install wrk); without it the row says so and is skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from bench.common import ROOT, Row, backend_cpu, database, processes_cpu, wait_for
from engine.access import tokens
from engine.services import Services
from engine.store.db import make_session_factory
from ops.settings import configure_engine_keys, load
from workflows.validate import checked_source

RECORD = {
    "pack": "after_sales",
    "type": "feedback",
    "channel": "online_chat",
    "priority": "P1",
    "fields": {
        "customer_no": "C-1",
        "customer_name": "王芳",
        "contact": "13812345678",
        "description": "洗衣机显示 E3",
    },
}
CLOSE = 'wrk.headers["Connection"] = "close"\n'  # a connection a request, both endpoints
LUA = (
    """wrk.method = "POST"
wrk.body = [[{body}]]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
"""
    + CLOSE
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wrk(url: str, seconds: int, connections: int, script: Path | None = None) -> dict[str, float]:
    """requests/s, requests, p99 (ms) and errors (non-2xx, socket errors) from one wrk run."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if script is not None:
        command[1:1] = ["-s", str(script)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    requests = float(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    assert p99 is not None, out
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99[2]]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    errors = int(non_2xx[1]) if non_2xx else 0
    errors += sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
    return {
        "rate": rate,
        "requests": requests,
        "p99": float(p99[1]) * scale,
        "errors": float(errors),
    }


def paced(url: str, token: str, rate: float, seconds: float) -> dict[str, float]:
    """Open loop at `rate` requests/s: request i is due at start + i/rate, whatever came before,
    and its latency counts from then (a late send is the server's backlog, not hidden).

    A few sender threads with raw sockets and one prepared request: urllib and a thread per
    request cost the client a millisecond of CPU each, taken from the two cores the server
    is measured on (the first version's p99 at 70 % was mostly its own client)."""
    host, port = url.split("/")[2].split(":")
    path = "/" + url.split("/", 3)[3]
    body = json.dumps(RECORD, ensure_ascii=False).encode()
    wire = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + body
    count = int(rate * seconds)
    start = time.perf_counter() + 0.2
    latencies: list[float] = []
    errors = [0]
    slots = iter(range(count))
    lock = threading.Lock()

    def sender() -> None:
        while True:
            with lock:
                i = next(slots, None)
            if i is None:
                return
            due = start + i / rate
            time.sleep(max(0.0, due - time.perf_counter()))
            ok = _exchange(host, int(port), wire).startswith(b"HTTP/1.1 201")
            took = (time.perf_counter() - due) * 1000
            with lock:
                latencies.append(took)
                errors[0] += not ok

    # Enough senders for the rate at 100 ms a request; more would only cost the client CPU.
    threads = [threading.Thread(target=sender) for _ in range(max(4, int(rate / 10)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    return {
        "rate": rate,
        "p99": latencies[int(len(latencies) * 0.99) - 1],
        "errors": float(errors[0]),
    }


def _exchange(host: str, port: int, wire: bytes) -> bytes:
    """Send one prepared request, read the answer to the end (the server closes), b"" on error."""
    chunks = []
    try:
        with socket.create_connection((host, port), timeout=10) as conn:
            conn.sendall(wire)
            while chunk := conn.recv(65536):
                chunks.append(chunk)
    except OSError:
        return b""
    return b"".join(chunks)


def _children(pid: int) -> list[int]:
    """gunicorn's workers: the processes the arbiter started."""
    with open(f"/proc/{pid}/task/{pid}/children") as listed:
        return [int(child) for child in listed.read().split()]


def _per_request(first: float | None, last: float | None, n: float) -> float | None:
    """Milliseconds of CPU a request between two readings, None when one is unreadable."""
    return None if first is None or last is None or not n else 1e3 * (last - first) / n


def _ms(value: float | None) -> str:
    return "?" if value is None else f"{value:.2f} ms"


@dataclass
class Round:
    """One round: `/healthz` at peak, then the intake at peak, with the intake's CPU a request
    of the workers and of PostgreSQL (/proc; None where unreadable)."""

    trivial: dict[str, float]
    intake: dict[str, float]
    workers: float | None
    database: float | None

    @property
    def ratio(self) -> float:
        return self.intake["rate"] / self.trivial["rate"]


def one_round(engine: Engine, web: int, base: str, args: argparse.Namespace, folder: Path) -> Round:
    trivial = wrk(f"{base}/healthz", args.seconds, args.connections, folder / "close.lua")
    workers = _children(web)
    before = processes_cpu(workers), backend_cpu(engine)
    intake = wrk(f"{base}/api/v1/records", args.seconds, args.connections, folder / "post.lua")
    after = processes_cpu(workers), backend_cpu(engine)
    return Round(
        trivial,
        intake,
        _per_request(before[0], after[0], intake["requests"]),
        _per_request(before[1], after[1], intake["requests"]),
    )


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def main() -> None:
    configure_engine_keys(load())  # personal data with the configured keys, as the app
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--db", choices=["pg"], default="pg")
    parser.add_argument("--runs", type=int, default=3, help="rounds; their medians are printed")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("5 HTTP intake: skipped, `wrk` is not installed (apt-get install wrk)", flush=True)
        return
    with database("pg") as engine, tempfile.TemporaryDirectory() as folder:
        services = Services(make_session_factory(engine))
        services.publish(checked_source(ROOT / "workflows" / "after_sales"), by="bench")
        with services.uow() as uow:
            _, token = tokens.issue(uow.session, "bench", ("write",), services.clock.now())
            uow.commit()
        port = free_port()
        env: dict[str, Any] = {
            **os.environ,
            "CARELOOP_DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "CARELOOP_SECRET_KEY": "bench-only",
            "CARELOOP_IN_PROCESS_SCHEDULER": "0",
            "CARELOOP_LOG_LEVEL": "WARNING",
            "PROMETHEUS_MULTIPROC_DIR": str(Path(folder) / "prometheus"),
        }
        web = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "wsgi:app"]
            + ["-w", str(args.workers), "-b", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(f"{base}/readyz")
            script = Path(folder) / "post.lua"
            body = json.dumps(RECORD, ensure_ascii=False)
            script.write_text(LUA.format(body=body, token=token), encoding="utf-8")
            closing = Path(folder) / "close.lua"
            closing.write_text(CLOSE, encoding="utf-8")
            wrk(f"{base}/healthz", 2, args.connections, closing)  # warm both workers up
            rounds = [
                one_round(engine, web.pid, base, args, Path(folder)) for _ in range(args.runs)
            ]
            for number, done in enumerate(rounds, 1):
                print(
                    f"#   round {number}: {done.intake['rate']:,.1f} req/s, /healthz "
                    f"{done.trivial['rate']:,.1f}, ratio {done.ratio:.3f}; CPU a request: "
                    f"workers {_ms(done.workers)}, PostgreSQL {_ms(done.database)}",
                    flush=True,
                )
            rate = statistics.median(r.intake["rate"] for r in rounds)
            row = Row(
                "5 HTTP intake, peak",
                "pg",
                "req/s",
                rate,
                statistics.median(r.trivial["rate"] for r in rounds),
                "≥ 0.15×, ≥ 400/s",
            )
            row.print()
            print(
                f"  median of {len(rounds)} rounds; ratio of each round "
                f"{', '.join(f'{r.ratio:.3f}' for r in rounds)}; peak p99 "
                f"{statistics.median(r.intake['p99'] for r in rounds):.0f} ms "
                f"({statistics.median(r.trivial['p99'] for r in rounds):.0f} ms trivial), "
                f"errors {sum(r.intake['errors'] for r in rounds):.0f}",
                flush=True,
            )
            print(
                f"  CPU a request at peak (median): workers "
                f"{_ms(_median([r.workers for r in rounds]))}, PostgreSQL "
                f"{_ms(_median([r.database for r in rounds]))} (2 cores at 400 req/s: 5.0 ms "
                "in all, with the kernel's TCP work and wrk)",
                flush=True,
            )
            steady = paced(f"{base}/api/v1/records", token, 0.7 * rate, args.seconds)
            print(
                f"  at 70 % of peak ({steady['rate']:.0f} req/s, paced): "
                f"p99 {steady['p99']:.0f} ms, errors {steady['errors']:.0f}  "
                "goal p99 ≤ 50 ms, 0 errors",
                flush=True,
            )
        finally:
            os.killpg(web.pid, signal.SIGTERM)
            web.wait(timeout=30)


if __name__ == "__main__":
    main()
