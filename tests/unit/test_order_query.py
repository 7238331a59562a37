"""Finding an order number and a phone in a customer's question (issue #23): the phone first, so
eleven digits are never taken for an order number, and each pack's own order pattern."""

from __future__ import annotations

import re

import pytest

from engine.selfservice.orders import OrderQuery, order_query
from engine.specs.instant import InstantAnswersSpec

DEFAULT = InstantAnswersSpec("online_chat")
RETAIL = InstantAnswersSpec("online_chat", re.compile(r"[Rr][Tt]-?\d{6,12}"))


@pytest.mark.parametrize(
    ("question", "found"),
    [
        ("订单 SO20261120001 手机 13812345678", OrderQuery("SO20261120001", "13812345678")),
        ("13812345678 的订单 SO20261120001", OrderQuery("SO20261120001", "13812345678")),
        ("手机 138-1234-5678，订单号 202611200001", OrderQuery("202611200001", "13812345678")),
        ("我的手机是 13812345678", OrderQuery(None, "13812345678")),
        ("订单 SO20261120001 到哪了", OrderQuery("SO20261120001", None)),
        ("2026年11月20日买的冰箱不制冷", OrderQuery(None, None)),
        ("快递一直没到", OrderQuery(None, None)),
    ],
)
def test_the_default_pattern_finds_the_order_and_the_phone(
    question: str, found: OrderQuery
) -> None:
    assert order_query(DEFAULT, question) == found


def test_a_packs_own_pattern_decides_what_an_order_number_is() -> None:
    assert order_query(RETAIL, "rt-20261120 手机 13812345678") == OrderQuery(
        "rt-20261120", "13812345678"
    )
    assert order_query(RETAIL, "SO20261120001 手机 13812345678").order is None
    assert order_query(RETAIL, "SO20261120001 手机 13812345678").complete is False
