"""`/api/v1/docs` renders the OpenAPI 3.1 description in a real browser (issue #22, "Why":
Swagger UI 4 answered "Unable to render this definition"; R-1.6's documented API)."""

from __future__ import annotations

from playwright.sync_api import Page, expect


def test_the_api_docs_render_the_description_and_its_operations(page: Page) -> None:
    response = page.goto("/api/v1/docs")
    assert response is not None and response.ok
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Careloop API")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    expect(page.get_by_text("/api/v1/records", exact=True).first).to_be_visible()
    expect(page.get_by_text("Unable to render this definition")).to_have_count(0)
