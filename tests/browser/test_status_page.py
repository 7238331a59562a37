"""End to end through the harness: the status page, rendered by a real browser."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, screenshot


def test_status_page_lists_the_published_pack(page: Page, live_server: LiveServer) -> None:
    response = page.goto("/status")

    assert response is not None and response.ok
    assert page.url == f"{live_server.url}/status"
    expect(page).to_have_title("Careloop")
    expect(page.get_by_role("heading", name="Careloop")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="after_sales")
    expect(row).to_have_count(1)
    expect(row.get_by_role("cell").nth(1)).to_have_text(re.compile(r"^v\d+$"))
    path = screenshot(page, "status_page")
    assert path.read_bytes().startswith(b"\x89PNG")
