"""The records' full-text index behind the queue's search (issue #21 item 5; R-2.6, R-1.2, R-8.3).

On SQLite (FTS5) and PostgreSQL (GIN tsvector) alike: a Chinese word of a description finds its
record, personal fields never enter the index, and the index follows a field's new text in the
transaction that writes it; migration 0025 builds the documents of records that already exist.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from engine.access import users
from engine.records import finder, searchindex
from engine.records.finder import Finder
from engine.records.intake import NewRecord
from engine.services import Services
from engine.store.migrate import downgrade, upgrade
from engine.store.models import RecordSearchDoc, User
from signin.auth import hash_password

NAME, PHONE = "欧阳娜娜", "13987654321"


def add(services: Services, description: str, number: str = "C-1", **more: Any) -> int:
    fields = {
        "customer_no": number,
        "customer_name": NAME,
        "contact": PHONE,
        "description": description,
        **more,
    }
    new = NewRecord(record_type="feedback", channel="phone", priority="P1", fields=fields)
    return services.create_record("after_sales", new, actor="api").id


def boss(session: Session, services: Services) -> User:
    return users.add_user(
        session, "zhao", "supervisor", "a long password", hash_password, services.clock.now()
    )


def found(services: Services, *words: str, is_open: bool | None = True) -> list[int]:
    with services.uow() as uow:
        who = uow.session.scalars(select(User).where(User.username == "zhao")).first()
        if who is None:
            who = boss(uow.session, services)
            uow.commit()
        wanted = Finder(words=words, is_open=is_open)
        page = finder.find_page(uow.session, who, wanted, services.clock.now(), limit=50)
        return [r.id for r in page]


def document(services: Services, record_id: int) -> str:
    with services.uow() as uow:
        doc = uow.session.get(RecordSearchDoc, record_id)
        assert doc is not None, f"record {record_id} has no search document"
        return doc.tokens


def test_a_chinese_word_of_the_description_finds_the_record(services: Services) -> None:
    screen = add(services, "手机屏幕碎了，开不了机")
    noise = add(services, "洗衣机滚筒异响，型号 XQG80-BD14", number="C-2")
    assert found(services, "屏幕") == [screen]
    assert found(services, "手机") == [screen]
    assert found(services, "滚筒", "异响") == [noise]
    assert found(services, "xqg80") == [noise]  # a model number, case-blind
    assert found(services, "xqg") == [noise]  # Latin words also match as a prefix
    assert found(services, "屏幕", "滚筒") == []  # every word must occur
    assert found(services, "烘干机") == []
    assert found(services, "碎") == [screen]  # one character: no index holds it, matched as typed


def test_personal_fields_are_never_in_the_index(services: Services) -> None:
    """R-1.2, R-8.3: the masked name and the contact are not searchable, nor stored in clear."""
    record = add(services, "冰箱不制冷，请回电 13612345678")
    tokens = document(services, record)
    assert "冰箱" in tokens.split()
    assert PHONE not in tokens and "欧阳" not in tokens and "娜娜" not in tokens
    assert "13612345678" not in tokens  # typed into the description: still left out
    assert found(services, PHONE) == []
    assert found(services, "13612345678") == []
    assert found(services, NAME) == []
    assert found(services, "13987") == []


def test_the_index_follows_a_fields_new_text_in_the_same_transaction(services: Services) -> None:
    record = add(services, "空调漏水")
    services.transition(record, "accept", {"category": "quality", "priority": "P1"}, actor="t")
    assert found(services, "配件") == []
    services.transition(record, "wait_for_customer", {"wait_reason": "等待配件到货"}, actor="t")
    assert found(services, "配件") == [record]
    services.transition(record, "customer_replied", {}, actor="t")
    services.transition(record, "wait_for_customer", {"wait_reason": "等待上门时间"}, actor="t")
    assert found(services, "配件") == []
    assert found(services, "上门") == [record]
    assert found(services, "空调") == [record]  # the fields that did not change stay found


def test_a_transition_that_changes_no_text_leaves_the_document_alone(services: Services) -> None:
    record = add(services, "热水器不出热水")
    with services.uow() as uow:
        uow.session.execute(delete(RecordSearchDoc).where(RecordSearchDoc.record_id == record))
        uow.commit()
    services.transition(record, "accept", {"category": "quality", "priority": "P0"}, actor="t")
    with services.uow() as uow:
        assert uow.session.get(RecordSearchDoc, record) is None  # not rewritten: no text changed


@pytest.mark.parametrize("few", [0, 5_000])
def test_both_of_sqlites_plans_find_the_same(
    services: Services, monkeypatch: pytest.MonkeyPatch, few: int
) -> None:
    """SQLite reads few matches by id and walks the queue's index for many (`planned`)."""
    monkeypatch.setattr(searchindex, "FEW", few)
    made = [add(services, f"第{i}台洗衣机漏水", number=f"C-{i}") for i in range(6)]
    other = add(services, "冰箱漏水", number="C-9")
    assert sorted(found(services, "洗衣机")) == made
    assert sorted(found(services, "漏水")) == sorted([*made, other])
    with services.uow() as uow:
        who = uow.session.scalars(select(User).where(User.username == "zhao")).one()
        counts = finder.count_each(
            uow.session,
            who,
            [Finder(words=("洗衣机",)), Finder(words=("冰箱",))],
            services.clock.now(),
        )
    assert counts == [6, 1]


def test_the_migration_builds_the_documents_of_existing_records(
    services: Services, db_engine: Engine
) -> None:
    """0025 on a database with records: each gets its document, personal fields left out."""
    record = add(services, "燃气灶打不着火，电话 13712345678", product="燃气灶 SO-778899")
    downgrade(db_engine, "0021")
    upgrade(db_engine)
    tokens = document(services, record)
    assert "燃气灶" in tokens.split() and "778899" in tokens.split()
    assert PHONE not in tokens and "13712345678" not in tokens
    assert found(services, "燃气灶") == [record]
    assert found(services, "778899") == [record]
