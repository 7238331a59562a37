"""Customers' names and contacts encrypted at rest, found by keyed hash, exported and erased on
request (R-8.3; ASVS 11.1, 14.2)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from sqlalchemy import func, select, text

from engine.access import crypto
from engine.customers.privacy import TOMBSTONE, find_customer
from engine.errors import NotFound
from engine.records.intake import NewRecord
from engine.records.personal import all_fields
from engine.services import Services
from engine.store.db import make_engine
from engine.store.migrate import upgrade
from engine.store.models import AuditEntry, Customer, Record, RecordEvent
from ops.settings import Settings, configure_engine_keys

PHONE = "13912345678"
NAME = "欧阳娜娜"


def seed(services: Services) -> int:
    services.save_customer("C-7", {"name": NAME, "contact": PHONE, "consent_marketing": True})
    record = services.create_record(
        "after_sales",
        NewRecord(
            record_type="feedback",
            channel="phone",
            fields={
                "customer_no": "C-7",
                "customer_name": NAME,
                "contact": PHONE,
                "description": "洗碗机漏水",
            },
        ),
        actor="api",
    )
    return record.id


def test_name_and_contact_are_ciphertext_in_the_database(services: Services) -> None:
    seed(services)
    with services.session_factory() as session:
        raw = session.execute(text("SELECT name, contact, contact_hash FROM customers")).one()
        assert PHONE not in str(raw) and NAME not in str(raw)
        assert crypto.decrypt(raw.contact) == PHONE
        customer = session.scalars(select(Customer)).one()
        assert (customer.name, customer.contact) == (NAME, PHONE)  # the ORM reads plain text
        row = session.execute(select(Customer.name, Customer.contact)).one()  # so does Core
        assert tuple(row) == (NAME, PHONE)
        assert raw.contact_hash == crypto.lookup_hash(PHONE) != PHONE


def test_a_customer_is_found_by_contact_through_the_keyed_hash(services: Services) -> None:
    seed(services)
    with services.session_factory() as session:
        assert find_customer(session, "139-1234 5678").number == "C-7"
        assert find_customer(session, "C-7").contact == PHONE
        with pytest.raises(NotFound):
            find_customer(session, "13900000000")


@pytest.fixture
def keys() -> Iterator[None]:
    """Tests that hand the engine other keys; the development keys are put back after."""
    yield
    configure_engine_keys(Settings.for_tests())


def test_without_a_key_personal_data_is_refused_not_stored_in_clear(keys: None) -> None:
    configure_engine_keys(Settings.from_environ({}))
    with pytest.raises(crypto.MissingKey, match="CARELOOP_DATA_KEY is not set"):
        crypto.encrypt(PHONE)
    configure_engine_keys(Settings.from_environ({"CARELOOP_DATA_KEY": crypto.new_key()}))
    with pytest.raises(crypto.MissingKey, match="wrong or rotated-out key"):
        crypto.decrypt(Fernet(crypto.new_key().encode()).encrypt(b"x").decode())


def test_a_rotated_key_still_reads_old_rows(keys: None) -> None:
    old, new = crypto.new_key(), crypto.new_key()
    configure_engine_keys(Settings.for_tests(data_key=old))
    token = crypto.encrypt(PHONE)
    configure_engine_keys(Settings.for_tests(data_key=f"{new},{old}"))
    assert crypto.decrypt(token) == PHONE


def test_the_migration_encrypts_existing_rows(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/old.db")
    upgrade(engine, "0011")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO customers (number, name, contact, consent_service, "
                "consent_marketing, created_at) VALUES ('C-1', :name, :contact, 1, 0, :at)"
            ),
            {"name": NAME, "contact": PHONE, "at": datetime(2026, 1, 1, tzinfo=UTC)},
        )
    upgrade(engine)
    with engine.connect() as conn:
        raw = conn.execute(text("SELECT name, contact, contact_hash FROM customers")).one()
        assert NAME not in str(raw) and PHONE not in str(raw)
        assert raw.contact_hash == crypto.lookup_hash(PHONE)
        assert conn.execute(select(Customer.name, Customer.contact)).one() == (NAME, PHONE)
    engine.dispose()


def test_export_holds_everything_about_the_customer(services: Services) -> None:
    record_id = seed(services)
    data = services.export_customer(PHONE)
    assert (data["number"], data["name"], data["contact"]) == ("C-7", NAME, PHONE)
    assert data["consent"]["marketing"] is True and data["consent"]["at"]
    assert [r["id"] for r in data["records"]] == [record_id]
    assert data["records"][0]["fields"]["customer_name"] == NAME
    json.dumps(data)  # ready to hand over as JSON


def test_erasure_removes_the_person_and_keeps_statistics_and_audit(services: Services) -> None:
    record_id = seed(services)
    services.transition(record_id, "accept", {"category": "quality", "priority": "P2"}, actor="li")
    assert services.erase_customer("C-7", actor="dpo") == 1
    with services.session_factory() as session:
        customer = session.scalars(select(Customer)).one()
        assert (customer.name, customer.contact, customer.contact_hash) == (TOMBSTONE, None, None)
        assert customer.number.startswith("erased-") and customer.consent_marketing is False
        record = session.get_one(Record, record_id)
        kept = all_fields(record)
        assert kept["customer_name"] == kept["contact"] == TOMBSTONE and not record.contact_hash
        assert record.fields["description"] == "洗碗机漏水"  # not personal: kept for the analysis
        assert (record.stage, record.category, record.priority) == ("in_progress", "quality", "P2")
        events = session.scalars(select(RecordEvent).where(RecordEvent.record_id == record_id))
        history = json.dumps([e.changes for e in events], ensure_ascii=False)
        assert PHONE not in history and NAME not in history and "in_progress" not in history
        event_count = session.scalar(select(func.count()).select_from(RecordEvent))
        assert event_count is not None and event_count >= 2
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "customer.erase"))
        assert [a.actor for a in audit] == ["dpo"]
    with pytest.raises(NotFound):
        services.export_customer(PHONE)


def test_the_cli_exports_and_erases(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    from cli import careloop

    seed(services)
    monkeypatch.setenv(
        "CARELOOP_DATABASE_URL",
        services.session_factory.kw["bind"].url.render_as_string(hide_password=False),
    )
    runner = CliRunner()
    exported = runner.invoke(careloop, ["customer", "export", "C-7"])
    assert exported.exit_code == 0, exported.output
    assert json.loads(exported.output)["contact"] == PHONE
    erased = runner.invoke(careloop, ["customer", "erase", "C-7", "--by", "dpo", "--yes"])
    assert erased.exit_code == 0 and "1 records" in erased.output
    missing = runner.invoke(careloop, ["customer", "export", "C-7"])
    assert missing.exit_code == 1 and "no customer" in missing.output
    assert re.fullmatch(r"[\w-]{43}=\n", runner.invoke(careloop, ["new-data-key"]).output)


def test_operations_erase_from_the_admin_supervisors_cannot(tmp_path: Path) -> None:
    from tests.conftest import ROOT, web_app
    from tests.integration.test_browser_safety import signed_in
    from tests.integration.test_permissions import add_staff
    from workflows.validate import checked_source
    from wsgi import services as services_of

    app = web_app(tmp_path, pack=checked_source(ROOT / "workflows" / "after_sales"))
    add_staff(app)
    seed(services_of(app))
    for role, erased in (("supervisor", False), ("operations", True)):
        client = signed_in(app, role)
        page = client.get("/admin/record/").get_data(as_text=True)  # any model view's action form
        token = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert token is not None
        client.post(
            "/admin/customer/action/",
            data={"action": "erase", "rowid": "1", "csrf_token": token.group(1)},
        )
        with services_of(app).session_factory() as session:
            assert (session.get_one(Customer, 1).name == TOMBSTONE) is erased, role
