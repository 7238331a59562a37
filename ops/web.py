"""The web app's operations side: request metrics and `/metrics` for Prometheus.

Who may scrape: with `CARELOOP_METRICS_TOKEN` set, whoever sends it as a bearer
token; without it, only a client on this machine (127.0.0.1 or ::1) whose request
did not come through a proxy (no X-Forwarded-For). Anyone else gets a 404, as if
there were nothing there: series hold no personal data, but they tell volumes.
"""

from __future__ import annotations

import hmac
import os
import time
from typing import Any

from flask import Flask, Response, abort, g, request

from ops import metrics

LOOPBACK = {"127.0.0.1", "::1"}


def may_scrape() -> bool:
    """The token when one is configured, else a local client that no proxy forwarded."""
    expected = os.environ.get("CARELOOP_METRICS_TOKEN", "")
    if expected:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {expected}".encode())
    return request.remote_addr in LOOPBACK and "X-Forwarded-For" not in request.headers


def init_app(app: Flask) -> None:
    """Register first, so the timing covers the other hooks (token checks, sign-in)."""
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_finish)

    @app.get("/metrics")
    def scrape() -> Any:
        if not may_scrape():
            abort(404)
        body, content_type = metrics.exposition(app.extensions["careloop"].session_factory)
        return Response(body, content_type=content_type)


def _start() -> None:
    g.careloop_began = time.perf_counter()


def _finish(response: Response) -> Response:
    """Count the request under its Flask endpoint (`api.RecordItem`), never its path: a path
    may carry a customer's number, and one series per id would swamp Prometheus."""
    rule = request.url_rule.endpoint if request.url_rule is not None else "unmatched"
    began = g.get("careloop_began")
    metrics.REQUESTS.labels(request.method, rule, str(response.status_code)).inc()
    if began is not None:
        metrics.REQUEST_SECONDS.labels(request.method, rule).observe(time.perf_counter() - began)
    return response
