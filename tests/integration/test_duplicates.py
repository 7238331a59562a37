"""Closing a record as a duplicate enters its closed stage as a transition would (issue #19).

Both go through `transitions.enter_stage`, so the steps that follow a stage change
(history, SLA clocks, follow-ups, the case library, timers) cannot drift apart again.
"""

from __future__ import annotations

from sqlalchemy import select

from engine.services import Services
from engine.store.models import RecordEvent
from tests.integration.test_knowledge import record


def test_closing_as_duplicate_runs_the_knowledge_hook_as_the_close_transition_does(
    services: Services,
) -> None:
    solved = record(services, "洗衣机脱水时噪音很大，机身晃动")
    services.transition(solved, "accept", {"category": "quality", "priority": "P2"}, actor="li")
    services.transition(
        solved,
        "resolve",
        {"solution_type": "technical", "solution": "拆除运输螺栓并调平机器"},
        actor="li",
    )
    services.transition(solved, "reopen", {}, actor="li")
    asking = record(services, "新买的洗衣机噪音大")
    assert services.suggestions(asking)["case"] == []
    original = record(services, "洗衣机噪音")
    services.supervise(solved, actor="sup", duplicate_of=original)
    # Entering a closed stage puts a record with a solution in the case library, as `close` does.
    cases = services.suggestions(asking)["case"]
    assert [(c.ref_id, c.solution) for c in cases] == [(solved, "拆除运输螺栓并调平机器")]
    with services.session_factory() as session:
        last = session.scalars(
            select(RecordEvent)
            .where(RecordEvent.record_id == solved, RecordEvent.kind.like("stage.%"))
            .order_by(RecordEvent.id.desc())
        ).first()
        assert last is not None
        assert (last.transition, last.to_stage, last.changes) == (
            "duplicate",
            "closed",
            {"duplicate_of": original},
        )
