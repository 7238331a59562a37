"""R-6.1 signals from the hotline's own records: the share of calls abandoned while ringing
(1 − the answer rate) raises retail's `abandoned_calls` warning, and a stage share that names
no record type or a stage the type does not close in is refused at its line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from engine.records.intake import NewRecord
from engine.services import Services
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


def level(services: Services) -> str | None:
    with services.uow() as uow:
        return uow.session.scalar(
            select(EarlyWarning.level).where(
                EarlyWarning.monitor == "abandoned_calls", EarlyWarning.closed_at.is_(None)
            )
        )


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
    folder = tmp_path / "retail"
    folder.mkdir()
    for source in (ROOT / "workflows" / "retail").glob("*.yaml"):
        (folder / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    warnings = folder / "warnings.yaml"
    data = yaml.safe_load(warnings.read_text(encoding="utf-8"))
    data["monitors"]["abandoned_calls"] = {
        "metric": "stage_share",
        "window": "1h",
        "levels": {"general": 0.1},
        **monitor,
    }
    warnings.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(PackInvalid, match=message):
        checked_source(folder)
