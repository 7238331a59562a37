"""The record page's corrections in the engine, on SQLite and PostgreSQL (issue #21, item 2):
edit fields, reassign to a person or a team, re-grade with a reason, tags, followers.

R-1.2 and R-8.3 keep personal values masked in the history; R-2.2 and R-2.3 decide who owns a
record and which team's queue it waits in; R-2.4 re-plans the SLA on a new priority.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select, update

from engine.access import users
from engine.errors import ConflictError, InvalidInput
from engine.records import finder, followers, tags
from engine.records.finder import Finder
from engine.records.intake import NewRecord
from engine.records.personal import all_fields
from engine.services import Services
from engine.store.models import Notification, Record, RecordEvent, SlaClock, Team, User
from engine.time.clock import VirtualClock

FIELDS = {"customer_no": "C-1", "contact": "13812345678", "description": "滚筒异响"}


def create(services: Services, number: str = "C-1", priority: str = "P2") -> int:
    new = NewRecord(
        record_type="feedback",
        channel="phone",
        priority=priority,
        fields={**FIELDS, "customer_no": number},
    )
    return services.create_record("after_sales", new, actor="api").id


def staff(services: Services) -> None:
    """li and chen on the service desk, wang in R&D (round robin), zhao supervising."""
    with services.uow() as uow:
        now = services.clock.now()
        for name, role, team in (
            ("li", "agent", "service_desk"),
            ("chen", "agent", "service_desk"),
            ("wang", "agent", "rnd"),
            ("zhao", "supervisor", None),
        ):
            users.add_user(uow.session, name, role, "a long password", str, now, team=team)
        rnd = uow.session.scalars(select(Team).where(Team.name == "rnd")).one()
        rnd.assign_method = "round_robin"
        uow.commit()


def history(services: Services, record_id: int) -> list[RecordEvent]:
    with services.uow() as uow:
        return list(
            uow.session.scalars(
                select(RecordEvent)
                .where(RecordEvent.record_id == record_id)
                .order_by(RecordEvent.id)
            )
        )


def record(services: Services, record_id: int) -> Record:
    with services.uow() as uow:
        return uow.session.get_one(Record, record_id)


def test_an_edit_writes_the_changed_fields_and_masks_personal_ones_in_history(
    services: Services,
) -> None:
    """R-1.2, R-8.3: the contact changes, the history shows it masked, never in full."""
    record_id = create(services)
    version = record(services, record_id).row_version
    changes = services.edit_fields(
        record_id,
        {"product": "滚筒洗衣机", "contact": "13900001111", "purchased_on": "2026-10-01"},
        actor="li",
        expected_version=version,
    )
    assert set(changes) == {"product", "contact", "purchased_on"}
    stored = record(services, record_id)
    assert (
        all_fields(stored)["contact"] == "13900001111" and stored.fields["product"] == "滚筒洗衣机"
    )
    edited = history(services, record_id)[-1]
    assert edited.kind == "fields.edited" and edited.actor == "li"
    assert edited.changes["contact"] == ["138****5678", "139****1111"]
    assert edited.changes["product"] == [None, "滚筒洗衣机"]
    assert "13900001111" not in str(edited.changes)


def test_an_edit_refuses_a_cleared_required_field_the_customer_number_and_a_stale_form(
    services: Services,
) -> None:
    record_id = create(services)
    version = record(services, record_id).row_version
    with pytest.raises(InvalidInput) as cleared:
        services.edit_fields(record_id, {"description": None}, actor="li")
    assert cleared.value.fields == {"description": "required"}
    with pytest.raises(InvalidInput):
        services.edit_fields(record_id, {"customer_no": "C-9"}, actor="li")
    with pytest.raises(InvalidInput):
        services.edit_fields(record_id, {"satisfaction": 9}, actor="li")  # 1–5
    services.edit_fields(record_id, {"product": "烘干机"}, actor="chen")
    with pytest.raises(ConflictError):
        services.edit_fields(record_id, {"product": "洗衣机"}, actor="li", expected_version=version)
    assert record(services, record_id).fields["product"] == "烘干机"
    assert services.edit_fields(record_id, {"product": "烘干机"}, actor="li") == {}


def test_a_record_handed_to_a_team_waits_in_its_queue_or_goes_by_its_rule(
    services: Services,
) -> None:
    """R-2.2, R-2.3: the department becomes the team's; round robin gives it to wang."""
    staff(services)
    record_id = create(services)
    services.reassign(record_id, actor="li", person="li")
    assert record(services, record_id).assignee == "li"
    with services.uow() as uow:
        rnd = uow.session.scalars(select(Team).where(Team.name == "rnd")).one().id
    services.reassign(record_id, actor="li", team=rnd)
    moved = record(services, record_id)
    assert (moved.department, moved.assignee) == ("rnd", "wang")
    kinds = [(e.kind, e.changes) for e in history(services, record_id)][-3:]
    assert kinds == [
        ("team.assigned", {"team": "rnd", "department": [None, "rnd"], "title": "研发部"}),
        ("assigned", {"assignee": ["li", None]}),
        ("assigned", {"assignee": [None, "wang"]}),
    ]
    with pytest.raises(InvalidInput):
        services.reassign(record_id, actor="zhao", person="nobody")


def test_a_new_priority_needs_a_reason_and_re_plans_the_sla(services: Services) -> None:
    """R-2.4: P2 resolves in 5 working days, P0 in 24 hours; the history says why."""
    record_id = create(services, priority="P2")
    before = record(services, record_id).next_deadline
    with pytest.raises(InvalidInput):
        services.regrade(record_id, "P0", "  ", actor="li")
    assert services.regrade(record_id, "P0", "客户生产线停工", actor="li") is True
    after = record(services, record_id)
    assert after.priority == "P0" and after.next_deadline is not None and before is not None
    assert after.next_deadline < before
    assert after.next_deadline - services.clock.now() <= timedelta(hours=24)
    line = next(e for e in history(services, record_id) if e.kind == "priority.changed")
    assert line.changes == {"priority": ["P2", "P0"], "reason": "客户生产线停工"}
    assert services.regrade(record_id, "P0", "再说一次", actor="li") is False


def test_tags_are_normalised_limited_and_never_make_a_form_stale(services: Services) -> None:
    record_id = create(services)
    version = record(services, record_id).row_version
    assert services.retag(record_id, add=tags.split("保修, VIP，保修 回访"), actor="li") == [
        "vip",
        "保修",
        "回访",
    ]
    assert services.retag(record_id, add=["vip"], remove=["回访"], actor="chen") == ["vip", "保修"]
    assert record(services, record_id).row_version == version  # nobody's form went stale
    changed = [e.changes for e in history(services, record_id) if e.kind == "tags.changed"]
    assert changed == [
        {"added": ["保修", "vip", "回访"], "removed": []},
        {"added": [], "removed": ["回访"]},
    ]
    for bad in ("a b", "x" * 33, "", "a,b", "tab\there"):
        with pytest.raises(InvalidInput):
            tags.normalise(bad)
    with pytest.raises(InvalidInput):
        services.retag(record_id, add=[f"t{i}" for i in range(19)], actor="li")


def test_the_tag_filter_finds_records_with_every_tag_in_one_statement(services: Services) -> None:
    """The queue's tags filter (AND), and a page's tags read in one query (no N+1)."""
    staff(services)
    both, one, none = create(services, "C-1"), create(services, "C-2"), create(services, "C-3")
    services.retag(both, add=["保修", "vip"], actor="li")
    services.retag(one, add=["保修"], actor="li")
    with services.uow() as uow:
        li = uow.session.scalars(select(User).where(User.username == "li")).one()
        now = services.clock.now()

        def found(*wanted: str) -> set[int]:
            page = finder.find_page(uow.session, li, Finder(tags=wanted), now, limit=50)
            return {r.id for r in page}

        assert found("保修") == {both, one}
        assert found("保修", "vip") == {both}
        assert found("无此标签") == set()
        assert found() == {both, one, none}
        statements: list[str] = []
        bind = uow.session.get_bind()
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(bind, "before_cursor_execute", listener)
        shown = tags.tags_of(uow.session, [both, one, none])
        event.remove(bind, "before_cursor_execute", listener)
    assert shown == {both: ["vip", "保修"], one: ["保修"], none: []}
    assert len(statements) == 1


def test_followers_are_told_of_stage_owner_priority_and_customer_messages(
    services: Services,
) -> None:
    """Each follower but the one who acted gets a notice; tags and notes tell nobody."""
    staff(services)
    record_id = create(services)
    assert services.refollow(record_id, add=["li", "chen"], actor="li") == ["chen", "li"]
    services.transition(record_id, "accept", {"category": "other", "priority": "P1"}, actor="li")
    services.reassign(record_id, actor="zhao", person="chen")
    services.regrade(record_id, "P0", "客户投诉升级", actor="zhao")
    services.receive(record_id, "还是不行", channel="phone")
    services.retag(record_id, add=["回访"], actor="zhao")
    services.note(record_id, "内部备注", actor="zhao")
    with services.uow() as uow:
        told = list(
            uow.session.execute(
                select(User.username, Notification.subject, Notification.detail)
                .join(User, User.id == Notification.user_id)
                .order_by(Notification.id)
            )
        )
    assert [(who, subject) for who, subject, _d in told] == [
        ("chen", "follow.stage.in_progress"),  # li accepted it: only chen is told
        ("chen", "follow.assigned"),
        ("li", "follow.assigned"),
        ("chen", "follow.priority.changed"),
        ("li", "follow.priority.changed"),
        ("chen", "follow.message.in"),
        ("li", "follow.message.in"),
    ]
    assert told[3][2]["changes"] == {"priority": ["P1", "P0"], "reason": "客户投诉升级"}
    assert "changes" not in told[0][2] and "还是不行" not in str(told)  # no values, no text


def test_followers_are_told_when_a_deadline_is_missed(services: Services) -> None:
    """A breach and its escalation have no person behind them: every follower is told."""
    staff(services)
    record_id = create(services)
    services.refollow(record_id, add=["li", "chen"], actor="li")
    services.clock.advance(timedelta(days=5))  # type: ignore[attr-defined]
    services.sweep()
    with services.uow() as uow:
        told = set(
            uow.session.execute(
                select(User.username, Notification.subject)
                .join(User, User.id == Notification.user_id)
                .where(Notification.subject.like("follow.sla.%"))
            )
        )
    breaches = {subject for _who, subject in told if subject.endswith(".breached")}
    assert breaches and {who for who, _s in told} == {"li", "chen"}


def test_only_people_who_may_see_a_record_follow_it_and_see_its_notices(
    services: Services,
) -> None:
    """R-2.2: wang (R&D) may not follow a service-desk record; notices follow visibility."""
    staff(services)
    record_id = create(services)
    services.transition(record_id, "accept", {"category": "other", "priority": "P1"}, actor="li")
    with pytest.raises(InvalidInput):  # routed to the service desk: not R&D's to see
        services.refollow(record_id, add=["wang"], actor="zhao")
    for nobody in ("nobody", "a\x00b"):  # PostgreSQL refuses a NUL: it is never queried
        with pytest.raises(InvalidInput):
            services.refollow(record_id, add=[nobody], actor="zhao")
    services.refollow(record_id, add=["li"], actor="li")
    services.reassign(record_id, actor="zhao", person="chen")
    with services.uow() as uow:
        li = uow.session.scalars(select(User).where(User.username == "li")).one()
        now = services.clock.now()
        visible = finder.conditions(li, Finder(is_open=None), now)
        assert followers.unread(uow.session, li.id) == 1
        assert [n.subject for n, _r in followers.notices(uow.session, li, visible)] == [
            "follow.assigned"
        ]
        # The record goes to another department: li no longer sees it, nor its notices.
        uow.session.execute(update(Record).where(Record.id == record_id).values(department="rnd"))
        uow.session.flush()
        assert followers.notices(uow.session, li, visible) == []
        followers.mark_seen(uow.session, li.id, now)
        assert followers.unread(uow.session, li.id) == 0
        uow.rollback()
    assert services.refollow(record_id, remove=["li"], actor="li") == []


def test_a_follower_is_told_of_a_breach_not_of_a_warning(
    services: Services, clock: VirtualClock
) -> None:
    """Timers fire in batches: a warning is the desk's business, a breach the follower's."""
    staff(services)
    record_id = create(services, priority="P0")
    services.refollow(record_id, add=["li"], actor="li")
    with services.uow() as uow:
        uow.session.execute(update(SlaClock).values(warning_at=services.clock.now()))
        uow.commit()
    clock.advance(timedelta(days=2))
    assert services.sweep().fired  # warnings and breaches fired
    with services.uow() as uow:
        subjects = uow.session.scalars(
            select(Notification.subject).where(Notification.user_id.is_not(None))
        ).all()
    assert subjects and all(s.endswith((".breached", ".escalated")) for s in subjects), subjects
