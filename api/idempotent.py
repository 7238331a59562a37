"""`Idempotency-Key` on POST: the same key and body replay the first answer; another body is 409."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, json, request

from api.auth import current_token
from api.problems import problem
from engine.delivery import idempotency
from web import current_services as services

View = TypeVar("View", bound=Callable[..., Any])
MAX_KEY = 255


def idempotent(view: View) -> View:
    """Wraps a view (inside the auth check) so a retried POST does its work once."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return view(*args, **kwargs)
        if not key.strip() or len(key) > MAX_KEY:
            return problem(400, "Bad Request", f"Idempotency-Key must be 1 to {MAX_KEY} characters")
        token = current_token().id
        body = request.get_json(silent=True)
        digest = idempotency.fingerprint(request.method, request.path, body)
        factory = services().session_factory
        replay = idempotency.claim(factory, token, key, digest, services().clock.now())
        if replay is not None:
            response = Response(
                json.dumps(replay.response, ensure_ascii=False),
                status=replay.status_code,
                mimetype="application/json",
            )
            response.headers["Idempotent-Replayed"] = "true"
            return response
        try:
            response = view(*args, **kwargs)
        except BaseException:
            idempotency.release(factory, token, key)
            raise
        answer = response if isinstance(response, Response) else None
        if answer is not None and answer.status_code < 400 and answer.is_json:
            idempotency.store(factory, token, key, answer.status_code, answer.get_json())
        else:
            idempotency.release(factory, token, key)
        return response

    return wrapper  # type: ignore[return-value]
