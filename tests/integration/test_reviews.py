"""Top problems, churn by handling speed and satisfaction, and the mailed reviews (issue #25
item 4; R-4.2). Every test runs on SQLite and PostgreSQL, on a virtual clock."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from engine.insight import churnbuckets, improvement, reviews, topproblems
from engine.records.intake import NewRecord
from engine.records.versions import PackSource
from engine.services import Services
from engine.specs.reviews import ReviewSchedule
from engine.store.models import KnownProblem, OutboxMessage, ReviewRun
from engine.time.clock import VirtualClock
from schedules.worker import ReviewJob
from tests.conftest import SHANGHAI
from workflows.loader import load_pack_from_files
from workflows.validate import source_of

REVIEWS = """
reviews:
  weekly: {weekday: monday, at: "10:00"}
  monthly: {day: 1, at: "09:00"}
  recipients: [manager, boss@example.com]
  top_problems: category
"""
WEEK = (datetime(2026, 11, 23, tzinfo=SHANGHAI), datetime(2026, 11, 30, tzinfo=SHANGHAI))


# The default pack's own `reviews` (warnings.yaml): a test puts its own in their place.
DEFAULT_REVIEWS = re.compile(r"^reviews:\n(?:  .*\n)+", re.M)


def with_reviews(after_sales: PackSource, text: str = REVIEWS) -> PackSource:
    warnings = DEFAULT_REVIEWS.sub(text.lstrip("\n"), after_sales.files["warnings.yaml"], 1)
    files = {**after_sales.files, "warnings.yaml": warnings}
    return source_of(load_pack_from_files("after_sales", files, "workflows/after_sales"))


def record(services: Services, number: str, category: str) -> int:
    found = services.create_record(
        "after_sales",
        NewRecord(
            record_type="feedback",
            channel="phone",
            category=category,
            fields={"customer_no": number, "contact": "13812345678", "description": "洗衣机漏水"},
        ),
        actor="t",
    )
    return found.id


def close(services: Services, record_id: int, score: int) -> None:
    services.transition(record_id, "solve_on_spot", {"solution": "更换进水管"}, actor="t")
    services.transition(record_id, "close", {"satisfaction": score, "lessons": "无"}, actor="t")


@pytest.fixture
def week(services: Services, clock: VirtualClock) -> Services:
    """The week of 2026-11-23: C-1 three quality problems solved at once (score 5, a
    repeat buyer); C-2 one logistics problem closed four days later (score 2, churned).
    Two records carry the tag 'battery', one is the known problem '电池续航短'."""
    ids = [record(services, "C-1", "quality") for _ in range(3)]
    slow = record(services, "C-2", "logistics")
    for rid in ids:
        close(services, rid, 5)
    services.retag(ids[0], add=["battery"], actor="t")
    services.retag(slow, add=["battery"], actor="t")
    with services.uow() as uow:
        problem = KnownProblem(title="电池续航短", updated_at=clock.now())
        uow.session.add(problem)
        uow.session.flush()
        problem_id = problem.id
        uow.commit()
    services.link_known_problem(ids[1], problem_id, actor="t")
    services.record_order(
        "C-1",
        {
            "external_id": "a1",
            "amount": 10,
            "ordered_at": datetime(2025, 1, 1, 12, tzinfo=SHANGHAI),
        },
    )
    services.record_order(
        "C-1",
        {
            "external_id": "a2",
            "amount": 10,
            "ordered_at": datetime(2026, 11, 1, 12, tzinfo=SHANGHAI),
        },
    )
    services.record_order(
        "C-2",
        {
            "external_id": "b1",
            "amount": 10,
            "ordered_at": datetime(2025, 6, 1, 12, tzinfo=SHANGHAI),
        },
    )
    clock.advance(timedelta(days=4))
    close(services, slow, 2)
    return services


def top(services: Services, by: str) -> list[tuple[str, int, float]]:
    with services.uow() as uow:
        spec = services.latest_spec(uow.session, "after_sales")
        f = improvement.kpi_filter(spec, *WEEK)
        titles = {cid: c.title for cid, c in spec.categories.items()}
        found = topproblems.top_problems(uow.session, f, by, titles=titles)
    return [(p.title, p.count, p.share) for p in found]


def test_top_problems_have_their_share_of_the_periods_records_by_every_dimension(
    week: Services,
) -> None:
    assert top(week, "category") == [("产品质量", 3, 0.75), ("物流配送", 1, 0.25)]
    assert top(week, "tag") == [("battery", 2, 0.5)]
    assert top(week, "known_problem") == [("电池续航短", 1, 0.25)]
    with pytest.raises(ValueError, match="unknown dimension"):
        top(week, "colour")


def test_churn_and_repurchase_are_read_per_bucket_of_resolution_time_and_score(
    week: Services, clock: VirtualClock
) -> None:
    with week.uow() as uow:
        spec = week.latest_spec(uow.session, "after_sales")
        f = improvement.kpi_filter(spec, *WEEK)
        speed = churnbuckets.buckets(uow.session, spec, f, "resolution", clock.now())
        score = churnbuckets.buckets(uow.session, spec, f, "satisfaction", clock.now())
    rows = [(b.label, b.customers, b.churn_rate, b.repurchase_rate) for b in speed]
    # C-1: solved at once, ordered again this year; C-2: four days, no order for 18 months
    assert rows == [("≤24h", 1, 0.0, 100.0), ("24h–3d", 0, None, None), (">3d", 1, 100.0, None)]
    by_score = [(b.label, b.customers, b.churn_rate) for b in score]
    assert by_score == [("≤2", 1, 100.0), ("2–3", 0, None), (">3", 1, 0.0)]


def test_the_weekly_review_is_mailed_once_to_its_recipients_with_the_pages_tables(
    week: Services, clock: VirtualClock, after_sales: PackSource
) -> None:
    week.publish(with_reviews(after_sales), by="ops")
    clock.set(datetime(2026, 11, 30, 9, 59, tzinfo=SHANGHAI))
    # The pack has had reviews since 2026-11-23 09:00; the one due at 10:00 that day, of the
    # week before, was missed (no scheduler ran) and is built now, once.
    [missed] = week.send_reviews()
    assert (missed.period_start, missed.recipients) == (
        date(2026, 11, 16),
        ["service-manager@example.com", "boss@example.com"],
    )
    clock.set(datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI))
    runs = week.send_reviews()
    assert [(r.kind, r.period_start, r.period_end) for r in runs] == [
        ("weekly", date(2026, 11, 23), date(2026, 11, 29))
    ]
    clock.advance(timedelta(hours=1))
    assert week.send_reviews() == []  # once per period, also for a second scheduler
    assert Services(week.session_factory, clock).send_reviews() == []
    with week.uow() as uow:
        mails = uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.recipient)).all()
        mailed = [(m.recipient, m.subject) for m in mails if m.payload.get("review") == runs[0].id]
        body, html = runs[0].text_body, runs[0].html_body
    subject = "服务复盘 · 家电售后反馈与客户关怀 · 周报 · 2026-11-23 – 2026-11-29"
    assert mailed == [("boss@example.com", subject), ("service-manager@example.com", subject)]
    assert (
        "高频问题（按类别）\n  问题 | 记录数 | 占比\n  产品质量 | 3 | 75%\n  物流配送 | 1 | 25%"
        in body
    )
    assert "流失与复购（按结案时长）" in body and "  >3d | 1 | 100% | —" in body
    assert "<td>产品质量</td><td>3</td><td>75%</td>" in html and "<script" not in html


def test_a_racing_scheduler_loses_the_periods_unique_row_and_its_mail(
    week: Services, clock: VirtualClock, after_sales: PackSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    week.publish(with_reviews(after_sales), by="ops")
    clock.set(datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI))
    with week.uow() as uow:
        spec = week.latest_spec(uow.session, "after_sales")
        due = reviews.due_reviews(uow.session, spec, clock.now(), WEEK[1])
    assert [d.kind for d in due] == ["weekly"]
    assert ReviewJob(week)() == 1  # the scheduler's job
    with week.uow() as uow, pytest.raises(IntegrityError):
        reviews.queue(uow.session, spec, due[0], clock.now())
        uow.commit()
    # A racer that read "not built" before the winner committed loses quietly, mail and all.
    monkeypatch.setattr(reviews, "due_reviews", lambda session, pack, now, since: due)
    assert week.send_reviews() == []
    with week.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(ReviewRun)) == 1
        assert (
            uow.session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.channel == "email", OutboxMessage.subject.contains("周报"))
            )
            == 2
        )


@pytest.mark.parametrize(
    ("kind", "now", "period"),
    [
        (
            "weekly",
            datetime(2026, 12, 2, 12, tzinfo=SHANGHAI),
            (date(2026, 11, 23), date(2026, 11, 29)),
        ),
        (
            "weekly",
            datetime(2026, 11, 30, 8, tzinfo=SHANGHAI),
            (date(2026, 11, 16), date(2026, 11, 22)),
        ),
        (
            "monthly",
            datetime(2026, 12, 1, 8, 59, tzinfo=SHANGHAI),
            (date(2026, 10, 1), date(2026, 10, 31)),
        ),
        (
            "monthly",
            datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI),
            (date(2026, 11, 1), date(2026, 11, 30)),
        ),
    ],
)
def test_a_review_covers_the_last_full_week_or_month_before_its_moment(
    kind: str, now: datetime, period: tuple[date, date]
) -> None:
    schedule = ReviewSchedule(kind, time(9), weekday=0, day=1)
    due = reviews.latest_due(schedule, SHANGHAI, now)
    assert (due.first, due.last) == period


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("reviews:\n  recipients: [ceo]\n", "neither an email address nor an audience"),
        ("reviews:\n  resolution_buckets: [3d, 24h]\n", "bucket bounds must rise"),
        ("reviews:\n  resolution_buckets: [2 working days]\n", "is working time"),
    ],
)
def test_a_review_key_that_makes_no_sense_is_refused_with_its_place(
    after_sales: PackSource, text: str, message: str
) -> None:
    from workflows.errors import PackInvalid

    with pytest.raises(PackInvalid, match=message):
        with_reviews(after_sales, "\n" + text)


def test_the_mailed_review_reaches_the_smtp_server_with_a_text_and_an_html_part(
    week: Services, clock: VirtualClock, after_sales: PackSource
) -> None:
    from email import message_from_bytes, policy

    from aiosmtpd.controller import Controller

    from engine.delivery.outbox import deliver_due
    from schedules.senders import SmtpSender
    from tests.integration.test_outbox import FlakySmtp, free_port

    week.publish(with_reviews(after_sales, REVIEWS.replace("manager, ", "")), by="ops")
    clock.set(datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI))
    handler = FlakySmtp(refusals=0)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        runs = week.send_reviews()
        senders = {"email": SmtpSender(f"smtp://127.0.0.1:{controller.port}")}
        assert len(runs) == 1  # the week of 11-23 (the one missed before is not built any more)
        assert deliver_due(week.session_factory, senders, clock.now()).sent >= 1
    finally:
        controller.stop()
    mails = [message_from_bytes(raw, policy=policy.default) for raw in handler.received]
    [mail] = [m for m in mails if "2026-11-23" in str(m["Subject"])]
    assert mail["To"] == "boss@example.com"
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "产品质量 | 3 | 75%" in text and "<td>产品质量</td><td>3</td><td>75%</td>" in html
