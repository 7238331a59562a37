"""The web app's operations side: request ids, a log line and metrics per request, `/metrics`.

Each request runs under the caller's X-Request-Id (when it looks like one) or a fresh
id, sent back in the response's X-Request-Id and stamped on every log line written
while it runs, the engine's included.

Who may scrape: with `CARELOOP_METRICS_TOKEN` set, whoever sends it as a bearer
token; without it, only a client on this machine (127.0.0.1 or ::1) whose request
did not come through a proxy (no X-Forwarded-For). Anyone else gets a 404, as if
there were nothing there: series hold no personal data, but they tell volumes.
"""

from __future__ import annotations

import hmac
import logging
import time
from typing import Any

from flask import Flask, Response, abort, g, request

from ops import metrics
from ops.context import accepted_or_new, request_id
from ops.logs import stamp_request_ids
from ops.settings import Settings

log = logging.getLogger("careloop.http")
LOOPBACK = {"127.0.0.1", "::1"}
# Probes and scrapes come every few seconds: their lines are DEBUG, not INFO.
QUIET = {"/metrics", "/healthz", "/readyz"}


def may_scrape(expected: str) -> bool:
    """The token when one is configured, else a local client that no proxy forwarded."""
    if expected:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {expected}".encode())
    return request.remote_addr in LOOPBACK and "X-Forwarded-For" not in request.headers


def init_app(app: Flask, settings: Settings) -> None:
    """Register first, so the timing covers the other hooks (token checks, sign-in)."""
    stamp_request_ids()
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_finish)
    app.teardown_request(_forget)
    # The database away is a 503 with Retry-After on every face: web/errors.py (issue #22).

    @app.get("/metrics")
    def scrape() -> Any:
        if not may_scrape(settings.metrics_token):
            abort(404)
        body, content_type = metrics.exposition(
            app.extensions["careloop"].session_factory, settings.prometheus_multiproc_dir
        )
        return Response(body, content_type=content_type)


def _start() -> None:
    g.careloop_began = time.perf_counter()
    request_id.set(accepted_or_new(request.headers.get("X-Request-Id")))


def _finish(response: Response) -> Response:
    """Count the request under its Flask endpoint (`api.RecordItem`), never its path: a path
    may carry a customer's number, and one series per id would swamp Prometheus."""
    rule = _rule()
    began = g.get("careloop_began")
    seconds = time.perf_counter() - began if began is not None else 0.0
    metrics.REQUESTS.labels(request.method, rule, str(response.status_code)).inc()
    metrics.REQUEST_SECONDS.labels(request.method, rule).observe(seconds)
    current = request_id.get()
    if current is not None:
        response.headers["X-Request-Id"] = current
    log.log(
        logging.DEBUG if request.path in QUIET else logging.INFO,
        "%s %s %s",
        request.method,
        rule,
        response.status_code,
        extra={
            "method": request.method,
            "endpoint": rule,
            "status": response.status_code,
            "duration_ms": round(seconds * 1000, 1),
        },
    )
    return response


def _rule() -> str:
    return request.url_rule.endpoint if request.url_rule is not None else "unmatched"


def _forget(_error: BaseException | None) -> None:
    """The thread serves another request next: it must not inherit this one's id."""
    request_id.set(None)
