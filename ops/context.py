"""The correlation id of the work in hand: an HTTP request's id or a scheduler job's.

A context variable, so every log line written while the work runs (in the web
adapter, in the engine, in a sweep) carries the same id without passing it
through the engine's signatures.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")

request_id: ContextVar[str | None] = ContextVar("careloop_request_id", default=None)
# What a caller may send as X-Request-Id: short and plain, so it cannot smuggle data into logs.
ACCEPTED = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def new_id(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4().hex}"


def accepted_or_new(given: str | None) -> str:
    """The caller's id when it looks like one (a proxy's, a load balancer's), else a fresh one."""
    return given if given and ACCEPTED.match(given) else new_id()


@contextmanager
def correlated(prefix: str) -> Iterator[str]:
    """Run under the current id, or under a fresh `<prefix><hex>` one when there is none."""
    current = request_id.get()
    if current is not None:
        yield current
        return
    token = request_id.set(new_id(prefix))
    try:
        yield request_id.get() or ""
    finally:
        request_id.reset(token)


def correlated_job(prefix: str, job: Callable[[], T]) -> Callable[[], T]:
    """A scheduler job whose every run (and every timer it fires) logs under one fresh id."""

    def run() -> T:
        with correlated(f"{prefix}-"):
            return job()

    return functools.update_wrapper(run, job, updated=())
