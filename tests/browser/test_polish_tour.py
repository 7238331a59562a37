"""A tour of the desk, the dashboard and the admin in Chinese and in English, on a desk and
on a phone (issue #21, item 6): nothing wider than a 390 px screen, no Chinese left in the
English chrome, no raw pack key in the Chinese pages.

Screenshots: tests/browser/artifacts/tour_<lang>_<width>_<page>.png.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from engine.access import users
from engine.customers.profiles import upsert_customer
from engine.records.intake import NewRecord
from engine.records.versions import latest_versions
from engine.store.models import User
from signin.auth import hash_password
from tests.browser.conftest import LiveServer, screenshot
from wsgi import services

PASSWORD = "tour password 1"
CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")
# Keys of the default pack that once showed through in the Chinese pages.
RAW_KEYS = re.compile(r"\b(pending|rnd|high_value|cn_workdays|service_desk|after_sales)\b")
# The chrome: what Careloop itself says (nav, headings, buttons, labels, table heads).
CHROME = "header.top, main h1, main h2, main h3, main th, main button, main label, main dt, nav"
ADMIN_CHROME = "nav, h1, h2, th, .btn, label"


def pack_words(value: object) -> Iterator[str]:
    """Every title and label the pack gives (pack data, which an English page may show)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            inner = getattr(value, field.name)
            if field.name in ("title", "label", "help") and isinstance(inner, str):
                yield inner
            else:
                yield from pack_words(inner)
    elif isinstance(value, dict):
        for inner in value.values():
            yield from pack_words(inner)
    elif isinstance(value, list | tuple):
        for inner in value:
            yield from pack_words(inner)


@pytest.fixture(scope="module")
def tour(live_server: LiveServer) -> dict[str, object]:
    """Two supervisors (one reads English), an agent's record with a VIP customer."""
    service = services(live_server.app)
    with service.uow() as uow:
        for name, locale in (("tour_zh", "zh"), ("tour_en", "en")):
            users.add_user(
                uow.session,
                name,
                "supervisor",
                PASSWORD,
                hash_password,
                service.clock.now(),
                display_name="孙磊",
                locale=locale,
            )
        upsert_customer(uow.session, "C-9001", {"tier": "high_value"}, service.clock.now())
        uow.commit()
    record = service.create_record(
        "after_sales",
        NewRecord(
            record_type="feedback",
            channel="phone",
            priority="P1",
            fields={
                "customer_no": "C-9001",
                "customer_name": "陈静",
                "contact": "13900001111",
                "description": "冰箱不制冷，已经三天了",
            },
        ),
        actor="api",
    )
    return {"record": record.id}


def data_words(live_server: LiveServer) -> list[str]:
    """What the pages may show as data, in whatever language it was written: every published
    pack's titles and every user's name (the live server is shared: other tests publish the
    catering pack and add their own agents), longest first."""
    service = services(live_server.app)
    with service.session_factory() as session:
        specs = [service.specs.of(v) for v in latest_versions(session)]
        names = session.scalars(select(User.display_name)).all()
    words = {w for spec in specs for w in pack_words(spec) if w} | {n for n in names if n}
    return sorted(words, key=len, reverse=True)


def sign_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("button[type=submit]").first.click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def chrome_text(page: Page, selector: str, allowed: list[str]) -> str:
    """The page's own words, with pack titles and people's names taken out."""
    text = "\n".join(page.locator(selector).all_inner_texts())
    for word in [*allowed, "孙磊", "陈静", "中文"]:  # "中文" is the switch back to Chinese
        text = text.replace(word, "")
    return text


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_tour_reads_in_one_language_and_fits_a_phone(
    page: Page, live_server: LiveServer, tour: dict[str, object], language: str, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, f"tour_{language}")
    pages = {
        "queue": "/queue",
        "record": f"/records/{tour['record']}",
        "customer": "/customers/C-9001",
        "dashboard": "/dashboard",
        "admin": "/admin/",
        "not_found": "/no-such-page",
    }
    allowed = data_words(live_server)
    page.goto("/queue")
    out, everywhere = page.locator("header.top form.inline").last.locator("button").all()
    first, second = out.bounding_box(), everywhere.bounding_box()
    assert first is not None and second is not None
    apart = second["x"] - (first["x"] + first["width"])  # 退出 | 退出所有设备, not run together
    assert apart >= 12 or second["y"] >= first["y"] + first["height"], apart
    for name, path in pages.items():
        response = page.goto(path)
        screenshot(page, f"tour_{language}_{width}_{name}")
        assert response is not None
        assert response.status == (404 if name == "not_found" else 200), (name, response.status)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, (name, width, overflow)
        selector = ADMIN_CHROME if name == "admin" else CHROME
        if language == "en":
            leftover = CJK.findall(chrome_text(page, selector, allowed))
            assert not leftover, (name, "".join(leftover))
        else:
            shown = page.locator("main, .container").first
            # Text and the options of pickers (a closed select shows only the chosen one).
            body = shown.inner_text() + "\n".join(shown.locator("option").all_inner_texts())
            assert not RAW_KEYS.search(body), (name, RAW_KEYS.findall(body))
