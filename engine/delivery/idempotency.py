"""Safe retries: the first answer to a POST with an `Idempotency-Key` is kept and replayed.

The key is claimed in its own short transaction before the work starts, under a
unique constraint, so two concurrent requests with one key cannot both do the
work: the second waits for the first answer (409 while it is in flight).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from engine.errors import CareloopError
from engine.store.models import IdempotencyKey


class IdempotencyConflict(CareloopError, ValueError):
    """The key was used with another body, or its first request is still running."""


@dataclass(frozen=True)
class Replay:
    status_code: int
    response: dict[str, Any]


def fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps([method, path, body], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def claim(
    session_factory: sessionmaker[Session],
    token_id: int,
    key: str,
    request_hash: str,
    now: datetime,
) -> Replay | None:
    """None when this request may proceed; the stored answer when it is a replay."""
    with session_factory() as session:
        session.add(
            IdempotencyKey(token_id=token_id, key=key, request_hash=request_hash, created_at=now)
        )
        try:
            session.commit()
            return None
        except IntegrityError:
            session.rollback()
        stored = session.scalars(
            select(IdempotencyKey).where(
                IdempotencyKey.token_id == token_id, IdempotencyKey.key == key
            )
        ).one()
        if stored.request_hash != request_hash:
            raise IdempotencyConflict(
                f"Idempotency-Key '{key}' was used with a different request; use a new key"
            )
        if stored.status_code is None or stored.response is None:
            raise IdempotencyConflict(
                f"the first request with Idempotency-Key '{key}' is still running; retry shortly"
            )
        return Replay(stored.status_code, stored.response)


def store(
    session_factory: sessionmaker[Session],
    token_id: int,
    key: str,
    status_code: int,
    response: dict[str, Any],
) -> None:
    with session_factory() as session:
        stored = session.scalars(
            select(IdempotencyKey).where(
                IdempotencyKey.token_id == token_id, IdempotencyKey.key == key
            )
        ).one()
        stored.status_code, stored.response = status_code, response
        session.commit()


def release(session_factory: sessionmaker[Session], token_id: int, key: str) -> None:
    """Forget a key whose request failed, so the client can retry it with the same key."""
    with session_factory() as session:
        session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.token_id == token_id, IdempotencyKey.key == key
            )
        )
        session.commit()
