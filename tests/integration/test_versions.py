"""Publishing makes an immutable version and never breaks records already running (R-8.1)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from engine.errors import PublishRefused
from engine.records.intake import NewRecord
from engine.records.versions import PackSource
from engine.services import Services
from engine.store.models import PackVersion, Record, RecordEvent
from workflows.loader import load_pack_from_files
from workflows.validate import source_of

FIELDS = {"customer_no": "C-5", "contact": "13800000005", "description": "门封条脱落"}


def edited(source: PackSource, file: str, old: str, new: str) -> PackSource:
    files = dict(source.files)
    assert old in files[file]
    files[file] = files[file].replace(old, new)
    return source_of(load_pack_from_files(source.name, files, f"workflows/{source.name}"))


def create(services: Services) -> int:
    return services.create_record(
        "after_sales",
        NewRecord(record_type="feedback", fields=FIELDS, channel="email"),
        actor="agent",
    ).id


def test_publishing_the_same_files_again_changes_nothing(
    services: Services, after_sales: PackSource
) -> None:
    result = services.publish(after_sales, by="ops")
    assert (result.created, result.version.version) == (False, 1)


def test_a_new_version_leaves_running_records_on_theirs(
    services: Services, after_sales: PackSource
) -> None:
    old_record = create(services)
    faster = edited(
        after_sales,
        "feedback.yaml",
        "resolve: {within: 3 working days",
        "resolve: {within: 2 working days",
    )
    result = services.publish(faster, by="ops")
    assert (result.created, result.version.version) == (True, 2)
    new_record = create(services)
    with services.session_factory() as session:
        versions = dict(
            session.execute(
                select(Record.id, PackVersion.version).join(
                    PackVersion, Record.pack_version_id == PackVersion.id
                )
            ).all()
        )
        stored = session.scalars(select(PackVersion).where(PackVersion.version == 2)).one()
    assert versions == {old_record: 1, new_record: 2}
    assert (stored.published_by, stored.source_hash) == ("ops", faster.source_hash)
    # The old record still advances on version 1.
    services.transition(
        old_record, "accept", {"category": "other", "priority": "P2"}, actor="agent"
    )


def test_removing_a_stage_with_open_records_is_refused_with_counts(
    services: Services, after_sales: PackSource
) -> None:
    record_id = create(services)
    services.transition(record_id, "accept", {"category": "other", "priority": "P2"}, actor="a")
    services.transition(record_id, "wait_for_customer", {"wait_reason": "x"}, actor="a")
    without_waiting = _without_waiting_stage(after_sales)
    with pytest.raises(PublishRefused) as caught:
        services.publish(without_waiting, by="ops")
    assert caught.value.stranded == {("feedback", "waiting_customer"): 1}
    assert "feedback.waiting_customer (1 open)" in str(caught.value)
    with services.session_factory() as session:
        assert len(session.scalars(select(PackVersion)).all()) == 1


def test_a_stage_mapping_moves_stranded_records_and_says_so(
    services: Services, after_sales: PackSource
) -> None:
    record_id = create(services)
    services.transition(record_id, "accept", {"category": "other", "priority": "P2"}, actor="a")
    services.transition(record_id, "wait_for_customer", {"wait_reason": "x"}, actor="a")
    result = services.publish(
        _without_waiting_stage(after_sales),
        by="ops",
        stage_map={"feedback.waiting_customer": "in_progress"},
    )
    assert result.moved == {("feedback", "waiting_customer"): 1}
    with services.session_factory() as session:
        record = session.get_one(Record, record_id)
        assert (record.stage, record.pack_version_id) == ("in_progress", result.version.id)
        last = session.scalars(
            select(RecordEvent)
            .where(RecordEvent.record_id == record_id)
            .order_by(RecordEvent.id.desc())
        ).first()
        assert last is not None
        assert (last.transition, last.from_stage, last.to_stage, last.actor) == (
            "migrated",
            "waiting_customer",
            "in_progress",
            "ops",
        )
    services.transition(
        record_id, "resolve", {"solution_type": "service", "solution": "ok"}, actor="agent"
    )


def _without_waiting_stage(source: PackSource) -> PackSource:
    text = source.files["feedback.yaml"]
    start = text.index("      wait_for_customer:")
    end = text.index("      # R-3.1 Technical")
    text = text[:start] + text[end:]
    text = text.replace("      waiting_customer: {kind: waiting, title: 等待客户}\n", "")
    text = text.replace("    customer_reply: customer_replied\n", "")  # its transition is gone too
    # The canned response that waits on the customer after sending goes with the stage.
    canned = source.files["pack.yaml"].replace(
        "    transition: wait_for_customer\n    set: {wait_reason: 等待客户提供购买凭证}\n", ""
    )
    files = {**source.files, "feedback.yaml": text, "pack.yaml": canned}
    return source_of(load_pack_from_files(source.name, files, str(Path("workflows/after_sales"))))
