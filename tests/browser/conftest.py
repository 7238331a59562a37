"""Browser-test harness: the app on a live local server, Debian's Chromium driven by Playwright.

Fixtures:
- `live_server` (session): the app on a fresh migrated SQLite file with the default pack
  published, served on http://127.0.0.1:<free port>; `.url` and `.app`.
- `browser` (session): headless Chromium from /usr/bin/chromium (never a downloaded one).
  Where it is missing the browser tests are skipped, unless CARELOOP_REQUIRE_BROWSER=1 (CI):
  then they fail.
- `page` (function): a page in a fresh context (zh-CN, Asia/Shanghai, 1280x900) whose
  `base_url` is the live server, so `page.goto("/")` works. Any request to a host other than
  127.0.0.1 is aborted and fails the test.

`screenshot(page, name)` saves tests/browser/artifacts/<name>.png and returns its path.
"""

from __future__ import annotations

import gc
import os
import re
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from flask import Flask
from werkzeug.serving import make_server

from engine.store.db import make_engine
from engine.store.migrate import upgrade
from tests.conftest import ROOT

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Route

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-gpu",
    "--no-first-run",
    "--disable-sync",
    # Chromium still looks up update.googleapis.com and accounts.google.com despite the flags
    # above: resolve no name but 127.0.0.1, so nothing, not even DNS, leaves the machine.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
LOCAL_HOST = "127.0.0.1"
DEFAULT_TIMEOUT_MS = 15_000


@dataclass(frozen=True)
class LiveServer:
    url: str  # http://127.0.0.1:PORT, no trailing slash
    app: Flask


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app on its own migrated SQLite file, after_sales published, served in a thread."""
    from workflows.validate import checked_source
    from wsgi import create_app, services

    url = f"sqlite:///{tmp_path_factory.mktemp('live_server') / 'careloop.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()

    app = create_app({"DATABASE_URL": url, "TESTING": True})
    services(app).publish(checked_source(ROOT / "workflows" / "after_sales"), by="test")

    server = make_server(LOCAL_HOST, 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="careloop-live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://{LOCAL_HOST}:{server.server_port}", app=app)
    finally:
        server.shutdown()  # stops serve_forever
        server.server_close()  # closes the socket, joins the request threads
        thread.join(timeout=10)
        services(app).session_factory.kw["bind"].dispose()


def _browser_unavailable(reason: str) -> None:
    if os.environ.get("CARELOOP_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason}, and CARELOOP_REQUIRE_BROWSER=1 requires the browser tests")
    pytest.skip(f"{reason}: browser tests skipped (install Debian's `chromium` package)")


@pytest.fixture(scope="session")
def browser(live_server: LiveServer) -> Iterator[Browser]:
    """Headless Chromium through one sync Playwright per session.

    It depends on `live_server` so that it closes first: the server joins its request
    threads on shutdown, and Chromium's keep-alive connections would hold them open.
    """
    if not CHROMIUM.exists():
        _browser_unavailable(f"{CHROMIUM} is missing")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A page in a context of its own, closed after the test; relative URLs hit the server."""
    context = browser.new_context(
        base_url=live_server.url,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        viewport={"width": 1280, "height": 900},
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    blocked: list[str] = []

    def stay_local(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).hostname == LOCAL_HOST:
            route.continue_()
        else:
            blocked.append(url)
            route.abort("blockedbyclient")

    context.route("**/*", stay_local)
    try:
        yield context.new_page()
    finally:
        context.close()
    if blocked:
        pytest.fail(f"the page tried to leave {LOCAL_HOST}: {blocked}")


def screenshot(page: Page, name: str) -> Path:
    """Save the whole page as tests/browser/artifacts/<name>.png (git-ignored); return the path."""
    if not re.fullmatch(r"[\w.-]+", name):
        raise ValueError(f"screenshot name {name!r}: letters, digits, '_', '.', '-' only")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# Werkzeug's development server leaves a static file open when the browser drops the
# connection mid-response (a page moving on while a script still downloads); Python then
# reports the unclosed file during some later test. It is the test server's, not the app's.
_DROPPED_DOWNLOAD = (
    r"ignore:Exception ignored in. <_io\.(FileIO|BufferedReader) name=.*static"
    r":pytest.PytestUnraisableExceptionWarning"
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.filterwarnings(_DROPPED_DOWNLOAD))
            item.add_marker(
                pytest.mark.filterwarnings(
                    r"ignore:unclosed file <_io\.BufferedReader name=.*static:ResourceWarning"
                )
            )


@pytest.fixture(autouse=True)
def _collect_dropped_downloads() -> Iterator[None]:
    """Collect such files right after each browser test, so no later test sees them."""
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
