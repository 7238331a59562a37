"""The loyalty programme where people see it (R-5.4): the 360° view and the API's customer view.

Points and level per pack and the newest ledger entries, in the user's language; a referral
given through the API counts for the referrer, and an unknown referrer is a 422.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask

from engine.access import tokens
from engine.records.versions import PackSource
from tests.integration.test_desk import make_app, signed_in
from wsgi import services


@pytest.fixture
def app(tmp_path: Path, after_sales: PackSource) -> Flask:
    app = make_app(tmp_path, after_sales, WTF_CSRF_ENABLED=False)
    service = services(app)
    service.save_customer("C-1", {})
    service.save_customer("C-2", {})
    now = service.clock.now()
    for number, oid, amount in (("C-1", "O-1", 2500.0), ("C-2", "O-2", 99.5)):
        service.record_order(
            number, {"external_id": oid, "amount": amount, "ordered_at": now - timedelta(days=3)}
        )
    return app


def bearer(app: Flask) -> dict[str, str]:
    service = services(app)
    with service.uow() as uow:
        _, plain = tokens.issue(uow.session, "loyalty", ("read", "write"), service.clock.now())
        uow.commit()
    return {"Authorization": f"Bearer {plain}"}


def test_the_360_view_shows_points_level_and_ledger(app: Flask) -> None:
    services(app).award_points()
    page = signed_in(app, "li").get("/customers/C-1").get_data(as_text=True)
    assert 'id="loyalty"' in page and "2500 积分 · 银卡会员" in page
    assert "+2500" in page and "<td>订单</td>" in page
    english = signed_in(app, "li")
    english.post("/me/language", data={"locale": "en"})
    page = english.get("/customers/C-1").get_data(as_text=True)
    assert "Loyalty points and level" in page and "2500 points" in page and "积分" not in page
    assert "银卡会员" in page  # the level's title is the pack's, in the pack's words


def test_the_api_view_has_points_and_a_referral_earns_the_referrer(app: Flask) -> None:
    client, headers = app.test_client(), bearer(app)
    refused = client.put("/api/v1/customers/C-3", json={"referred_by": "nobody"}, headers=headers)
    assert refused.status_code == 422
    created = client.put("/api/v1/customers/C-3", json={"referred_by": "C-2"}, headers=headers)
    assert created.status_code == 201
    order = {"external_id": "O-3", "amount": 10, "ordered_at": "2026-11-22T10:00:00+08:00"}
    ordered = client.post("/api/v1/customers/C-3/orders", json=order, headers=headers)
    assert ordered.status_code == 201
    services(app).award_points()
    view = client.get("/api/v1/customers/C-2", headers=headers).get_json()
    # 99 points for 99.50 spent, rounded down, and 200 for referring C-3
    assert view["loyalty"] == {"after_sales": {"points": 299, "level": "member"}}
    assert sorted(e["reason"] for e in view["ledger"]) == ["order", "referral"]
