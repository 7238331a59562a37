"""The web door of `engine.bounds`: every request of every face is bounded here, once.

- `<int:…>` in any route (ours, Flask-Admin's) only matches ids a row can have, so
  `/records/2147483648` is the same 404 on PostgreSQL as on SQLite, not a DataError;
- the path, the query, form fields, upload names and JSON bodies hold no NUL and no lone
  surrogate, and JSON nests at most `MAX_DEPTH` deep: otherwise a 400 that says what, as
  problem+json on the API and as a page in the user's language elsewhere (ASVS 5.1.3, 5.1.4).

Registered first in `create_app`, before any blueprint adds a rule, so the converter is the
one every `<int:…>` compiles with.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter, Map

from engine import bounds

BODY_METHODS = ("POST", "PUT", "PATCH")


class BoundedInt(IntegerConverter):
    """Werkzeug's `int`, capped at the largest id an `INTEGER` column holds."""

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        cap = kwargs.get("max")
        kwargs["max"] = bounds.MAX_ID if cap is None else min(cap, bounds.MAX_ID)
        super().__init__(url_map, *args, **kwargs)


class UnfitInput(BadRequest):
    """A request carrying what no field may hold: says where, in English for the API's problem
    details and in the user's language (`hint`) for pages."""

    hint = _l("提交的内容包含无法保存的字符（如空字符），或嵌套过深；请删除后重试。")


def refuse(where: str, problem: str) -> None:
    raise UnfitInput(description=f"{where} {problem}")


def check_request() -> None:
    """Refuse the request when its path, query, form or JSON body is out of bounds."""
    problem = bounds.text_problem(request.path)
    if problem:
        refuse("the path", problem)
    for name, value in request.args.items(multi=True):
        problem = bounds.text_problem(name) or bounds.text_problem(value)
        if problem:
            refuse("a query parameter", problem)
    if request.method not in BODY_METHODS:
        return
    if request.is_json:
        check_json(request.get_data(cache=True))
    elif request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for name, value in request.form.items(multi=True):
            problem = bounds.text_problem(name) or bounds.text_problem(value)
            if problem:
                refuse(f"the form field {name!r}", problem)
        for upload in request.files.values():
            problem = bounds.text_problem(upload.filename or "")
            if problem:
                refuse("an uploaded file's name", problem)


def check_json(body: bytes) -> None:
    """Parse the body once to bound it; a body that is not JSON at all is left to the views'
    parser, which already answers 400 with its own words."""
    try:
        parsed = json.loads(body)
    except RecursionError:
        refuse("the JSON body is", f"nested deeper than {bounds.MAX_DEPTH} levels")
    except ValueError:
        return
    problem = bounds.nested_problem(parsed)
    if problem:
        refuse("the JSON body:", problem)


def register_converters(app: Flask) -> None:
    """Before any route: every `<int:…>` compiles with `BoundedInt`."""
    app.url_map.converters["int"] = BoundedInt


def init_app(app: Flask) -> None:
    register_converters(app)
    app.before_request(check_request)
