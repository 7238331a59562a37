"""Satisfaction as pack data (issue #25 item 5; R-4.1, R-4.3): the scale, what counts as
satisfied and the NPS cut-offs are the pack's, in the live figures and in the daily rollup.

A pack that raises `satisfied_at_least` to 5 reads the same answers as a lower CSAT; the days
the rollup read with the old cut-offs are read from the records again, then rolled anew.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from engine.customers.satisfaction import Answer
from engine.errors import InvalidInput
from engine.insight import improvement, kpis
from engine.records.versions import PackSource
from engine.services import Services
from engine.time.clock import VirtualClock
from tests.integration.test_rollup import feedback
from workflows.loader import load_pack_from_files
from workflows.validate import source_of

MONDAY = date(2026, 11, 23)


def with_satisfaction(after_sales: PackSource, extra: str) -> PackSource:
    text = after_sales.files["warnings.yaml"].replace("  satisfied_at_least: 4\n", extra, 1)
    files = {**after_sales.files, "warnings.yaml": text}
    return source_of(load_pack_from_files("after_sales", files, "workflows/after_sales"))


def csat(services: Services) -> tuple[float | None, set[date]]:
    with services.uow() as uow:
        spec = services.latest_spec(uow.session, "after_sales")
        start = datetime.combine(MONDAY, datetime.min.time(), spec.timezone)
        f = improvement.kpi_filter(spec, start, services.clock.now())
        return kpis.report(uow.session, f).values["csat"], set(kpis.usable_days(uow.session, f))


def test_a_stricter_pack_reads_the_same_answers_as_a_lower_csat_rolled_up_or_not(
    services: Services, clock: VirtualClock, after_sales: PackSource
) -> None:
    for score in (4, 5):
        record = feedback(services)
        services.transition(record.id, "solve_on_spot", {"solution": "重启"}, actor="a")
        services.answer_satisfaction(
            record.id, Answer(score, nps=score * 2), via="link", actor="customer"
        )
    clock.advance(timedelta(days=1))
    assert services.roll_up() == {"after_sales": 1}
    assert csat(services) == (100.0, {MONDAY})  # 4 and 5 of 1–5: both satisfied
    services.publish(with_satisfaction(after_sales, "  satisfied_at_least: 5\n"), by="ops")
    assert csat(services) == (50.0, set())  # the rolled day read 4 as satisfied: not used
    assert services.roll_up() == {"after_sales": 1}
    assert csat(services) == (50.0, {MONDAY})


def test_the_scale_bounds_the_score_an_answer_may_give(
    services: Services, after_sales: PackSource
) -> None:
    ten = "  satisfied_at_least: 8\n  scale: {min: 1, max: 10}\n"
    text = after_sales.files["warnings.yaml"].replace("  scale: {min: 1, max: 5}\n", "", 1)
    text = text.replace("  satisfied_at_least: 4\n", ten, 1)
    files = {**after_sales.files, "warnings.yaml": text}
    services.publish(
        source_of(load_pack_from_files("after_sales", files, "workflows/after_sales")), by="ops"
    )
    record = feedback(services)
    services.transition(record.id, "solve_on_spot", {"solution": "重启"}, actor="a")
    with pytest.raises(InvalidInput) as refused:
        services.answer_satisfaction(record.id, Answer(11, nps=10), via="link", actor="customer")
    assert refused.value.fields == {"score": "a whole number from 1 to 10"}
    services.answer_satisfaction(record.id, Answer(9, nps=10), via="link", actor="customer")


def test_cut_offs_off_their_scale_are_refused_with_their_path(after_sales: PackSource) -> None:
    from engine.specs.build import build_pack_spec

    data = dict(after_sales.data)
    data["satisfaction"] = {
        **data["satisfaction"],
        "satisfied_at_least": 7,
        "nps_cutoffs": {"promoter_at_least": 6, "detractor_at_most": 6},
    }
    paths = {p.path for p in build_pack_spec(data)[1]}
    assert ("satisfaction", "satisfied_at_least") in paths
    assert ("satisfaction", "nps_cutoffs") in paths
