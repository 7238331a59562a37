"""`/api/v1/records/{id}/messages` (issue #20): the thread for integrations, idempotent,
described in OpenAPI, the text only for tokens that may see personal data."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.integration.test_api import RECORD, app, client, token, writer

__all__ = ["app", "client", "writer"]  # the fixtures this module uses from test_api

EMAIL_RECORD: dict[str, Any] = {
    **RECORD,
    "channel": "email",
    "fields": {**RECORD["fields"], "contact": "wangfang@example.com"},
}


def new_record(client: FlaskClient, headers: dict[str, str]) -> int:
    created = client.post("/api/v1/records", json=EMAIL_RECORD, headers=headers)
    assert created.status_code == 201, created.get_json()
    record_id: int = created.get_json()["id"]
    return record_id


def test_a_reply_a_note_and_a_customer_message_make_the_thread(
    client: FlaskClient, writer: dict[str, str]
) -> None:
    record_id = new_record(client, writer)
    url = f"/api/v1/records/{record_id}/messages"
    reply = client.post(
        url, json={"text": "已收到，今天联系您", "channel": "email"}, headers=writer
    )
    assert reply.status_code == 201, reply.get_json()
    assert reply.get_json()["state"] == "queued" and reply.get_json()["direction"] == "out"
    note = client.post(url, json={"direction": "note", "text": "老客户"}, headers=writer)
    assert note.get_json()["state"] == "internal" and note.get_json()["channel"] is None
    inbound = {"direction": "in", "text": "好的", "channel": "email", "external_id": "<a@x>"}
    first = client.post(url, json=inbound, headers=writer)
    again = client.post(url, json=inbound, headers=writer)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["id"] == first.get_json()["id"]
    listed = client.get(url, headers=writer).get_json()["items"]
    assert [(m["direction"], m["state"]) for m in listed] == [
        ("out", "queued"),
        ("note", "internal"),
        ("in", "received"),
    ]
    assert all(m["text"] is None for m in listed)  # no `personal` scope
    assert all(m["author"].startswith("api:") for m in listed)


def test_only_a_personal_token_reads_the_text(app: Flask, client: FlaskClient) -> None:
    personal = token(app, "read", "write", "personal")
    record_id = new_record(client, personal)
    url = f"/api/v1/records/{record_id}/messages"
    client.post(url, json={"direction": "note", "text": "客户手机 138"}, headers=personal)
    (message,) = client.get(url, headers=personal).get_json()["items"]
    assert message["text"] == "客户手机 138"


def test_bad_messages_are_problems_naming_the_field(
    client: FlaskClient, writer: dict[str, str]
) -> None:
    record_id = new_record(client, writer)
    url = f"/api/v1/records/{record_id}/messages"
    no_channel = client.post(url, json={"text": "hi"}, headers=writer)
    assert no_channel.status_code == 422
    assert no_channel.get_json()["errors"] == [{"path": "/fields/channel", "message": "required"}]
    empty = client.post(url, json={"direction": "note", "text": ""}, headers=writer)
    assert empty.status_code == 422
    fax = client.post(url, json={"text": "hi", "channel": "fax"}, headers=writer)
    assert fax.status_code == 422 and "not a channel" in fax.get_json()["detail"]
    missing = client.get("/api/v1/records/999999/messages", headers=writer)
    assert missing.status_code == 404


def test_the_thread_is_in_the_openapi_description(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    operations = spec["paths"]["/api/v1/records/{record_id}/messages"]
    assert set(operations) >= {"get", "post"}
    assert "MessageIn" in spec["components"]["schemas"]
