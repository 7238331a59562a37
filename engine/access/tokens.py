"""API tokens for integrations: random, stored as a hash, shown once, scoped, revocable."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.choices import SCOPES
from engine.errors import InvalidInput, NotFound
from engine.store.models import ApiToken

TOKEN_PREFIX = "clp_"
# How stale `last_used_at` may get: writing it on every request made each API call a write
# transaction (an UPDATE and its commit) before it did any work; operators read it to find
# unused tokens, for which a minute is exact enough.
LAST_USED_EVERY = timedelta(minutes=1)


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


def authenticate(session: Session, plain: str, now: datetime) -> ApiToken | None:
    """The live token with this text, or None (unknown, or revoked)."""
    token = session.scalars(select(ApiToken).where(ApiToken.token_hash == _digest(plain))).first()
    if token is None or token.revoked_at is not None:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
        token.last_used_at = now
    return token


def revoke(session: Session, name: str, now: datetime) -> ApiToken:
    token = session.scalars(select(ApiToken).where(ApiToken.name == name)).first()
    if token is None:
        raise NotFound(f"no token named '{name}'")
    token.revoked_at = token.revoked_at or now
    return token
