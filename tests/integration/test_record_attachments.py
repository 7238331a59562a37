"""A record's own files (issue #21, item 3; R-8.3): checked by their content, stored once on
disk and encrypted there, pictures previewed, served only to whoever may see the record and
never as something a browser would run.

The engine tests and the web tests run on SQLite and on PostgreSQL (`db_engine`); the checks of
a file's content need no database.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import TestResponse, encode_multipart

from engine.errors import InvalidInput, NotFound
from engine.files import blobs
from engine.files.blobs import FileStore
from engine.files.checks import FileTooLarge, check
from engine.records.intake import NewRecord
from engine.services import Services
from engine.store.models import RecordAttachment, RecordEvent
from tests.integration.test_mail_intake import mail
from tests.integration.test_thread_attachments import app as app  # noqa: F401  (the fixture)
from tests.integration.test_thread_attachments import bearer, signed_in
from wsgi import services as app_services

MiB = 1024 * 1024
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
PDF = b"%PDF-1.4\n" + b"1" * 3000


def png(width: int = 640, height: int = 480, colour: str = "teal") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[FileStore]:
    """A store of this test's own, so what it holds can be counted."""
    before = blobs.current()
    blobs.configure(tmp_path / "files", 10 * MiB)
    yield blobs.current()
    blobs.configure(before.root, before.max_bytes)


def stored_files(store: FileStore) -> list[Path]:
    return [p for p in store.root.rglob("*") if p.is_file()]


def new_record(services: Services, *, team: str = "rnd", number: str = "C-1") -> int:
    """A phone call's record; accepted as a quality problem it is rnd's (wang's team), not the
    service desk's (li's): an untriaged record is every team's."""
    record = services.create_record(
        "after_sales",
        NewRecord(
            record_type="feedback",
            channel="phone",
            priority="P2",
            fields={
                "customer_no": number,
                "customer_name": "王芳",
                "contact": "13812345678",
                "description": "洗衣机漏水",
            },
        ),
        actor="li",
    )
    if team == "rnd":
        services.transition(
            record.id, "accept", {"category": "quality", "priority": "P2"}, actor="t"
        )
    return record.id


# What may be stored, by content (no database) ---------------------------------------------


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("photo.jpg", HTML),  # a page renamed as a picture
        ("logo.png", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
        ("notes.txt", b"  \n<html><script>alert(1)</script>"),
        ("setup.pdf", b"MZ\x90\x00" + b"\x00" * 200),  # a Windows program named as a PDF
        ("archive.docx", b"PK\x03\x04" + b"\x00" * 200),  # a plain zip is no document
        ("manual.pdf.exe", PDF),  # a PDF, but named to run
    ],
)
def test_a_file_is_judged_by_its_content_not_its_name_or_declared_type(
    name: str, data: bytes
) -> None:
    with pytest.raises(InvalidInput) as refused:
        check(name, "image/jpeg", data, 10 * MiB)
    assert refused.value.fields == {"file": "file type not allowed"}


def test_a_file_over_the_limit_is_refused_naming_the_limit() -> None:
    with pytest.raises(FileTooLarge) as refused:
        check("scan.pdf", "application/pdf", PDF, 1000)
    assert refused.value.limit == 1000 and "the limit is 1000 bytes" in str(refused.value)
    assert check("scan.pdf", "application/pdf", PDF, len(PDF)).size == len(PDF)


@pytest.mark.parametrize(
    ("name", "data", "shown", "detected"),
    [
        ("../../etc/passwd", b"root:x:0:0\n", "passwd", "text/plain"),
        ("..\\..\\x.png", png(8, 8), "x.png", "image/png"),
        ("evil\x00.png", png(8, 8), "evil_.png", "image/png"),
        ("/abs/path/发票.pdf", PDF, "发票.pdf", "application/pdf"),
        ("..", PDF, "attachment-1.pdf", "application/pdf"),
        ("价格表.csv", "型号,价格\nXQB80,1999\n".encode("gb18030"), "价格表.csv", "text/csv"),
    ],
)
def test_a_name_is_only_shown_never_a_path(
    name: str, data: bytes, shown: str, detected: str
) -> None:
    checked = check(name, "application/octet-stream", data, 10 * MiB)
    assert (checked.filename, checked.detected_type) == (shown, detected)
    with pytest.raises(ValueError):
        FileStore(Path("/tmp/x")).path_of("../../etc/passwd")


def test_workers_storing_at_once_leave_whole_files_and_no_temporary_ones(
    store: FileStore,
) -> None:
    """Threads stand in for workers sharing the folder: each write is a rename into place."""
    same = PDF * 20
    distinct = [PDF + str(n).encode() for n in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        shared = list(pool.map(store.put, [same] * 8))
        own = list(pool.map(store.put, distinct))
    assert len(set(shared)) == 1 and store.get(shared[0]) == same
    assert [store.get(a) for a in own] == distinct
    assert len(stored_files(store)) == 9 and not list(store.root.rglob(".incoming-*"))


def test_a_file_missing_from_the_store_is_not_found(store: FileStore) -> None:
    address = store.put(PDF)
    store.path_of(address).unlink()
    with pytest.raises(NotFound):
        store.get(address)


# The engine, on SQLite and PostgreSQL ------------------------------------------------------


def test_a_picture_is_stored_encrypted_previewed_and_in_the_history(
    services: Services, store: FileStore
) -> None:
    record_id = new_record(services)
    picture = png()
    row = services.attach_file(record_id, "故障照片.png", "image/png", picture, actor="li")
    assert (row.filename, row.detected_type, row.size, row.uploaded_by) == (
        "故障照片.png",
        "image/png",
        len(picture),
        "li",
    )
    assert row.preview_address is not None
    for path in stored_files(store):  # no plain byte of the picture on the disk
        assert b"PNG" not in path.read_bytes()[:64] and path.name in (
            row.address,
            row.preview_address,
        )
    assert services.record_file(record_id, row.id).data == picture
    preview = services.record_file(record_id, row.id, preview=True)
    assert preview.content_type == "image/webp"
    with Image.open(io.BytesIO(preview.data)) as shown:
        assert shown.format == "WEBP" and max(shown.size) <= 320
    with services.session_factory() as session:
        event = session.scalars(
            select(RecordEvent).where(
                RecordEvent.record_id == record_id, RecordEvent.kind == "attachment.added"
            )
        ).one()
    assert event.actor == "li"
    assert event.changes == {"filename": "故障照片.png", "size": len(picture), "type": "image/png"}


def test_identical_content_is_stored_once(services: Services, store: FileStore) -> None:
    first, second = new_record(services), new_record(services)
    a = services.attach_file(first, "a.pdf", "application/pdf", PDF, actor="li")
    b = services.attach_file(second, "copy.pdf", "application/pdf", PDF, actor="wang")
    assert a.address == b.address and a.id != b.id
    assert len(stored_files(store)) == 1
    assert not list(store.root.rglob(".incoming-*"))  # no temporary file left behind
    assert len(a.address) == 64 and a.address not in (
        __import__("hashlib").sha256(PDF).hexdigest(),
    )  # a keyed address: a plain SHA-256 of a known file finds nothing


def test_a_file_opens_only_through_its_own_record(services: Services, store: FileStore) -> None:
    first, second = new_record(services), new_record(services)
    row = services.attach_file(first, "a.pdf", "application/pdf", PDF, actor="li")
    with pytest.raises(NotFound):
        services.record_file(second, row.id)
    with pytest.raises(NotFound):
        services.record_file(first, row.id, preview=True)  # a PDF has no preview
    assert [f.id for f in services.record_files(first)] == [row.id]
    assert services.record_files(second) == []


def test_a_broken_or_enormous_picture_is_refused(services: Services, store: FileStore) -> None:
    record_id = new_record(services)
    broken = png()[:60]  # the header says PNG, the pixels are missing
    with pytest.raises(InvalidInput) as refused:
        services.attach_file(record_id, "x.png", "image/png", broken, actor="li")
    assert refused.value.fields == {"file": "unreadable picture"}
    bomb = io.BytesIO()
    Image.new("1", (10_000, 6_000)).save(bomb, "PNG")  # 60 million pixels in a few KB
    with pytest.raises(InvalidInput) as too_big:
        services.attach_file(record_id, "bomb.png", "image/png", bomb.getvalue(), actor="li")
    assert too_big.value.fields == {"file": "picture too large"}
    assert services.record_files(record_id) == [] and stored_files(store) == []


def test_an_erased_customer_s_files_are_deleted_those_of_others_kept(
    services: Services, store: FileStore
) -> None:
    theirs, others = new_record(services, number="C-7"), new_record(services, number="C-8")
    picture = png(colour="orange")
    mine = services.attach_file(theirs, "王芳的发票.png", "image/png", picture, actor="li")
    services.attach_file(theirs, "说明书.pdf", "application/pdf", PDF, actor="li")
    shared = services.attach_file(others, "说明书.pdf", "application/pdf", PDF, actor="li")
    assert len(stored_files(store)) == 3  # the picture, its preview, the one PDF
    (exported,) = services.export_customer("C-7")["records"]
    assert exported["attachments"] == ["王芳的发票.png", "说明书.pdf"]
    assert services.erase_customer("C-7", actor="dpo") == 1
    assert services.record_files(theirs) == []
    assert {p.name for p in stored_files(store)} == {shared.address}  # still the other's
    assert services.record_file(others, shared.id).data == PDF
    assert mine.preview_address is not None
    with services.session_factory() as session:
        changes = session.scalars(
            select(RecordEvent.changes).where(
                RecordEvent.record_id == theirs, RecordEvent.kind == "attachment.added"
            )
        ).all()
    assert [c["filename"] for c in changes] == ["[已删除]", "[已删除]"]


def test_a_mailed_page_named_as_a_photo_is_named_in_a_note_not_stored(
    services: Services, store: FileStore
) -> None:
    raw = mail("洗衣机漏水", "照片见附件。", message_id="<disguised@example.com>")
    message = message_from_bytes(raw, policy=default)
    assert isinstance(message, EmailMessage)
    message.add_attachment(HTML, maintype="image", subtype="jpeg", filename="照片.jpg")
    message.add_attachment(png(), maintype="image", subtype="jpeg", filename="现场.jpg")
    outcome = services.take_mail("after_sales", "email", message.as_bytes())
    assert outcome.record_id is not None
    received, note = services.thread(outcome.record_id)
    assert [(f.filename, f.content_type) for f in received.files] == [("现场.jpg", "image/png")]
    assert "附件未保存：照片.jpg（类型不允许）" in note.message.body
    assert len(stored_files(store)) == 1


# The desk, on the same database ---------------------------------------------------------


def upload(client: FlaskClient, record_id: int, data: bytes, name: str, kind: str) -> TestResponse:
    """A multipart post built in memory (the test client would spool a big one to a file)."""
    values = MultiDict[str, object]()
    values.add("file", FileStorage(io.BytesIO(data), name, content_type=kind))
    boundary, body = encode_multipart(values)
    return client.post(
        f"/records/{record_id}/files",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def test_an_agent_uploads_a_photo_sees_its_preview_and_opens_it(app: Flask) -> None:
    record_id = new_record(app_services(app))
    agent = signed_in(app, "wang")
    picture = png()
    response = upload(agent, record_id, picture, "现场.png", "image/png")
    assert response.status_code == 302 and response.headers["Location"].endswith("#attachments")
    (row,) = app_services(app).record_files(record_id)
    page = agent.get(f"/records/{record_id}").get_data(as_text=True)
    preview_url = f"/records/{record_id}/files/{row.id}/preview"
    assert "已上传附件：现场.png" in page and f'src="{preview_url}"' in page
    assert "上传附件" in page  # the history line
    preview = agent.get(preview_url)
    assert preview.status_code == 200 and preview.mimetype == "image/webp"
    assert preview.headers["Content-Disposition"].startswith("inline")
    assert preview.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in preview.headers["Content-Security-Policy"]
    assert "default-src 'none'" in preview.headers["Content-Security-Policy"]
    original = agent.get(f"/records/{record_id}/files/{row.id}")
    assert original.data == picture and original.mimetype == "image/png"
    upload(agent, record_id, PDF, "说明书.pdf", "application/pdf")
    manual = app_services(app).record_files(record_id)[-1]
    download = agent.get(f"/records/{record_id}/files/{manual.id}")
    assert download.data == PDF and download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    english = signed_in(app, "wang")
    english.post("/me/language", data={"locale": "en"})
    page = english.get(f"/records/{record_id}").get_data(as_text=True)
    assert "Attachments" in page and "附件" not in page


def test_an_html_page_named_as_a_picture_is_refused_and_nothing_stored(app: Flask) -> None:
    record_id = new_record(app_services(app))
    response = upload(signed_in(app, "wang"), record_id, HTML, "photo.jpg", "image/jpeg")
    assert response.status_code == 400
    assert "此类文件不能上传" in response.get_data(as_text=True)
    assert app_services(app).record_files(record_id) == []


def test_a_file_over_the_limit_gets_413_naming_the_limit(
    app: Flask, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(blobs, "_store", FileStore(tmp_path / "small", 2 * MiB))
    record_id = new_record(app_services(app))
    agent = signed_in(app, "wang")
    over = upload(agent, record_id, PDF + b"0" * (2 * MiB), "big.pdf", "application/pdf")
    assert over.status_code == 413
    assert "文件过大：每个文件不能超过 2 MB" in over.get_data(as_text=True)
    way_over = upload(agent, record_id, PDF + b"0" * (4 * MiB), "huge.pdf", "application/pdf")
    assert way_over.status_code == 413  # refused before the body is read whole
    assert "文件过大：每个文件不能超过 2 MB" in way_over.get_data(as_text=True)
    assert app_services(app).record_files(record_id) == []
    app.config["WTF_CSRF_ENABLED"] = True  # the form is read before sign-in is checked
    anonymous = upload(app.test_client(), record_id, PDF * 2000, "x.pdf", "application/pdf")
    assert anonymous.status_code == 413 and "PDF" not in anonymous.get_data(as_text=True)


def test_a_traversal_name_is_stored_as_a_plain_name(app: Flask) -> None:
    record_id = new_record(app_services(app))
    agent = signed_in(app, "wang")
    assert (
        upload(agent, record_id, b"root:x:0:0\n", "../../etc/passwd", "text/plain").status_code
        == 302
    )
    assert upload(agent, record_id, png(8, 8), "..\\..\\x.png", "image/png").status_code == 302
    names = [f.filename for f in app_services(app).record_files(record_id)]
    assert names == ["passwd", "x.png"]
    first = app_services(app).record_files(record_id)[0]
    download = agent.get(f"/records/{record_id}/files/{first.id}")
    assert download.headers["Content-Disposition"] == "attachment; filename=passwd"
    assert download.mimetype == "text/plain"


def test_an_agent_of_another_team_gets_404_for_the_file(app: Flask) -> None:
    record_id = new_record(app_services(app))  # rnd's
    wang = signed_in(app, "wang")  # rnd
    upload(wang, record_id, png(), "现场.png", "image/png")
    (row,) = app_services(app).record_files(record_id)
    base = f"/records/{record_id}/files/{row.id}"
    assert wang.get(base).status_code == 200 and wang.get(f"{base}/preview").status_code == 200
    li = signed_in(app, "li")  # the service desk
    assert li.get(f"/records/{record_id}").status_code == 404  # as the record itself
    assert li.get(base).status_code == 404
    assert li.get(f"{base}/preview").status_code == 404
    assert upload(li, record_id, PDF, "x.pdf", "application/pdf").status_code == 404
    other = new_record(app_services(app))
    assert wang.get(f"/records/{other}/files/{row.id}").status_code == 404  # not that record's
    anonymous = app.test_client().get(base)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    with app_services(app).session_factory() as session:
        assert session.scalars(select(RecordAttachment)).one().uploaded_by == "wang"


def test_the_form_on_the_page_uploads_with_its_csrf_token(app: Flask) -> None:
    record_id = new_record(app_services(app))
    wang = signed_in(app, "wang")
    app.config["WTF_CSRF_ENABLED"] = True
    assert upload(wang, record_id, PDF, "a.pdf", "application/pdf").status_code == 400  # none
    page = wang.get(f"/records/{record_id}").get_data(as_text=True)
    form = re.search(r'<section class="card" id="attachments">.*?</section>', page, re.S)
    assert form is not None and 'enctype="multipart/form-data"' in form.group(0)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.group(0))
    assert token is not None
    values = MultiDict[str, object]({"csrf_token": token.group(1)})
    values.add("file", FileStorage(io.BytesIO(PDF), "a.pdf", content_type="application/pdf"))
    boundary, body = encode_multipart(values)
    posted = wang.post(
        f"/records/{record_id}/files",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert posted.status_code == 302
    assert [f.filename for f in app_services(app).record_files(record_id)] == ["a.pdf"]


# The API, on the same database ----------------------------------------------------------


def api_upload(
    client: FlaskClient, record_id: int, data: bytes, name: str, kind: str, token: dict[str, str]
) -> TestResponse:
    values = MultiDict[str, object]()
    values.add("file", FileStorage(io.BytesIO(data), name, content_type=kind))
    boundary, body = encode_multipart(values)
    return client.post(
        f"/api/v1/records/{record_id}/attachments",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers=token,
    )


def test_the_api_uploads_lists_and_serves_a_record_file(app: Flask) -> None:
    record_id = new_record(app_services(app))
    client = app.test_client()
    writer = bearer(app, "write")
    posted = api_upload(client, record_id, PDF, "../发票.pdf", "image/png", writer)
    assert posted.status_code == 201, posted.get_json()
    body = posted.get_json()
    assert (body["filename"], body["content_type"], body["declared_type"], body["size"]) == (
        "发票.pdf",
        "application/pdf",
        "image/png",
        len(PDF),
    )
    assert body["uploaded_by"].startswith("api:")
    listed = client.get(f"/api/v1/records/{record_id}/attachments", headers=bearer(app, "read"))
    assert [f["id"] for f in listed.get_json()["items"]] == [body["id"]]
    url = f"/api/v1/records/{record_id}/attachments/{body['id']}"
    assert client.get(url, headers=bearer(app, "read")).status_code == 403
    served = client.get(url, headers=bearer(app, "read", "personal"))
    assert served.status_code == 200 and served.data == PDF
    assert served.headers["Content-Disposition"].startswith("attachment")
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    other = new_record(app_services(app))
    wrong = f"/api/v1/records/{other}/attachments/{body['id']}"
    assert client.get(wrong, headers=bearer(app, "read", "personal")).status_code == 404
    page = api_upload(client, record_id, HTML, "photo.jpg", "image/jpeg", writer)
    assert page.status_code == 422 and page.mimetype == "application/problem+json"
    json_body = client.post(
        f"/api/v1/records/{record_id}/attachments", json={"file": "x"}, headers=writer
    )
    assert json_body.status_code == 422  # no file part
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/records/{record_id}/attachments"]["post"]
    assert "multipart/form-data" in operation["requestBody"]["content"]
    assert {"201", "413", "422"} <= set(operation["responses"])


def test_the_api_answers_413_over_the_limit(
    app: Flask, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(blobs, "_store", FileStore(tmp_path / "small", 1000))
    record_id = new_record(app_services(app))
    client, writer = app.test_client(), bearer(app, "write")
    over = api_upload(client, record_id, PDF, "a.pdf", "application/pdf", writer)
    assert over.status_code == 413 and "the limit is 1000 bytes" in over.get_json()["detail"]
    way_over = api_upload(client, record_id, PDF * 100, "a.pdf", "application/pdf", writer)
    assert way_over.status_code == 413 and way_over.mimetype == "application/problem+json"
