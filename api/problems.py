"""RFC 9457 problem details: every API error says what was wrong and where, never a bare 500."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from flask import Response, json

PROBLEM = "application/problem+json"


def problem(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def field_errors(messages: Mapping[str, Any]) -> list[dict[str, str]]:
    """Flatten webargs messages ({"json": {"fields": {"x": ["..."]}}}) to JSON-pointer paths.

    Body errors read `/fields/contact`; query errors `query/limit`.
    """
    found: list[dict[str, str]] = []
    for location, detail in messages.items():
        found.extend(_walk(detail, "" if location == "json" else str(location)))
    return found


def _walk(messages: Any, path: str) -> Iterator[dict[str, str]]:
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            yield from _walk(value, f"{path}/{key}")
    elif isinstance(messages, list | tuple) and all(isinstance(m, str) for m in messages):
        for message in messages:
            yield {"path": path or "/", "message": message}
    elif isinstance(messages, list | tuple):
        for index, value in enumerate(messages):
            yield from _walk(value, f"{path}/{index}")
    else:
        yield {"path": path or "/", "message": str(messages)}
