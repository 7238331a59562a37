"""One map from the engine's errors to HTTP answers, shared by the desk, the admin and the API.

The API answers with problem+json (`api`), pages in the user's language; both take the status
from `status_of`, so a refused transition is the same 409 everywhere. Only errors the engine
raises on purpose (`CareloopError`) are the client's: anything else is a bug of ours, which
Flask logs and answers with a 500, never relabelled as bad input.

HTTP errors (an unknown URL, `abort(404)`, a 403 for the wrong role, a 500) reach `http_page`
through the API's handler (flask-smorest owns the app's one `HTTPException` handler, and a
second registration would replace it): outside `/api/v1` they become a page in the site's
layout, never Werkzeug's bare English one.
"""

from __future__ import annotations

from http import HTTPStatus

from flask import Flask, Response, current_app, g, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException

from engine.delivery.idempotency import IdempotencyConflict
from engine.errors import (
    CareloopError,
    ConflictError,
    InvalidInput,
    NotFound,
    PublishRefused,
    TransitionRefused,
)

# The first entry the error is an instance of decides; the base class closes the list.
STATUSES: tuple[tuple[type[CareloopError], HTTPStatus], ...] = (
    (NotFound, HTTPStatus.NOT_FOUND),
    (ConflictError, HTTPStatus.CONFLICT),  # someone changed the record first
    (IdempotencyConflict, HTTPStatus.CONFLICT),
    (PublishRefused, HTTPStatus.CONFLICT),  # open records stand in the way
    (TransitionRefused, HTTPStatus.CONFLICT),  # the record's stage does not allow it now
    (InvalidInput, HTTPStatus.UNPROCESSABLE_ENTITY),
    (CareloopError, HTTPStatus.UNPROCESSABLE_ENTITY),
)

# Problem titles as RFC 9110 names them (Python's HTTPStatus still says "Unprocessable Entity").
PROBLEM_TITLES = {
    HTTPStatus.NOT_FOUND: "Not Found",
    HTTPStatus.CONFLICT: "Conflict",
    HTTPStatus.UNPROCESSABLE_ENTITY: "Unprocessable Content",
}

PAGE_TITLES = {
    HTTPStatus.BAD_REQUEST: _l("请求无效"),
    HTTPStatus.FORBIDDEN: _l("没有权限访问此页面"),
    HTTPStatus.NOT_FOUND: _l("找不到要找的内容"),
    HTTPStatus.METHOD_NOT_ALLOWED: _l("不支持这种访问方式"),
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: _l("提交的内容过大"),
    HTTPStatus.INTERNAL_SERVER_ERROR: _l("服务器出错了"),
    HTTPStatus.SERVICE_UNAVAILABLE: _l("服务暂时不可用"),
    HTTPStatus.CONFLICT: _l("这一步与记录的当前状态冲突"),
    HTTPStatus.UNPROCESSABLE_ENTITY: _l("输入的内容无法处理"),
}

# What to do next, in the user's words (Werkzeug's descriptions are English and technical).
PAGE_HINTS = {
    HTTPStatus.BAD_REQUEST: _l("页面提交的内容不完整或已过期，请返回后重试。"),
    HTTPStatus.FORBIDDEN: _l("你的角色不能使用这项功能；如需要，请联系主管或运营人员。"),
    HTTPStatus.NOT_FOUND: _l("地址可能有误，或者这条内容不存在、不属于你的团队。"),
    HTTPStatus.METHOD_NOT_ALLOWED: _l("请通过页面上的按钮或链接操作。"),
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: _l("请减小文件或内容后重试。"),
    HTTPStatus.INTERNAL_SERVER_ERROR: _l("问题已记录，请稍后重试；如果一直出现，请联系运营人员。"),
    HTTPStatus.SERVICE_UNAVAILABLE: _l("数据库暂时无法连接（例如正在重启），请稍后重试。"),
}

# The database being away (a restart, a failover, a full pool): not a bug of ours and not the
# client's fault, but a 503 that says when to come back, on every face.
UNAVAILABLE: tuple[type[Exception], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.PendingRollbackError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
)
RETRY_AFTER = "5"


def status_of(error: CareloopError) -> HTTPStatus:
    """The HTTP status of an engine error, the same on every face."""
    return next(status for kind, status in STATUSES if isinstance(error, kind))


CSRF_HINT = _l("页面已过期或缺少安全令牌（CSRF）：请刷新页面后重试。")


def size_limit() -> str:
    """MAX_CONTENT_LENGTH as people read it: 1 MiB, 512 KiB, 1500 bytes."""
    limit = int(current_app.config.get("MAX_CONTENT_LENGTH") or 0)
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if limit >= size:
            return f"{limit / size:.3g} {unit}"
    return str(_("%(n)s 字节", n=limit))


def too_large_hint() -> str:
    """What a 413 says: the limit by its size and by the setting that raises it (issue #22)."""
    return str(
        _(
            "一次最多可提交 %(limit)s，请减小文件或内容后重试。"
            "运营人员可通过 CARELOOP_MAX_CONTENT_LENGTH（MAX_CONTENT_LENGTH）调整上限。",
            limit=size_limit(),
        )
    )


def http_page(error: HTTPException) -> tuple[str, int]:
    """An HTTP error as a page in the user's language, with the site's layout and a way home."""
    code = error.code or HTTPStatus.INTERNAL_SERVER_ERROR
    status = HTTPStatus(code)
    # A missing or stale CSRF token is the usual 400 of a page left open: say so by name.
    hint = CSRF_HINT if isinstance(error, CSRFError) else PAGE_HINTS.get(status, "")
    if status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE and current_app.config.get(
        "MAX_CONTENT_LENGTH"
    ):
        hint = too_large_hint()
    hint = getattr(error, "hint", None) or hint  # the error's own words (web/bounds.py)
    page = render_template(
        "web/error.html", title=PAGE_TITLES.get(status, status.phrase), detail=hint, status=status
    )
    return page, code


def unavailable_page() -> str:
    """The 503 page; the layout names the signed-in user, whom loading needs the database: if
    that fails too, the page is rendered for an anonymous visitor (never a 500 on a 503)."""
    status = HTTPStatus.SERVICE_UNAVAILABLE

    def render() -> str:
        title, hint = PAGE_TITLES[status], PAGE_HINTS[status]
        return render_template("web/error.html", title=title, detail=hint, status=status)

    try:
        return render()
    except UNAVAILABLE:
        manager = current_app.login_manager  # type: ignore[attr-defined]
        g._login_user = manager.anonymous_user()  # Flask-Login's slot for this request
        return render()


def init_app(app: Flask) -> None:
    """Pages answer an engine error the views did not handle with a page in the user's language."""

    @app.errorhandler(CareloopError)
    def engine_error(error: CareloopError) -> tuple[str, int]:
        status = status_of(error)
        page = render_template(
            "web/error.html", title=PAGE_TITLES[status], detail=str(error), status=status
        )
        return page, status

    def database_away(error: Exception) -> Response | tuple[str, int, dict[str, str]]:
        app.logger.warning("database unavailable: %s", type(error).__name__)
        status = HTTPStatus.SERVICE_UNAVAILABLE
        headers = {"Retry-After": RETRY_AFTER}
        if request.path.startswith("/api/"):
            from api.problems import problem  # imported here: `api` imports this module

            detail = "the database is not reachable right now; retry after a few seconds"
            return problem(status, "Service Unavailable", detail, headers=headers)
        return unavailable_page(), status, headers

    for kind in UNAVAILABLE:
        app.register_error_handler(kind, database_away)
