"""gunicorn's settings for Careloop, read by `gunicorn wsgi:app` run in this folder.

Flags and GUNICORN_CMD_ARGS override them (`-w 4 -b 0.0.0.0:8000`); see docs/deploy.md.
Workers serve the web app and the API only: `create_app()` never starts a scheduler.

This is gunicorn's config file, read by gunicorn before any worker builds the app: it reads
its own variables (CARELOOP_BIND, WEB_CONCURRENCY, CARELOOP_LOG_LEVEL for gunicorn's logger,
PROMETHEUS_MULTIPROC_DIR) from the environment itself. Careloop's settings are read by the
app, once per worker, in ops/settings.py; tests/unit/test_settings.py exempts only this file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

bind = os.environ.get("CARELOOP_BIND", "127.0.0.1:8000")
# WEB_CONCURRENCY is gunicorn's own default for the number of workers.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
timeout = 60
graceful_timeout = 30
# Each worker logs one JSON line per request itself (ops/web.py), with its request id and
# without the query string, which may carry a customer's phone number: no access log here.
accesslog = None
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
    "root": {"handlers": ["stderr"], "level": os.environ.get("CARELOOP_LOG_LEVEL", "INFO")},
    "loggers": {
        "gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "sqlalchemy": {"level": "WARNING"},
    },
}


def on_starting(server: Any) -> None:
    """A fresh run starts from empty Prometheus files: the old workers' counts are gone."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for stale in Path(folder).glob("*.db"):
            stale.unlink()


def child_exit(server: Any, worker: Any) -> None:
    """A worker that died (or was recycled) leaves its counters behind, summed, as Prometheus
    multiprocess mode wants; only its live gauges are dropped."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
