"""How records read to people: SLA colours, countdowns, history in words."""

from __future__ import annotations

from pathlib import Path

from engine.specs.build import build_pack_spec
from forms.present import countdown, event_label
from workflows.validate import checked_source

PACK = Path(__file__).resolve().parents[2] / "workflows" / "after_sales"


def test_a_countdown_reads_as_time_left_or_late() -> None:
    assert countdown(2 * 3600 + 5 * 60) == "剩余 2小时05分"
    assert countdown(-(26 * 3600 + 60)) == "超时 1天2小时01分"
    assert countdown(None) == "—"


def test_history_events_read_in_the_pack_s_words() -> None:
    spec, _ = build_pack_spec(checked_source(PACK).data)
    assert spec is not None
    feedback = spec.record_type("feedback")
    assert event_label("stage.in_progress", feedback) == "进入「处理中」"
    assert event_label("sla.respond.warning", feedback) == "首次响应 预警"
    assert event_label("followup.progress_update", feedback) == "跟进：进度更新"
    assert event_label("assigned", feedback) == "分派"
    assert event_label("something.new", feedback) == "something.new"


def test_a_promised_contact_reads_as_sent_or_skipped_and_why() -> None:
    spec, _ = build_pack_spec(checked_source(PACK).data)
    assert spec is not None
    feedback = spec.record_type("feedback")
    sent = {"contact": "acknowledgement", "channel": "email", "message": 3}
    skipped = {"contact": "progress", "reason": "replied"}
    assert event_label("contact.sent", feedback, sent) == "已告知客户：受理确认"
    assert (
        event_label("contact.skipped", feedback, skipped)
        == "未告知客户：进度告知（坐席已联系过客户）"
    )
    assert event_label("sla.resolve.extended", feedback) == "解决 延期"
