"""One error map (issue #19): an engine error has one status on every face, and a bug of ours
is a logged 500, never the client's fault."""

from __future__ import annotations

import logging
from http import HTTPStatus
from pathlib import Path

import pytest
from flask import Flask

from api import engine_error
from engine.delivery.idempotency import IdempotencyConflict
from engine.errors import (
    CareloopError,
    ConflictError,
    InvalidInput,
    NotFound,
    PublishRefused,
    TransitionRefused,
)
from tests.conftest import web_app
from web.errors import status_of


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NotFound("record 7 does not exist"), 404),
        (ConflictError(7), 409),
        (IdempotencyConflict("key reused with another body"), 409),
        (PublishRefused("after_sales", {("feedback", "old"): 2}), 409),
        (TransitionRefused("record 7 is in stage 'closed'"), 409),
        (InvalidInput("required: 联系电话", fields={"contact": "required"}), 422),
        (CareloopError("anything else the engine refuses"), 422),
    ],
)
def test_each_engine_error_has_one_status(error: CareloopError, status: int) -> None:
    assert status_of(error) == status


def app_raising(tmp_path: Path, error: Exception) -> Flask:
    app = web_app(tmp_path)

    def boom() -> str:
        raise error

    app.add_url_rule("/boom", "boom", boom)
    app.add_url_rule("/api/v1/boom", "api_boom", boom)
    return app


def test_a_refused_transition_on_a_page_is_a_409_page_in_the_users_language(
    tmp_path: Path,
) -> None:
    app = app_raising(tmp_path, TransitionRefused("record 7 is in stage 'closed'"))
    client = app.test_client()
    chinese = client.get("/boom", headers={"Accept-Language": "zh-CN"})
    assert chinese.status_code == HTTPStatus.CONFLICT
    assert "这一步与记录的当前状态冲突" in chinese.get_data(as_text=True)
    english = client.get("/boom", headers={"Accept-Language": "en"})
    assert english.status_code == HTTPStatus.CONFLICT
    page = english.get_data(as_text=True)
    assert "conflicts with the record's current state" in page and "record 7" in page


def test_an_unexpected_error_is_a_logged_500_not_the_clients_fault(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = app_raising(tmp_path, ValueError("a bug of ours"))
    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = app.test_client()
    with caplog.at_level(logging.ERROR):
        assert client.get("/boom").status_code == 500
        assert client.get("/api/v1/boom").status_code == 500
    assert any(r.exc_info and "a bug of ours" in str(r.exc_info[1]) for r in caplog.records)


def test_no_face_relabels_builtin_errors_as_the_clients_fault(tmp_path: Path) -> None:
    app = web_app(tmp_path)
    handled = {
        exc_class
        for spec in [
            app.error_handler_spec,
            *(bp.error_handler_spec for bp in app.iter_blueprints()),
        ]
        for by_code in spec.values()
        for handlers in by_code.values()
        for exc_class in handlers
    }
    assert not handled & {Exception, ValueError, TypeError, LookupError, RuntimeError}
    assert CareloopError in handled


def test_the_apis_problem_titles_are_rfc_9110s(tmp_path: Path) -> None:
    app = web_app(tmp_path)
    with app.test_request_context():
        answer = engine_error(InvalidInput("required: 联系电话", fields={"contact": "required"}))
    assert answer.status_code == 422
    assert answer.get_json()["title"] == "Unprocessable Content"
    assert answer.get_json()["errors"] == [{"path": "/fields/contact", "message": "required"}]
