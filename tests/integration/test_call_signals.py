"""R-6.1 signals from the hotline's own records: the share of calls abandoned while ringing
(1 − the answer rate) raises retail's `abandoned_calls` warning, and a stage share that names
no record type or a stage the type does not close in is refused at its line. Call time (the
minutes in `talking`, from the history's stage events) raises `long_calls` against the usual
hour and `short_calls` on the share of calls cut off; a stage duration naming no type, a stage
the type lacks, or a cut on another metric is refused at its line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from engine.insight import metrics
from engine.records.intake import NewRecord
from engine.services import Services
from engine.specs.insight import MonitorSpec
from engine.store.models import EarlyWarning
from engine.time.clock import VirtualClock
from tests.conftest import ROOT
from workflows.errors import PackInvalid
from workflows.validate import checked_source


def calls(services: Services, clock: VirtualClock, answered: int, abandoned: int) -> None:
    """The hour's calls: some picked up and ended, the rest hung up while ringing."""
    for n in range(answered + abandoned):
        record = services.create_record(
            "retail",
            NewRecord(
                record_type="voice_call",
                channel="phone",
                received_at=clock.now() - timedelta(minutes=30),
                fields={"customer_no": f"M-{n}", "caller": f"1380000{n:04d}"},
            ),
            actor="ivr",
        )
        if n < answered:
            services.transition(record.id, "pick_up", {}, actor="agent")
            services.transition(record.id, "hang_up", {"summary": "已解答"}, actor="agent")
        else:
            services.transition(record.id, "abandon", {}, actor="ivr")


def level(services: Services, monitor: str = "abandoned_calls") -> str | None:
    with services.uow() as uow:
        return uow.session.scalar(
            select(EarlyWarning.level).where(
                EarlyWarning.monitor == monitor, EarlyWarning.closed_at.is_(None)
            )
        )


def talks(services: Services, clock: VirtualClock, talk: timedelta, count: int = 10) -> None:
    """`count` calls picked up together, each `talk` long in `talking`, then hung up."""
    ids = []
    for n in range(count):
        record = services.create_record(
            "retail",
            NewRecord(
                record_type="voice_call",
                channel="phone",
                received_at=clock.now(),
                fields={"customer_no": f"T-{n}", "caller": f"1390000{n:04d}"},
            ),
            actor="ivr",
        )
        services.transition(record.id, "pick_up", {}, actor="agent")
        ids.append(record.id)
    clock.advance(talk)
    for record_id in ids:
        services.transition(record_id, "hang_up", {"summary": "已解答"}, actor="agent")


def test_calls_abandoned_while_ringing_raise_the_warning(
    services: Services, clock: VirtualClock
) -> None:
    services.publish(checked_source(ROOT / "workflows" / "retail"), by="test")
    calls(services, clock, answered=9, abandoned=1)  # 10 %: not above the general 10 %
    clock.advance(timedelta(minutes=1))  # the window ends now, closed records are behind it
    services.evaluate_monitors()
    assert level(services) is None
    calls(services, clock, answered=6, abandoned=4)  # 5 of 20, 25 %: above 20 %, important
    clock.advance(timedelta(minutes=1))
    services.evaluate_monitors()
    assert level(services) == "important"


def test_calls_longer_than_the_usual_hour_raise_long_calls(
    services: Services, clock: VirtualClock
) -> None:
    """Without history 7 minutes is above twice the 3-minute floor (important); against a week
    earlier whose calls ran 4 minutes it is 1.75 times the usual: general only."""
    services.publish(checked_source(ROOT / "workflows" / "retail"), by="test")
    talks(services, clock, timedelta(minutes=4))  # ended at t; the same hour a week on
    clock.advance(timedelta(weeks=1) - timedelta(minutes=6))  # picked up at t + 1 week − 2m
    talks(services, clock, timedelta(minutes=7))
    clock.advance(timedelta(minutes=1))  # now t + 1 week + 6m: both in their windows
    services.evaluate_monitors()
    assert level(services, "long_calls") == "general"
    assert level(services, "short_calls") is None


def test_calls_cut_off_within_a_minute_raise_short_calls(
    services: Services, clock: VirtualClock
) -> None:
    services.publish(checked_source(ROOT / "workflows" / "retail"), by="test")
    talks(services, clock, timedelta(minutes=3), count=7)
    talks(services, clock, timedelta(seconds=20), count=3)  # 3 of 10: above 20 %, not 30 %
    clock.advance(timedelta(minutes=1))
    services.evaluate_monitors()
    assert level(services, "short_calls") == "general"
    assert level(services, "long_calls") is None  # 2.1 minutes on average


def test_a_stay_runs_from_entering_the_stage_to_leaving_it(
    services: Services, clock: VirtualClock
) -> None:
    """A chat waits 10 minutes in `pending` (a channel corrected on the way, pending → pending,
    neither ends nor restarts it), then is `chatting` twice: 10 and 4 minutes, 7 on average,
    half of them longer than 5 minutes; `pending` or `chatting` together: 20, then 4."""
    services.publish(checked_source(ROOT / "workflows" / "retail"), by="test")
    start = clock.now()
    record = services.create_record(
        "retail",
        NewRecord(
            record_type="chat_consult",
            channel="wechat",
            received_at=start,
            fields={"question": "会员积分怎么用？"},
        ),
        actor="bot",
    )
    steps = [
        (5, "correct_channel", {"channel": "online_chat"}),
        (5, "reply", {}),
        (10, "answer", {"answer": "结账时抵扣"}),
        (10, "ask_again", {}),
        (4, "answer", {"answer": "100 积分抵 1 元"}),
    ]
    for minutes, transition, values in steps:
        clock.advance(timedelta(minutes=minutes))
        services.transition(record.id, transition, values, actor="agent")
    window = [(start, clock.now() + timedelta(seconds=1))]

    def reading(stages: tuple[str, ...], cut: tuple[str, float] | None = None) -> float:
        monitor = MonitorSpec(
            "stay",
            "stay",
            "stage_duration",
            timedelta(hours=1),
            (("general", 1.0),),
            where={"record_type": "chat_consult"},
            stages=stages,
            cut=cut,
        )
        with services.uow() as uow:
            pack = services.latest_spec(uow.session, "retail")
            return metrics.measure(uow.session, pack, monitor, window)[metrics.ALL][0]

    assert reading(("pending",)) == pytest.approx(10.0)
    assert reading(("chatting",)) == pytest.approx(7.0)
    assert reading(("chatting",), ("longer_than", 300.0)) == pytest.approx(0.5)
    assert reading(("pending", "chatting")) == pytest.approx(12.0)  # 20 in a row, then 4


def pack_with(tmp_path: Path, monitor: dict[str, object]) -> Path:
    """A copy of retail whose `abandoned_calls` monitor is the one given."""
    folder = tmp_path / "retail"
    folder.mkdir()
    for source in (ROOT / "workflows" / "retail").glob("*.yaml"):
        (folder / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    warnings = folder / "warnings.yaml"
    data = yaml.safe_load(warnings.read_text(encoding="utf-8"))
    data["monitors"]["abandoned_calls"] = {"window": "1h", "levels": {"general": 0.1}, **monitor}
    warnings.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("monitor", "message"),
    [
        (
            {"metric": "stage_duration", "stages": ["talking"]},
            "stage_duration measures the records of one type",
        ),
        (
            {
                "metric": "stage_duration",
                "where": {"record_type": "voice_call"},
                "stages": ["talkng"],
            },
            r"warnings.yaml:\d+:\d+: 'talkng' is not a stage of 'voice_call'",
        ),
        (
            {
                "metric": "stage_share",
                "where": {"record_type": "voice_call"},
                "stages": ["abandoned"],
                "longer_than": "20m",
            },
            "stage_share takes no longer_than",
        ),
        (
            {
                "metric": "stage_duration",
                "where": {"record_type": "voice_call"},
                "stages": ["talking"],
                "longer_than": "2 working hours",
            },
            "'2 working hours' counts working time",
        ),
    ],
)
def test_a_stage_duration_names_a_type_its_stages_and_a_wall_clock_cut(
    tmp_path: Path, monitor: dict[str, object], message: str
) -> None:
    with pytest.raises(PackInvalid, match=message):
        checked_source(pack_with(tmp_path, monitor))


@pytest.mark.parametrize(
    ("monitor", "message"),
    [
        ({"stages": ["abandoned"]}, "stage_share counts the records of one type"),
        (
            {"where": {"record_type": "voice_call"}, "stages": ["talking"]},
            "'talking' is not a closing stage of 'voice_call'",
        ),
    ],
)
def test_a_stage_share_names_a_type_and_its_closing_stages(
    tmp_path: Path, monitor: dict[str, object], message: str
) -> None:
    with pytest.raises(PackInvalid, match=message):
        checked_source(pack_with(tmp_path, {"metric": "stage_share", **monitor}))
