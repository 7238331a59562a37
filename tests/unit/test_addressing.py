"""Which channel a customer is answered on and when it may go out (issue #20, part 3): pack
data (`answering:`), the customer's own preference over it (R-1.1 multi-channel intake is
answered on the channel it came from unless the pack or the customer says otherwise)."""

from __future__ import annotations

import copy
from datetime import datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from engine.conversation.addressing import answer_channel, is_gateway, send_after, usable
from engine.specs.answering import QuietHours, parse_quiet_hours
from engine.specs.build import build_pack_spec, jsonable
from engine.specs.pack import PackSpec
from engine.store.models import Customer, Record
from workflows.loader import load_pack

PACK = Path(__file__).resolve().parents[2] / "workflows" / "after_sales"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    return jsonable(load_pack(PACK).data)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def pack(data: dict[str, Any]) -> PackSpec:
    spec, problems = build_pack_spec(data)
    assert problems == [] and spec is not None
    return spec


def test_a_caller_is_answered_by_sms_and_a_mail_by_mail(pack: PackSpec) -> None:
    assert answer_channel(pack, Record(channel="phone"), Customer()) == "sms"
    assert answer_channel(pack, Record(channel="walk_in"), None) == "sms"
    assert answer_channel(pack, Record(channel="email"), Customer()) == "email"


def test_the_customers_preferred_channel_wins_over_the_pack(pack: PackSpec) -> None:
    assert answer_channel(pack, Record(channel="phone"), Customer(preferred_channel="wechat")) == (
        "wechat"
    )


def test_a_channel_the_pack_does_not_map_is_answered_on_itself(pack: PackSpec) -> None:
    assert answer_channel(pack, Record(channel="social_media"), None) == "social_media"
    assert answer_channel(pack, Record(channel=None), None) == "email"


def test_sms_wechat_and_chat_go_through_gateways_and_a_call_does_not(pack: PackSpec) -> None:
    assert [c for c in pack.channels if is_gateway(pack, c)] == ["online_chat", "wechat", "sms"]


@pytest.mark.parametrize(
    ("local", "leaves"),
    [
        (datetime(2026, 11, 23, 22, 30), datetime(2026, 11, 24, 8, 0)),  # the evening
        (datetime(2026, 11, 24, 3, 0), datetime(2026, 11, 24, 8, 0)),  # after midnight
        (datetime(2026, 11, 23, 21, 0), datetime(2026, 11, 24, 8, 0)),  # its first minute
        (datetime(2026, 11, 24, 8, 0), datetime(2026, 11, 24, 8, 0)),  # its end: at once
        (datetime(2026, 11, 23, 14, 0), datetime(2026, 11, 23, 14, 0)),  # the day
    ],
)
def test_an_sms_due_in_quiet_hours_waits_till_they_end(
    pack: PackSpec, local: datetime, leaves: datetime
) -> None:
    now = local.replace(tzinfo=SHANGHAI).astimezone(ZoneInfo("UTC"))
    assert send_after(pack, "sms", now) == leaves.replace(tzinfo=SHANGHAI)


def test_quiet_hours_hold_only_for_their_channel(pack: PackSpec) -> None:
    night = datetime(2026, 11, 23, 23, 0, tzinfo=SHANGHAI)
    assert send_after(pack, "wechat", night) == night
    assert send_after(pack, "email", night) == night


def test_a_quiet_window_within_one_day() -> None:
    lunch = QuietHours(time(12, 0), time(13, 30))
    assert lunch.holds(time(12, 0)) and lunch.holds(time(13, 29))
    assert not lunch.holds(time(13, 30)) and not lunch.holds(time(11, 59))


@pytest.mark.parametrize("text", ["21:00", "25:00-08:00", "21:00-21:00", "9:00-10:00", "夜间"])
def test_what_is_no_quiet_window(text: str) -> None:
    assert parse_quiet_hours(text) is None


def test_an_sms_needs_a_phone_number_and_a_gateway_never_takes_an_email() -> None:
    assert usable("sms", "+86 138-0013-8000") and usable("sms", "13800138000")
    assert not usable("sms", "wangfang@example.com") and not usable("sms", "oAbC123")
    assert usable("wechat", "oAbC123xyz") and not usable("wechat", "wangfang@example.com")
    assert not usable("wechat", "")


def test_answering_names_only_the_packs_channels_and_real_windows(data: dict[str, Any]) -> None:
    broken = copy.deepcopy(data)
    broken["answering"] = {
        "by_channel": {"phone": "smss", "fax": "sms"},
        "quiet_hours": {"sms": "08:00-08:00"},
        "gateways": ["sms", "telex"],
    }
    spec, problems = build_pack_spec(broken)
    assert spec is None
    assert [(p.path, p.message) for p in problems] == [
        (("answering", "by_channel", "phone"), "unknown channel 'smss'"),
        (("answering", "by_channel", "fax"), "unknown channel 'fax'"),
        (
            ("answering", "quiet_hours", "sms"),
            "'08:00-08:00' is not a window of two different clock times",
        ),
        (("answering", "gateways", 1), "unknown channel 'telex'"),
    ]


def test_a_pack_without_answering_answers_on_the_records_channel(data: dict[str, Any]) -> None:
    plain = {k: v for k, v in data.items() if k != "answering"}
    spec, problems = build_pack_spec(plain)
    assert problems == [] and spec is not None
    assert answer_channel(spec, Record(channel="phone"), None) == "phone"
    assert spec.answering.quiet_hours == {}
