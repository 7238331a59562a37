"""Bearer tokens on every API endpoint: 401 without a live token, 403 without the scope."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import g, request

from api.problems import problem
from engine.access import tokens
from engine.access.tokens import Bearer
from web import current_services as services

View = TypeVar("View", bound=Callable[..., Any])


def current_token() -> Bearer:
    token: Bearer = g.api_token
    return token


def may_see_personal_data() -> bool:
    return "personal" in current_token().scopes


def require(scope: str) -> Callable[[View], View]:
    """Check `Authorization: Bearer <token>` and its scope before the view runs."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization", "")
            scheme, _, plain = header.partition(" ")
            challenge = {"WWW-Authenticate": 'Bearer realm="careloop"'}
            if scheme.lower() != "bearer" or not plain.strip():
                return problem(
                    401, "Unauthorized", "send Authorization: Bearer <token>", headers=challenge
                )
            with services().uow() as uow:  # no statement while the token is cached
                token = tokens.authenticate(uow.session, plain.strip(), services().clock.now())
                if token is not None and uow.session.in_transaction():
                    uow.commit()  # its use, noted
            if token is None:
                return problem(
                    401, "Unauthorized", "the token is unknown or revoked", headers=challenge
                )
            if scope not in token.scopes:
                return problem(403, "Forbidden", f"this token lacks the '{scope}' scope")
            g.api_token = token
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
