"""Real-browser fixtures: the app served on a free local port with CSRF on,
and Debian's Chromium driven by Playwright (it cannot download its own
browsers here). A missing Chromium fails the tests; it never skips them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask

if TYPE_CHECKING:
    from tests.conftest import LiveServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    """The shared factories (create_user, create_patient...) write through this
    app, and the live server serves it: a real browser means real CSRF."""
    return make_app(WTF_CSRF_ENABLED=True)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: run tools/ensure-chromium (or `make test`).")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    """A fresh context (cookies, storage) per test; closed before the server stops."""
    context = browser.new_context(base_url=live_server.url, locale="en-US",
                                  viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Any, str], None]:
    """Save a full-page screenshot as an artefact: <test>-<nn>-<step>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    test = request.node.name
    count = [0]

    def take(page: Any, step: str) -> None:
        count[0] += 1
        page.screenshot(path=str(SCREENSHOTS / f"{test}-{count[0]:02d}-{step}.png"), full_page=True)
    return take


@pytest.fixture(scope="session")
def axe() -> Any:
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


@pytest.fixture
def assert_accessible(axe: Any) -> Callable[[Any, str], None]:
    """axe-core on the page as it is now, WCAG 2.1 A and AA rules only."""
    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}

    def check(page: Any, what: str) -> None:
        results = axe.run(page, options=options)
        assert results.violations_count == 0, (
            f"{what}: {results.violations_count} WCAG 2.1 A/AA violation(s)\n"
            f"{results.generate_report()}")
    return check
