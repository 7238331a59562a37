"""Issue #14, docs/deploy.md: `gunicorn wsgi:app` with its config file starts, answers the
probes, logs JSON and adds up its workers' metrics (Prometheus multiprocess mode)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from engine.store.db import make_engine
from engine.store.migrate import upgrade

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def wait_until_up(url: str, server: subprocess.Popen[bytes], seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, "gunicorn exited"
        try:
            if get(url)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer in {seconds} s")


def test_gunicorn_serves_the_app_with_two_workers(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/careloop.db"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    port = free_port()
    env = {
        **os.environ,
        "CARELOOP_DATABASE_URL": url,
        "CARELOOP_SECRET_KEY": "test-only",
        "CARELOOP_IN_PROCESS_SCHEDULER": "0",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
    }
    env.pop("CARELOOP_METRICS_TOKEN", None)
    server = subprocess.Popen(
        [str(GUNICORN), "wsgi:app", "--workers", "2", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/healthz", server)
        status, _, body = get(f"{base}/readyz")
        assert (status, json.loads(body)["status"]) == (200, "ready")
        for _ in range(20):  # spread over both workers
            status, headers, _ = get(f"{base}/healthz", {"X-Request-Id": "probe-1"})
            assert status == 200 and headers["X-Request-Id"] == "probe-1"
        status, _, text = get(f"{base}/metrics")
        assert status == 200
        served = [
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("careloop_http_requests_total{")
            and 'endpoint="alive"' in line
            and 'status="200"' in line
        ]
        assert sum(served) >= 21, text  # every worker's count, added up from the shared folder
        assert "careloop_outbox_backlog 0.0" in text and "careloop_database_up 1.0" in text
        assert get(f"{base}/status", {"X-Request-Id": "page-1"})[0] == 200
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        _, stderr = server.communicate(timeout=60)
    assert server.returncode == 0, stderr.decode()[-2000:]
    lines = [line for line in stderr.decode().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is JSON, gunicorn's own too
    assert any(e["logger"] == "gunicorn.error" and "Booting worker" in e["msg"] for e in entries)
    served_page = [e for e in entries if e["logger"] == "careloop.http"]
    # The status page's line, with its request id; the probes' lines are DEBUG, not written.
    assert [(e["request_id"], e["endpoint"], e["status"]) for e in served_page] == [
        ("page-1", "status", 200)
    ]


def refused_start(env: dict[str, str]) -> tuple[int | None, list[str]]:
    """Start gunicorn as an operator would; its exit code and stderr's lines, or None and what
    it wrote if it was still running after 60 s (then it is stopped, workers and all)."""
    server = subprocess.Popen(
        [str(GUNICORN), "wsgi:app", "--workers", "1", "--bind", f"127.0.0.1:{free_port()}"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        _, stderr = server.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGTERM)
        _, stderr = server.communicate(timeout=60)
        return None, stderr.decode().splitlines()
    return server.returncode, [line for line in stderr.decode().splitlines() if line.strip()]


def test_gunicorn_refuses_to_start_without_the_keys_as_careloop_serve_does(
    tmp_path: Path,
) -> None:
    """Issue #22: the line of `careloop serve` (tests/integration/test_startup_secrets.py), and
    exit code 1, before a worker is forked; a wrong data key is its own one line."""
    from engine.access import crypto
    from engine.services import Services
    from engine.store.db import make_session_factory

    url = f"sqlite:///{tmp_path}/careloop.db"
    engine = make_engine(url)
    upgrade(engine)
    Services(make_session_factory(engine)).save_customer("C-7", {"name": "王芳"})
    engine.dispose()
    shell = {k: v for k, v in os.environ.items() if not k.startswith("CARELOOP_")}
    shell = {**shell, "CARELOOP_DATABASE_URL": url, "CARELOOP_SECRET_KEY": "test-only"}
    assert refused_start(shell) == (
        1,
        [
            "CARELOOP_DATA_KEY and CARELOOP_LOOKUP_KEY are not set: `careloop keys new` prints "
            "them (CARELOOP_INSECURE_DEV=1 uses public development keys, never in production)"
        ],
    )
    wrong = {"CARELOOP_DATA_KEY": crypto.new_key(), "CARELOOP_LOOKUP_KEY": "k" * 40}
    assert refused_start({**shell, **wrong}) == (
        1,
        ["stored personal data does not open with CARELOOP_DATA_KEY: wrong or rotated-out key"],
    )
