"""gunicorn's settings for Careloop, read by `gunicorn wsgi:app` run in this folder.

Flags and GUNICORN_CMD_ARGS override them (`-w 4 -b 0.0.0.0:8000`); see docs/deploy.md.
Workers serve the web app and the API only: `create_app()` never starts a scheduler.

Its values come from Careloop's settings (ops/settings.py: CARELOOP_BIND, WEB_CONCURRENCY,
CARELOOP_LOG_LEVEL, PROMETHEUS_MULTIPROC_DIR), read and checked once when gunicorn starts:
a bad value stops it before any worker is forked, the error listing each problem; so does a
missing or wrong key for personal data (ops/secrets.py), in the one line `careloop serve`
says. (gunicorn itself also reads WEB_CONCURRENCY for its default, and fails on a non-number
first.)
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from gunicorn.glogging import Logger

from ops.secrets import start_problem
from ops.settings import load

settings = load()
# As `careloop serve` (issue #22): without the keys for personal data, or with one that does not
# open what is stored, one line and exit code 1 before any worker is forked, not a fleet of
# workers whose /readyz says 503 and whose every write fails.
if problem := start_problem(settings):
    sys.stderr.write(f"{problem}\n")
    raise SystemExit(1)
bind = settings.bind
workers = settings.web_concurrency
# Threads in each worker (issue #24 item 1): an API write waits on about eight PostgreSQL round
# trips, and a synchronous worker sits idle through each. With 4 threads a worker serves
# another request meanwhile; the CPU work itself still takes turns under the GIL, so more
# threads buy little. Measured on the loaded 2-core machine in four pairs run in turns
# (docs/performance.md): 81, 88, 77, 103 against 35, 38, 78, 72 intakes/s for sync workers,
# the same worker CPU a request within the noise. `-k sync` or `--threads N` override.
worker_class = "gthread"
threads = 4
timeout = 60
graceful_timeout = 30
# Each worker logs one JSON line per request itself (ops/web.py), with its request id and
# without the query string, which may carry a customer's phone number: no access log here.
accesslog = None


class NoAccessLog(Logger):  # type: ignore[misc]
    """gunicorn's logger without the access log. With `logconfig_dict` set, gunicorn counts the
    access log as on and builds every request's log atoms (headers, environ, times) for a
    logger nobody configured: 3.4 % of a worker's CPU on an API write (py-spy, issue #24)."""

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        """Nothing: ops/web.py logs each request."""


logger_class = NoAccessLog
logconfig_dict: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "ops.logs.JsonFormatter"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        }
    },
    "root": {"handlers": ["stderr"], "level": settings.log_level},
    "loggers": {
        "gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "sqlalchemy": {"level": "WARNING"},
    },
}


def on_starting(server: Any) -> None:
    """A fresh run starts from empty Prometheus files: the old workers' counts are gone."""
    folder = settings.prometheus_multiproc_dir
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for stale in Path(folder).glob("*.db"):
            stale.unlink()


def child_exit(server: Any, worker: Any) -> None:
    """A worker that died (or was recycled) leaves its counters behind, summed, as Prometheus
    multiprocess mode wants; only its live gauges are dropped."""
    if settings.prometheus_multiproc_dir:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
