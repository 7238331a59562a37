"""The web app starts from the factory and shows what is published (the agent UI comes later)."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient

from engine.records.versions import PackSource
from engine.services import Services
from engine.store.db import make_engine, make_session_factory
from engine.store.migrate import upgrade
from wsgi import create_app


def client_with_pack(tmp_path: Path, after_sales: PackSource) -> FlaskClient:
    url = f"sqlite:///{tmp_path}/web.db"
    upgrade(make_engine(url))
    Services(make_session_factory(make_engine(url))).publish(after_sales, by="test")
    return create_app({"DATABASE_URL": url, "TESTING": True}).test_client()


def test_the_status_page_lists_published_packs(tmp_path: Path, after_sales: PackSource) -> None:
    response = client_with_pack(tmp_path, after_sales).get("/status")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "after_sales" in page and "v1" in page


def test_health_and_readiness(tmp_path: Path, after_sales: PackSource) -> None:
    client = client_with_pack(tmp_path, after_sales)
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json() == {"status": "ready"}
    fresh = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/empty.db"}).test_client()
    pending = fresh.get("/readyz")
    assert pending.status_code == 503 and "careloop db upgrade" in pending.get_json()["status"]


def test_an_unknown_page_is_a_404(tmp_path: Path, after_sales: PackSource) -> None:
    assert client_with_pack(tmp_path, after_sales).get("/nope").status_code == 404
