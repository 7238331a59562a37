"""One map from the engine's errors to HTTP answers, shared by the desk, the admin and the API.

The API answers with problem+json (`api`), pages in the user's language; both take the status
from `status_of`, so a refused transition is the same 409 everywhere. Only errors the engine
raises on purpose (`CareloopError`) are the client's: anything else is a bug of ours, which
Flask logs and answers with a 500, never relabelled as bad input.
"""

from __future__ import annotations

from http import HTTPStatus

from flask import Flask, render_template
from flask_babel import lazy_gettext as _l

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
    HTTPStatus.NOT_FOUND: _l("找不到要找的内容"),
    HTTPStatus.CONFLICT: _l("这一步与记录的当前状态冲突"),
    HTTPStatus.UNPROCESSABLE_ENTITY: _l("输入的内容无法处理"),
}


def status_of(error: CareloopError) -> HTTPStatus:
    """The HTTP status of an engine error, the same on every face."""
    return next(status for kind, status in STATUSES if isinstance(error, kind))


def init_app(app: Flask) -> None:
    """Pages answer an engine error the views did not handle with a page in the user's language."""

    @app.errorhandler(CareloopError)
    def engine_error(error: CareloopError) -> tuple[str, int]:
        status = status_of(error)
        page = render_template(
            "web/error.html", title=PAGE_TITLES[status], detail=str(error), status=status
        )
        return page, status
