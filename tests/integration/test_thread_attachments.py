"""Files on a record's thread (issue #20): a photo of the fault that came by mail reaches the
agent, encrypted at rest; refused files are named; the desk and the API serve a file only to
whoever may see its record, never as something a browser would run.

Every test runs on SQLite and on PostgreSQL (the `db_engine` fixture), the web ones too: the
app is built on the same database.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select, text
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import TestResponse, encode_multipart

import forms.thread
from engine.access import tokens, users
from engine.errors import NotFound
from engine.files import blobs
from engine.records.versions import PackSource
from engine.services import Services
from engine.store.models import ThreadMessage
from signin.auth import hash_password
from tests.integration.test_desk import PASSWORD
from tests.integration.test_mail_intake import PHOTO, mail
from wsgi import create_app, services

_tokens = itertools.count(1)
PDF = b"%PDF-1.4\n" + b"1" * 3000
BIG = 10 * 1024 * 1024 + 1


def photo_mail(message_id: str = "<m1@example.com>", *, refused: bool = True) -> bytes:
    """A GBK mail with a JPEG photo and, unless told not to, an .exe and a disguised .exe."""
    raw = mail("洗衣机漏水", "您好，洗衣机一直漏水，照片见附件。", message_id=message_id)
    message = message_from_bytes(raw, policy=default)
    assert isinstance(message, EmailMessage)
    message.add_attachment(PHOTO, maintype="image", subtype="jpeg", filename="故障照片.jpg")
    if refused:
        exe = b"MZ\x90\x00" + b"x" * 100
        message.add_attachment(
            exe, maintype="application", subtype="x-msdownload", filename="setup.exe"
        )
        message.add_attachment(exe, maintype="image", subtype="jpeg", filename="photo.jpg.exe")
    return message.as_bytes()


def mailed(services: Services, message_id: str = "<m1@example.com>") -> tuple[int, int, int]:
    """(record id, message id, photo's attachment id) of a photo mail taken in."""
    outcome = services.take_mail("after_sales", "email", photo_mail(message_id))
    assert outcome.action == "created" and outcome.record_id is not None
    entry = services.thread(outcome.record_id)[0]
    return outcome.record_id, entry.message.id, entry.files[0].id


def test_a_gbk_mail_with_a_photo_puts_the_photo_on_the_thread_encrypted_at_rest(
    services: Services, db_engine: Engine
) -> None:
    record_id, message_id, photo_id = mailed(services)
    received, note = services.thread(record_id)
    assert received.message.direction == "in" and "照片见附件" in received.message.body
    (photo,) = received.files
    assert (photo.filename, photo.content_type, photo.size) == (
        "故障照片.jpg",
        "image/jpeg",
        len(PHOTO),
    )
    assert services.attachment(record_id, photo_id).data == PHOTO
    with db_engine.connect() as connection:
        data, address = connection.execute(
            text("SELECT data, address FROM thread_attachments")
        ).one()
    assert data is None  # in the disk store since issue #21, encrypted there
    stored = blobs.current().path_of(address).read_bytes()
    assert PHOTO[:4] not in stored and b"0" * 64 not in stored
    assert note.message.direction == "note" and note.files == ()
    assert "附件未保存：setup.exe（类型不允许）" in note.message.body
    assert "附件未保存：photo.jpg.exe（扩展名不允许）" in note.message.body


def test_a_file_opens_only_through_its_own_record_and_message(services: Services) -> None:
    record_id, message_id, photo_id = mailed(services)
    other_id, other_message, _ = mailed(services, "<m2@example.com>")
    assert other_id != record_id
    with pytest.raises(NotFound):
        services.attachment(other_id, photo_id)
    with pytest.raises(NotFound):
        services.attachment(record_id, photo_id, message_id=other_message)
    assert (
        services.attachment(record_id, photo_id, message_id=message_id).filename == "故障照片.jpg"
    )


def test_the_same_mail_twice_stores_its_photo_once(services: Services) -> None:
    mailed(services)
    again = services.take_mail("after_sales", "email", photo_mail())
    assert again.action == "duplicate"
    with services.session_factory() as session:
        assert len(session.scalars(select(ThreadMessage)).all()) == 2  # the mail and its note


# The desk and the API, on the same database -------------------------------------------------


@pytest.fixture
def app(db_engine: Engine, after_sales: PackSource) -> Iterator[Flask]:
    url = db_engine.url.render_as_string(hide_password=False)
    app = create_app(
        {
            "DATABASE_URL": url,
            "TESTING": True,
            "SECRET_KEY": "test",
            "SESSION_COOKIE_SECURE": False,
            "WTF_CSRF_ENABLED": False,
        }
    )
    service = services(app)
    service.publish(after_sales, by="test")
    with service.uow() as uow:
        now = service.clock.now()
        users.add_user(
            uow.session, "li", "agent", PASSWORD, hash_password, now, team="service_desk"
        )
        users.add_user(uow.session, "wang", "agent", PASSWORD, hash_password, now, team="rnd")
        uow.commit()
    yield app
    service.session_factory.kw["bind"].dispose()  # the app's own pool, on PostgreSQL too


def signed_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def post_files(
    client: FlaskClient, url: str, fields: dict[str, str], files: list[tuple[bytes, str, str]]
) -> TestResponse:
    """A multipart post built in memory (the test client would spool a big one to a file it
    never closes)."""
    values = MultiDict[str, object](fields)
    for data, name, content_type in files:
        values.add("attachments", FileStorage(io.BytesIO(data), name, content_type=content_type))
    boundary, body = encode_multipart(values)
    return client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def bearer(app: Flask, *scopes: str) -> dict[str, str]:
    service = services(app)
    with service.uow() as uow:
        name = f"t{next(_tokens)}-{'-'.join(scopes)}"
        _, plain = tokens.issue(uow.session, name, scopes, service.clock.now())
        uow.commit()
    return {"Authorization": f"Bearer {plain}"}


def test_the_agent_of_the_team_sees_and_opens_the_photo_another_team_gets_404(app: Flask) -> None:
    record_id, _, photo_id = mailed(services(app))
    other_id, _, other_photo = mailed(services(app), "<m2@example.com>")
    services(app).transition(
        record_id, "accept", {"category": "quality", "priority": "P2"}, actor="t"
    )
    wang = signed_in(app, "wang")  # rnd, where quality problems go
    page = wang.get(f"/records/{record_id}").get_data(as_text=True)
    href = f"/records/{record_id}/attachments/{photo_id}"
    assert "故障照片.jpg" in page and f'<img class="thumb" src="{href}"' in page
    assert "2 KB" in page and "附件未保存：setup.exe（类型不允许）" in page
    response = wang.get(href)
    assert response.status_code == 200 and response.data == PHOTO
    assert response.mimetype == "image/jpeg"
    assert response.headers["Content-Disposition"].startswith("inline")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    li = signed_in(app, "li")  # the service desk: not this record's team any more
    assert li.get(href).status_code == 404
    assert li.get(f"/records/{record_id}/attachments/999").status_code == 404
    # a visible record's URL cannot open another record's file
    assert li.get(f"/records/{other_id}/attachments/{photo_id}").status_code == 404
    assert li.get(f"/records/{other_id}/attachments/{other_photo}").status_code == 200
    anonymous = app.test_client().get(href)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_an_agent_attaches_a_manual_to_a_reply_and_a_picture_to_a_note(app: Flask) -> None:
    record_id, _, _ = mailed(services(app))
    li = signed_in(app, "li")
    response = li.post(
        f"/records/{record_id}/reply",
        data={
            "text": "说明书见附件。",
            "channel": "phone",
            "attachments": [(io.BytesIO(PDF), "说明书.pdf", "application/pdf")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    note = li.post(
        f"/records/{record_id}/note",
        data={"text": "现场照片", "attachments": [(io.BytesIO(PHOTO), "现场.jpg", "")]},
        content_type="multipart/form-data",
    )
    assert note.status_code == 302
    entries = services(app).thread(record_id)
    reply = next(e for e in entries if e.message.direction == "out")
    (manual,) = reply.files
    assert (manual.filename, manual.content_type, manual.size) == (
        "说明书.pdf",
        "application/pdf",
        len(PDF),
    )
    assert [f.content_type for f in entries[-1].files] == ["image/jpeg"]  # typed by its name
    download = li.get(f"/records/{record_id}/attachments/{manual.id}")
    assert download.data == PDF and download.mimetype == "application/pdf"
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and "filename*=UTF-8''" in disposition


@pytest.mark.parametrize(
    ("name", "data", "content_type", "words"),
    [
        ("setup.exe", b"MZ" + b"x" * 10, "application/x-msdownload", "此类文件不能上传"),
        ("page.html", b"<script>alert(1)</script>", "text/html", "此类文件不能上传"),
        ("logo.svg", b"<svg onload='alert(1)'/>", "image/svg+xml", "此类文件不能上传"),
        ("manual.pdf.exe", b"MZ", "application/pdf", "此类文件不能上传"),
        ("huge.pdf", b"%" * BIG, "application/pdf", "文件过大"),
    ],
)
def test_a_refused_upload_says_why_and_stores_nothing(
    app: Flask, name: str, data: bytes, content_type: str, words: str
) -> None:
    record_id, _, _ = mailed(services(app))
    li = signed_in(app, "li")
    before = len(services(app).thread(record_id))
    url = f"/records/{record_id}/note"
    response = post_files(li, url, {"text": "看附件"}, [(data, name, content_type)])
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert words in page and "看附件" in page  # the typed text kept
    assert len(services(app).thread(record_id)) == before


def test_the_api_lists_files_and_serves_them_to_personal_tokens_only(app: Flask) -> None:
    record_id, message_id, photo_id = mailed(services(app))
    client = app.test_client()
    listed = client.get(f"/api/v1/records/{record_id}/messages", headers=bearer(app, "read"))
    first = listed.get_json()["items"][0]
    assert first["text"] is None
    assert first["attachments"] == [
        {
            "id": photo_id,
            "filename": "故障照片.jpg",
            "content_type": "image/jpeg",
            "size": len(PHOTO),
        }
    ]
    url = f"/api/v1/records/{record_id}/messages/{message_id}/attachments/{photo_id}"
    assert client.get(url, headers=bearer(app, "read")).status_code == 403
    assert client.get(url).status_code == 401
    personal = bearer(app, "read", "personal")
    response = client.get(url, headers=personal)
    assert response.status_code == 200 and response.data == PHOTO
    assert response.mimetype == "image/jpeg"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    wrong_message = f"/api/v1/records/{record_id}/messages/{message_id + 1}/attachments/{photo_id}"
    assert client.get(wrong_message, headers=personal).status_code == 404
    other_id, _, _ = mailed(services(app), "<m2@example.com>")
    wrong_record = f"/api/v1/records/{other_id}/messages/{message_id}/attachments/{photo_id}"
    assert client.get(wrong_record, headers=personal).status_code == 404
    spec = client.get("/api/v1/openapi.json").get_json()
    path = "/api/v1/records/{record_id}/messages/{message_id}/attachments/{attachment_id}"
    operation = spec["paths"][path]["get"]
    assert {"200", "403", "404"} <= set(operation["responses"])
    assert "AttachmentOut" in spec["components"]["schemas"]


def test_a_request_above_the_upload_limit_is_turned_back_with_a_flash_not_an_error(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(forms.thread, "MAX_UPLOAD_REQUEST", 2000)  # ten 10 MiB files, in small
    record_id, _, _ = mailed(services(app))
    li = signed_in(app, "li")
    url = f"/records/{record_id}/note"
    response = post_files(li, url, {"text": "x"}, [(PDF, "a.pdf", "application/pdf")])
    assert response.status_code == 302 and response.headers["Location"].endswith("#thread")
    assert "文件过大" in li.get(f"/records/{record_id}").get_data(as_text=True)
