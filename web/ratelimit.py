"""Rate limits on the web (issue #23): a 429 page in the user's language, with Retry-After.

The counting is `engine.access.ratelimit` (database or Redis, shared by every process); this module
only knows the request: whom to count (the client's address, or a subject the view names, such
as the contact a form was sent for) and how to refuse. The portal's forms and the chat box
use the same two entries: `@limited(limit)` on a view, or `check(limit, subject)` inside one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from http import HTTPStatus
from typing import Any, TypeVar, cast

from flask import Flask, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import TooManyRequests

from engine.access.ratelimit import Limit, RateLimiter, limiter_for

EXTENSION = "careloop.ratelimit"
F = TypeVar("F", bound=Callable[..., Any])


class RateLimited(TooManyRequests):
    """Too many hits: answered as `template` (the face's own layout) with Retry-After."""

    def __init__(self, retry_after: int, template: str) -> None:
        super().__init__(retry_after=retry_after)
        self.template = template
        self.seconds = retry_after


class _AppClock:
    """The app's engine clock as it is at each hit (a test may put a virtual one in its place)."""

    def __init__(self, app: Flask) -> None:
        self._app = app

    def now(self) -> datetime:
        found: datetime = self._app.extensions["careloop"].clock.now()
        return found


def init_app(app: Flask, redis_url: str | None, trusted_proxies: int = 0) -> None:
    """One limiter per app: Redis when `CARELOOP_REDIS_URL` is set, else the database."""
    service = app.extensions["careloop"]
    app.extensions[EXTENSION] = limiter_for(service.session_factory, _AppClock(app), redis_url)
    app.config.setdefault("TRUSTED_PROXIES", trusted_proxies)
    app.register_error_handler(RateLimited, too_many)


def limiter() -> RateLimiter:
    found: RateLimiter = current_app.extensions[EXTENSION]
    return found


def client_address() -> str:
    """Whom a request counts against: the address the outermost trusted proxy saw, or the
    peer's own without proxies. Behind a proxy every request comes from the proxy: counted by
    that, all customers would share one limit. Addresses left of the trusted ones are the
    client's to write, so they are never believed."""
    proxies = int(current_app.config.get("TRUSTED_PROXIES") or 0)
    forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",")]
    if proxies and len(forwarded) >= proxies and forwarded[-proxies]:
        return forwarded[-proxies]
    return request.remote_addr or "unknown"


def check(limit: Limit, subject: str, *, template: str = "web/error.html") -> None:
    """Count one hit of `subject`; RateLimited (a 429 page) once the window is full."""
    verdict = limiter().hit(limit, subject)
    if not verdict.allowed:
        raise RateLimited(verdict.retry_after, template)


def limited(
    limit: Limit, *, methods: tuple[str, ...] = ("POST",), template: str = "web/error.html"
) -> Callable[[F], F]:
    """Count each `methods` request to the view against the client's address."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if request.method in methods:
                check(limit, client_address(), template=template)
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorate


def too_many(error: RateLimited) -> tuple[Any, int, dict[str, str]]:
    """The face's page, or `{"error": …}` for a script that sent JSON (the chat box)."""
    minutes = max(1, (error.seconds + 59) // 60)
    title = _("操作过于频繁")
    message = _("您提交得太频繁了，请 %(minutes)s 分钟后再试。", minutes=minutes)
    if request.is_json:
        return jsonify({"error": message}), 429, {"Retry-After": str(error.seconds)}
    page = render_template(
        error.template,
        title=title,
        message=message,
        detail=message,
        status=HTTPStatus.TOO_MANY_REQUESTS,
    )
    return page, 429, {"Retry-After": str(error.seconds)}
