"""Personal fields inside records encrypted at rest, found by keyed hash (issue #22 item 4).

R-1.2, R-8.3: what a record type marks personal (`mask`, type `contact`) is never in the clear
`fields` JSON a query, a dump or a backup reads; it is in `private_fields`, encrypted with
CARELOOP_DATA_KEY, and the contact's HMAC under CARELOOP_LOOKUP_KEY finds the record. Each test
runs on SQLite and on PostgreSQL (the `services` fixture).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine, select, text

from engine.access import crypto, tokens
from engine.records import finder
from engine.records.finder import Finder
from engine.records.intake import NewRecord
from engine.records.personal import all_fields, looks_like_contact
from engine.records.versions import PackSource
from engine.services import Services
from engine.store.db import make_engine, make_session_factory
from engine.store.migrate import downgrade, upgrade
from engine.store.models import Record, User
from ops.settings import Settings, configure_engine_keys
from tests.integration.test_desk import make_app, signed_in
from wsgi import services as services_of

PHONE = "13912345678"
NAME = "欧阳娜娜"


def add(services: Services, phone: str = PHONE, number: str = "C-7") -> int:
    record = services.create_record(
        "after_sales",
        NewRecord(
            record_type="feedback",
            channel="phone",
            fields={
                "customer_no": number,
                "customer_name": NAME,
                "contact": phone,
                "description": "洗碗机漏水",
            },
        ),
        actor="api",
    )
    return record.id


def raw(services: Services, record_id: int) -> tuple[str, str | None, str | None]:
    """The row as a dump sees it: the fields JSON (as text, escapes read), the sealed text, the
    hash."""
    with services.session_factory() as session:
        row = session.execute(
            text("SELECT fields, private_fields, contact_hash FROM records WHERE id = :id"),
            {"id": record_id},
        ).one()
    stored = json.loads(row.fields) if isinstance(row.fields, str) else row.fields
    fields = json.dumps(stored, ensure_ascii=False)
    return fields, row.private_fields, row.contact_hash


def test_the_name_and_phone_of_a_record_are_not_in_its_clear_fields(services: Services) -> None:
    record_id = add(services)
    fields, sealed, hashed = raw(services, record_id)
    assert PHONE not in fields and NAME not in fields and "洗碗机漏水" in fields
    assert sealed is not None and PHONE not in sealed and NAME not in sealed
    assert json.loads(crypto.decrypt(sealed)) == {"contact": PHONE, "customer_name": NAME}
    assert hashed == crypto.lookup_hash(PHONE)
    with services.session_factory() as session:
        record = session.get_one(Record, record_id)
        assert "contact" not in record.fields and record.fields["customer_no"] == "C-7"
        assert all_fields(record)["contact"] == PHONE  # the ORM hands the code plain values


def test_the_search_index_holds_no_personal_value(services: Services) -> None:
    record_id = add(services)
    with services.session_factory() as session:
        tokens = session.execute(
            text("SELECT tokens FROM record_search_docs WHERE record_id = :id"), {"id": record_id}
        ).scalar_one()
    assert "漏水" in tokens and PHONE not in tokens and NAME not in tokens


def test_the_history_keeps_personal_values_masked(services: Services) -> None:
    """The journal of the intake (and of a move) holds what the desk shows, never the value."""
    record_id = add(services)
    services.transition(record_id, "accept", {"category": "quality", "priority": "P2"}, actor="li")
    with services.session_factory() as session:
        rows = session.execute(
            text("SELECT changes FROM record_events WHERE record_id = :id"), {"id": record_id}
        ).scalars()
        kept = [json.loads(r) if isinstance(r, str) else r for r in rows]
    history = json.dumps(kept, ensure_ascii=False)
    assert PHONE not in history and NAME not in history
    assert kept[0]["contact"] == "139****5678" and kept[0]["customer_name"] == "欧***"
    assert kept[0]["description"] == "洗碗机漏水"
    assert [e["category"] for e in kept if "category" in e] == [[None, "quality"]]


def found(services: Services, wanted: Finder) -> list[int]:
    with services.uow() as uow:
        zhao = User(username="zhao", role="supervisor", password_hash="-")
        page = finder.find_page(uow.session, zhao, wanted, services.clock.now(), limit=50)
        return [r.id for r in page]


def test_the_desk_finds_a_record_by_phone_through_the_hash(services: Services) -> None:
    mine = add(services)
    other = add(services, phone="13700001111", number="C-8")
    assert found(services, Finder(contact="139-1234 5678")) == [mine]  # normalised as customers
    assert found(services, Finder(contact="13700001111", words=("13700001111",))) == [other]
    assert found(services, Finder(contact="13600000000")) == []


def test_editing_the_contact_moves_its_hash(services: Services) -> None:
    record_id = add(services)
    with services.session_factory() as session:
        version = session.get_one(Record, record_id).row_version
    services.edit_fields(
        record_id, {"contact": "13900001111"}, actor="li", expected_version=version
    )
    fields, sealed, hashed = raw(services, record_id)
    assert "13900001111" not in fields and hashed == crypto.lookup_hash("13900001111")
    assert sealed is not None and json.loads(crypto.decrypt(sealed))["contact"] == "13900001111"
    assert found(services, Finder(contact=PHONE)) == []


def test_erasure_blanks_the_encrypted_fields_and_the_hash(services: Services) -> None:
    services.save_customer("C-7", {"name": NAME, "contact": PHONE})
    record_id = add(services)
    assert services.erase_customer("C-7", actor="dpo") == 1
    fields, sealed, hashed = raw(services, record_id)
    assert sealed is not None and hashed is None
    opened = crypto.decrypt(sealed)
    assert PHONE not in opened + fields and NAME not in opened + fields
    assert found(services, Finder(contact=PHONE)) == []


def test_the_migration_moves_clear_values_out_and_downgrade_puts_them_back(
    services: Services, db_engine: Engine
) -> None:
    record_id = add(services)
    downgrade(db_engine, "0028")
    with db_engine.connect() as conn:
        clear = conn.execute(
            text("SELECT fields FROM records WHERE id = :id"), {"id": record_id}
        ).scalar_one()
        columns = conn.execute(text("SELECT * FROM records")).keys()
    clear_fields = clear if isinstance(clear, dict) else json.loads(clear)
    assert (clear_fields["contact"], clear_fields["customer_name"]) == (PHONE, NAME)
    assert "private_fields" not in columns and "contact_hash" not in columns
    upgrade(db_engine)
    fields, sealed, hashed = raw(services, record_id)
    assert PHONE not in fields and NAME not in fields and hashed == crypto.lookup_hash(PHONE)
    with services.session_factory() as session:
        record = session.get_one(Record, record_id)
        assert all_fields(record) == clear_fields
    assert found(services, Finder(contact=PHONE)) == [record_id]


@pytest.fixture
def keys() -> Iterator[None]:
    """Tests that hand the engine other keys; the development keys are put back after."""
    yield
    configure_engine_keys(Settings.for_tests())


def test_the_migration_without_keys_stops_with_one_line_naming_the_variable(
    tmp_path: Path, after_sales: PackSource, keys: None
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/old.db")
    upgrade(engine)
    service = Services(make_session_factory(engine))
    service.publish(after_sales, by="test")
    add(service)
    downgrade(engine, "0028")
    configure_engine_keys(Settings.from_environ({}))
    with pytest.raises(crypto.MissingKey) as refused:
        upgrade(engine)
    line = str(refused.value)
    assert "\n" not in line and "CARELOOP_DATA_KEY" in line and "careloop keys new" in line
    configure_engine_keys(Settings.for_tests())
    upgrade(engine)  # nothing was half done: with the key it goes through
    assert PHONE not in raw(service, 1)[0]
    engine.dispose()
    fresh = make_engine(f"sqlite:///{tmp_path}/fresh.db")
    configure_engine_keys(Settings.from_environ({}))
    upgrade(fresh)  # no record to seal: a new installation migrates before it has keys
    fresh.dispose()


@pytest.mark.parametrize(
    ("typed", "contact"),
    [("138 1234 5678", True), ("+8613812345678", True), ("li@example.com", True)],
)
def test_a_phone_or_address_typed_in_the_search_is_looked_up(typed: str, contact: bool) -> None:
    assert looks_like_contact(typed) is contact


@pytest.mark.parametrize("typed", ["洗衣机", "SO-77", "漏水 13912", "a@b"])
def test_words_are_not_taken_for_a_contact(typed: str) -> None:
    assert not looks_like_contact(typed)


@pytest.fixture
def app(tmp_path: Path, after_sales: PackSource) -> Flask:
    return make_app(tmp_path, after_sales, WTF_CSRF_ENABLED=False)


def test_the_queue_search_box_finds_the_record_by_phone_and_shows_it_masked(app: Flask) -> None:
    record_id = add(services_of(app))
    add(services_of(app), phone="13700001111", number="C-8")
    page = signed_in(app, "li").get("/queue?q=139-1234-5678").get_data(as_text=True)
    assert f'data-record="{record_id}"' in page and page.count("data-record=") == 1
    assert PHONE not in page
    with services_of(app).session_factory() as session:
        assert session.scalars(select(Record.contact_hash)).all().count(None) == 0


def api_token(app: Flask, *scopes: str) -> dict[str, str]:
    service = services_of(app)
    with service.uow() as uow:
        _, plain = tokens.issue(uow.session, "-".join(scopes), scopes, service.clock.now())
        uow.commit()
    return {"Authorization": f"Bearer {plain}"}


def test_the_page_and_the_api_open_them_for_who_may_see_them_and_mask_them_for_others(
    app: Flask,
) -> None:
    """Masking is unchanged by the encryption: an agent and a plain token see 139****5678, a
    supervisor's reveal and a token with the `personal` scope the number itself."""
    record_id = add(services_of(app))
    agent = signed_in(app, "li").get(f"/records/{record_id}").get_data(as_text=True)
    assert "139****5678" in agent and PHONE not in agent and NAME not in agent
    reveal = signed_in(app, "zhao").post(
        f"/records/{record_id}/reveal", data={"reason": "客户来电核对"}
    )
    assert reveal.status_code == 200
    assert PHONE in reveal.get_data(as_text=True) and NAME in reveal.get_data(as_text=True)
    client = app.test_client()
    plain = client.get(f"/api/v1/records/{record_id}", headers=api_token(app, "read"))
    assert plain.get_json()["fields"]["contact"] == "139****5678"
    full = client.get(f"/api/v1/records/{record_id}", headers=api_token(app, "read", "personal"))
    shown = full.get_json()["fields"]
    assert (shown["customer_name"], shown["contact"]) == (NAME, PHONE)
