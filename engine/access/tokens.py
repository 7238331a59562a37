"""API tokens for integrations: random, stored as a hash, shown once, scoped, revocable."""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.access.choices import SCOPES
from engine.errors import InvalidInput, NotFound
from engine.store.models import ApiToken
from engine.store.rowcache import RowCache

TOKEN_PREFIX = "clp_"
# How stale `last_used_at` may get: writing it on every request made each API call a write
# transaction (an UPDATE and its commit) before it did any work; operators read it to find
# unused tokens, for which a minute is exact enough.
LAST_USED_EVERY = timedelta(minutes=1)


# How long a token revoked in another process (another worker, `careloop token revoke`) may
# still be taken here; one revoked in this process is refused at once (docs/security.md).
# Looking the token up on every request was a tenth of an API write's time (issue #24).
TOKEN_TTL = 5.0


@dataclass(frozen=True, slots=True)
class Bearer:
    """A live token as a request needs it: who calls, with which scopes."""

    id: int
    name: str
    scopes: tuple[str, ...]
    last_used_at: datetime | None


_live: RowCache[tuple[str, str], Bearer | None] = RowCache(ApiToken.__tablename__, TOKEN_TTL)


def _digest(token: str) -> str:
    # Tokens carry 256 random bits, so a plain SHA-256 cannot be brute-forced back.
    return hashlib.sha256(token.encode()).hexdigest()


def issue(
    session: Session, name: str, scopes: Iterable[str], now: datetime
) -> tuple[ApiToken, str]:
    """Create a token; the plain text is returned once and never stored."""
    scopes = sorted(set(scopes))
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise InvalidInput(f"scopes must be some of {', '.join(SCOPES)}, got {scopes or 'none'}")
    if session.scalar(select(ApiToken.id).where(ApiToken.name == name)) is not None:
        raise InvalidInput(f"a token named '{name}' exists; revoke it or pick another name")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name, prefix=plain[:10], token_hash=_digest(plain), scopes=scopes, created_at=now
    )
    session.add(token)
    session.flush()
    return token, plain


def authenticate(session: Session, plain: str, now: datetime) -> Bearer | None:
    """The live token with this text, or None (unknown, or revoked), from the process's
    cache; its use is written at most once a minute (the caller commits)."""
    digest = _digest(plain)

    def load() -> Bearer | None:
        token = session.scalars(select(ApiToken).where(ApiToken.token_hash == digest)).first()
        if token is None or token.revoked_at is not None:
            return None
        return Bearer(token.id, token.name, tuple(token.scopes), token.last_used_at)

    bearer = _live.get((str(session.get_bind().engine.url), digest), load)
    if bearer is None:
        return None
    if bearer.last_used_at is None or now - bearer.last_used_at >= LAST_USED_EVERY:
        session.execute(update(ApiToken).where(ApiToken.id == bearer.id).values(last_used_at=now))
        bearer = dataclasses.replace(bearer, last_used_at=now)
    return bearer


def revoke(session: Session, name: str, now: datetime) -> ApiToken:
    token = session.scalars(select(ApiToken).where(ApiToken.name == name)).first()
    if token is None:
        raise NotFound(f"no token named '{name}'")
    token.revoked_at = token.revoked_at or now
    return token
