"""The REST API for integrations (`/api/v1`), described by OpenAPI generated from its schemas.

Chat widgets, call centres and shops push records here (R-1.6). Every
resource endpoint needs a bearer token; every error is RFC 9457
`application/problem+json` naming what was wrong and where, and nothing a
client sends can cause a 500.
"""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path
from typing import Any

import flask_swagger_ui
from flask import Flask, request, send_from_directory
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from api import (  # noqa: F401  (their routes join the blueprint)
    attachments,
    channels,
    deadlines,
    merge,
    messages,
)
from api.problems import PROBLEM, field_errors, problem
from api.schemas import Problem
from api.views import blp
from engine.errors import CareloopError
from ops.settings import Settings
from web.errors import PROBLEM_TITLES, http_page, status_of

PREFIX = "/api/v1"
# Swagger UI 5, the first to read OpenAPI 3.1 (4.x showed "Unable to render this definition"
# for our description): the files flask-swagger-ui ships, served from here, no CDN.
SWAGGER_UI = Path(flask_swagger_ui.__file__).parent / "dist"
MAX_BODY = 1024 * 1024


class CareloopApi(Api):  # type: ignore[misc]
    """flask-smorest's Api, answering API errors as problem details and leaving the rest alone."""

    ERROR_SCHEMA = Problem

    def _register_responses(self) -> None:
        """Document every error response as `application/problem+json`, as it is sent."""
        for status in HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM)
            self.spec.components.response(status.name, response, lazy=True)
        default = {"description": "Problem details", "schema": self.ERROR_SCHEMA}
        prepare_response(default, self.spec, PROBLEM)
        self.spec.components.response("DEFAULT_ERROR", default, lazy=True)

    def handle_http_exception(self, error: HTTPException) -> Any:
        if not request.path.startswith(PREFIX):  # the web faces: a page, not problem+json
            return http_page(error)
        data = getattr(error, "data", None) or {}
        errors = field_errors(data["messages"]) if "messages" in data else None
        detail = data.get("message") or error.description
        if errors:
            detail = "the request does not fit the schema; see errors"
        return problem(
            error.code or 500, error.name, detail, errors=errors, headers=data.get("headers")
        )


def init_app(app: Flask, settings: Settings) -> None:
    if app.config.get("MAX_CONTENT_LENGTH") is None:  # Flask's default is no limit at all
        app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    # Hosts webhooks may reach though inside (CARELOOP_OUTBOUND_ALLOW); a test config may say.
    app.config.setdefault("OUTBOUND_ALLOW", settings.outbound_allow)
    app.config.update(
        API_TITLE="Careloop API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX=PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=f"{PREFIX}/swagger-ui/",
    )
    api = CareloopApi(app)
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "An API token"}
    )
    api.spec.components.security_scheme(
        "gatewaySignature",
        {
            "type": "apiKey",
            "in": "header",
            "name": "X-Careloop-Signature",
            "description": "t=<unix time>,v1=<hex HMAC-SHA256 of '<t>.<body>'> with "
            "CARELOOP_GATEWAY_SECRET (docs/channels.md)",
        },
    )
    api.register_blueprint(blp)
    channels.init_app(app, settings)

    @app.get(f"{PREFIX}/swagger-ui/<path:filename>")
    def swagger_ui_assets(filename: str) -> Any:
        """Swagger UI served from the installed package: no CDN."""
        return send_from_directory(SWAGGER_UI, filename)

    @app.before_request
    def json_only() -> Any:
        if (
            request.path.startswith(PREFIX)
            and request.method in ("POST", "PUT", "PATCH")
            and not request.is_json
            and not attachments.accepts_upload()  # a record's file comes as multipart
        ):
            return problem(415, "Unsupported Media Type", "send Content-Type: application/json")
        return None


@blp.errorhandler(CareloopError)
def engine_error(error: CareloopError) -> Any:
    """The engine's own refusals, with the status every face gives them (`web.errors`)."""
    status = status_of(error)
    fields = getattr(error, "fields", None) or {}
    errors = [
        {"path": f"/fields/{name}", "message": str(message)} for name, message in fields.items()
    ]
    return problem(status, PROBLEM_TITLES[status], str(error), errors=errors or None)


@blp.errorhandler(IntegrityError)
def integrity_error(_error: IntegrityError) -> Any:
    return problem(409, "Conflict", "the request collides with data stored meanwhile; retry")
