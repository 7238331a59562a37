"""The write path's per-process caches (issue #24 item 1): a change made in this process shows
at once, one made elsewhere within the cache's seconds (docs/security.md for tokens, R-1.6).

"Elsewhere" is a raw SQL statement, which the caches do not watch, as they cannot watch
another worker; the caches' seconds are stepped by a fake monotonic clock, never slept.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select, text

from engine.access import tokens
from engine.delivery import webhooks
from engine.delivery.outbound import OutboundPolicy
from engine.records.intake import NewRecord
from engine.services import Services
from engine.store.models import OutboxMessage, PackVersion
from engine.store.rowcache import RowCache

FEEDBACK = NewRecord(
    record_type="feedback",
    channel="online_chat",
    fields={"customer_no": "C-1", "contact": "13812345678", "description": "E3"},
)


class Ticks:
    """A monotonic clock the test steps."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks(monkeypatch: pytest.MonkeyPatch) -> Iterator[Ticks]:
    """The caches' clock, stepped by the test (each cache reads it through `_monotonic`)."""
    fake = Ticks()
    for cache in (tokens._live, webhooks._subscribers):
        monkeypatch.setattr(cache, "_monotonic", fake)
        cache.clear()
    yield fake


def test_a_cache_keeps_a_value_for_its_seconds_and_not_none() -> None:
    fake = Ticks()
    cache: RowCache[str, int | None] = RowCache("no_such_table", 5.0, monotonic=fake)
    loads: list[str] = []

    def load(value: int | None) -> int | None:
        loads.append("load")
        return value

    assert cache.get("a", lambda: load(1)) == 1
    fake.now += 4.9
    assert cache.get("a", lambda: load(2)) == 1
    fake.now += 0.2
    assert cache.get("a", lambda: load(3)) == 3
    assert cache.get("b", lambda: load(None)) is None
    assert cache.get("b", lambda: load(None)) is None
    assert len(loads) == 4  # None was read twice: an unknown key is never kept


def test_a_token_revoked_here_is_refused_at_once(services: Services, ticks: Ticks) -> None:
    now = services.clock.now()
    with services.uow() as uow:
        _, plain = tokens.issue(uow.session, "bot", ["read"], now)
        uow.commit()
    for _ in range(2):  # the first use is noted (a write), the second is kept in the cache
        with services.uow() as uow:
            assert tokens.authenticate(uow.session, plain, now) is not None
            uow.commit()
    with services.uow() as uow:
        tokens.revoke(uow.session, "bot", now)
        uow.commit()
    with services.uow() as uow:
        assert tokens.authenticate(uow.session, plain, now) is None


def test_a_token_revoked_by_another_process_is_refused_within_its_seconds(
    services: Services, db_engine: Engine, ticks: Ticks
) -> None:
    now = services.clock.now()
    with services.uow() as uow:
        _, plain = tokens.issue(uow.session, "bot", ["read"], now)
        uow.commit()
    for _ in range(2):
        with services.uow() as uow:
            assert tokens.authenticate(uow.session, plain, now) is not None
            uow.commit()
    with db_engine.begin() as conn:  # another worker revokes it
        conn.execute(text("UPDATE api_tokens SET revoked_at = created_at"))
    with services.uow() as uow:
        assert tokens.authenticate(uow.session, plain, now) is not None  # still cached
    ticks.now += tokens.TOKEN_TTL
    with services.uow() as uow:
        assert tokens.authenticate(uow.session, plain, now) is None


def test_a_subscription_made_here_is_served_from_the_next_record_on(
    services: Services, ticks: Ticks
) -> None:
    services.intake("after_sales", FEEDBACK, actor="test")  # no subscriber yet: cached empty
    with services.uow() as uow:
        token, _ = tokens.issue(uow.session, "hooks", ["read"], services.clock.now())
        webhooks.subscribe(
            uow.session,
            token.id,
            "http://127.0.0.1:9/hook",
            ["record.created"],
            services.clock.now(),
            policy=OutboundPolicy.allowing(["127.0.0.1"]),
        )
        uow.commit()
    record, _ = services.intake("after_sales", FEEDBACK, actor="test")
    with services.uow() as uow:
        queued = uow.session.scalars(
            select(OutboxMessage.record_id).where(OutboxMessage.channel == "hook")
        ).all()
    assert queued == [record.id]


def test_a_subscription_rolled_back_is_not_served(services: Services, ticks: Ticks) -> None:
    with services.uow() as uow:
        token, _ = tokens.issue(uow.session, "hooks", ["read"], services.clock.now())
        uow.commit()
    with services.uow() as uow:
        webhooks.subscribe(
            uow.session,
            token.id,
            "http://127.0.0.1:9/hook",
            ["record.created"],
            services.clock.now(),
            policy=OutboundPolicy.allowing(["127.0.0.1"]),
        )
        assert len(webhooks._subscriptions(uow.session)) == 1  # read inside the transaction
        uow.rollback()
    services.intake("after_sales", FEEDBACK, actor="test")
    with services.uow() as uow:
        assert uow.session.scalars(select(OutboxMessage.id)).all() == []


def test_a_pack_published_here_takes_the_next_intake(services: Services) -> None:
    from tests.conftest import ROOT
    from workflows.validate import checked_source

    first, _ = services.intake("after_sales", FEEDBACK, actor="test")
    source = checked_source(ROOT / "workflows" / "after_sales")
    changed = source.files | {"pack.yaml": source.files["pack.yaml"] + "\n# v2\n"}
    services.publish(type(source)(source.name, changed, source.data, "0" * 64), by="test")
    second, _ = services.intake("after_sales", FEEDBACK, actor="test")
    with services.uow() as uow:
        numbers = {v.id: v.version for v in uow.session.scalars(select(PackVersion)).all()}
    assert (numbers[first.pack_version_id], numbers[second.pack_version_id]) == (1, 2)


def test_the_cached_version_outlives_a_rollback_of_the_session_that_read_it(
    services: Services,
) -> None:
    with services.uow() as uow:
        version = services.specs.latest(uow.session, "after_sales")
        uow.rollback()  # expires what the session holds: the cached version is not among it
    assert version.version == 1
    record, created = services.intake("after_sales", FEEDBACK, actor="test")
    assert created and record.pack_version_id == version.id
