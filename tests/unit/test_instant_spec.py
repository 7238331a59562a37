"""The pack's `instant_answers:` is checked at load time (issue #23): a hand-over channel without
an intake entry, an order pattern that is no regular expression or a lookup that is no http(s)
URL is a problem at its path, not a chat box failing in front of a customer."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from engine.specs.build import build_pack_spec, jsonable
from workflows.loader import load_pack

ROOT = Path(__file__).resolve().parents[2] / "workflows"


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    return jsonable(load_pack(ROOT / "after_sales").data)  # type: ignore[no-any-return]


def test_the_default_and_retail_packs_offer_a_chat_box_that_hands_over_on_online_chat(
    data: dict[str, Any],
) -> None:
    for pack in (data, jsonable(load_pack(ROOT / "retail").data)):
        spec, found = build_pack_spec(pack)
        assert found == [] and spec is not None and spec.instant_answers is not None
        assert spec.instant_answers.handover in spec.intake
    spec, _ = build_pack_spec(data)
    assert spec is not None and spec.instant_answers is not None
    assert spec.instant_answers.order_number.search("订单 SO20261120001 到哪了")


def test_each_problem_of_instant_answers_is_named_at_its_path(data: dict[str, Any]) -> None:
    broken = copy.deepcopy(data)
    broken["instant_answers"] = {
        "handover": "walk_in",
        "order_number": "SO(\\d+",
        "order_lookup": {"url": "ftp://orders"},
    }
    spec, found = build_pack_spec(broken)
    assert spec is None
    paths = {p.path: p.message for p in found}
    assert set(paths) == {
        ("instant_answers", "handover"),
        ("instant_answers", "order_number"),
        ("instant_answers", "order_lookup", "url"),
    }
    assert "walk_in" in paths[("instant_answers", "handover")]
