"""The queue's finder on SQLite and PostgreSQL alike (issue #21, item 5; R-2.6, R-2.2, R-2.4).

JSON text, EXISTS over the clocks, the visibility clause and the keyset comparisons are SQL
each database reads its own way: the same statements must find the same records on both.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from engine.access import users
from engine.records import finder
from engine.records.finder import Finder
from engine.records.intake import NewRecord
from engine.services import Services
from engine.store.models import Record, SlaClock, User
from signin.auth import hash_password


def add(services: Services, description: str, number: str, priority: str = "P1") -> int:
    fields = {"customer_no": number, "contact": "13812345678", "description": description}
    new = NewRecord(record_type="feedback", channel="phone", priority=priority, fields=fields)
    return services.create_record("after_sales", new, actor="api").id


def user(session: Session, services: Services, name: str, role: str, team: str | None) -> User:
    return users.add_user(
        session, name, role, "a long password", hash_password, services.clock.now(), team=team
    )


def ids(session: Session, who: User, services: Services, **wanted: Any) -> list[int]:
    found = finder.find_page(session, who, Finder(**wanted), services.clock.now(), limit=100)
    return [r.id for r in found]


def test_search_sla_and_team_scope_find_the_same_on_both_databases(services: Services) -> None:
    noisy = add(services, "洗衣机滚筒异响 Drum NOISE", "C-1")
    slow = add(services, "物流 100% 太慢", "C-2")
    routed = add(services, "研发要看的问题", "C-3")
    services.transition(routed, "accept", {"category": "quality", "priority": "P1"}, actor="t")
    with services.uow() as uow:
        uow.session.execute(
            update(SlaClock)
            .where(SlaClock.record_id == slow)
            .values(breached_at=services.clock.now())
        )
        agent = user(uow.session, services, "li", "agent", "service_desk")
        boss = user(uow.session, services, "zhao", "supervisor", None)
        uow.commit()
        assert ids(uow.session, agent, services, words=("滚筒",)) == [noisy]
        assert ids(uow.session, agent, services, words=("100%",)) == [slow]
        assert ids(uow.session, agent, services, words=("noise",)) == [noisy]  # case-blind
        assert ids(uow.session, agent, services, words=("0%太",)) == []
        assert ids(uow.session, agent, services, sla="breached") == [slow]
        assert set(ids(uow.session, agent, services, sla="on_track")) == {noisy}
        assert routed not in ids(uow.session, agent, services)
        assert ids(uow.session, boss, services, department="rnd") == [routed]
        counts = finder.count_each(
            uow.session,
            agent,
            [Finder(), Finder(sla="breached"), Finder(department="rnd")],
            services.clock.now(),
        )
        assert counts == [2, 1, 0]


def test_every_sort_pages_through_all_records_once(services: Services) -> None:
    """R-2.6 by default, by received time or deadline (missing deadlines last) on request."""
    made = [add(services, f"第{i}条", f"C-{i}", ("P0", "P1", "P2")[i % 3]) for i in range(12)]
    with services.uow() as uow:
        uow.session.execute(
            update(Record).where(Record.id.in_(made[:4])).values(next_deadline=None)
        )
        boss = user(uow.session, services, "zhao", "supervisor", None)
        uow.commit()
        now = services.clock.now()
        for sort in finder.SORTS:
            for descending in (False, True):
                wanted = Finder(sort=sort, descending=descending)
                seen: list[int] = []
                after = None
                while True:
                    page = finder.find_page(uow.session, boss, wanted, now, limit=5, after=after)
                    seen.extend(r.id for r in page)
                    if len(page) < 5:
                        break
                    after = finder.cursor_of(wanted, page[-1])
                assert sorted(seen) == sorted(made) and len(set(seen)) == 12, (sort, descending)
