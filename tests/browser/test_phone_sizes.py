"""Staff pages on a phone (390x844), a tablet (1024x768) and a desktop: the
menu folds behind a Menu button on the phone, no page is wider than the
screen (wide tables scroll inside themselves), and the board's buttons are
reachable. Screenshots at the three sizes into test-artifacts/screenshots/.
Synthetic people only."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_staff_flow import sign_in

pytestmark = pytest.mark.browser
SIZES = {"phone": (390, 844), "tablet": (1024, 768), "desktop": (1280, 900)}
PAGES = ["/staff/", "/staff/board", "/staff/schedule/day", "/staff/schedule/week", "/staff/kiosk", "/staff/day",
         "/staff/reminders", "/staff/duplicates", "/billing/", "/billing/exports",
         "/admin/", "/admin/audit", "/admin/kiosks", "/admin/practice", "/admin/payers", "/admin/schedule"]


def test_every_staff_page_fits_a_phone(browser, live_server, create_user, create_patient,
                                       create_visit):
    pid = create_patient()
    create_visit(pid)
    _, username = create_user("admin")
    for size, (width, height) in SIZES.items():
        context = browser.new_context(base_url=live_server.url, locale="en-US",
                                      viewport={"width": width, "height": height})
        context.set_default_timeout(10_000)
        try:
            page = context.new_page()
            sign_in(page, username)
            menu = page.get_by_role("button", name="Menu")
            if size == "phone":
                # Folded: the links are hidden until Menu is pressed.
                expect(menu).to_be_visible()
                expect(page.get_by_role("link", name="Today's board")).to_be_hidden()
                menu.click()
                expect(menu).to_have_attribute("aria-expanded", "true")
                expect(page.get_by_role("link", name="Today's board")).to_be_visible()
                page.screenshot(path=str(SCREENSHOTS / f"phone-menu-open-{size}.png"))
            else:
                expect(page.get_by_role("link", name="Today's board")).to_be_visible()
            for path in PAGES:
                response = page.goto(path)
                assert response is not None and response.status < 400, (path, size)
                wide = page.evaluate("document.documentElement.scrollWidth")
                assert wide <= width, f"{path} is {wide}px wide at {size} ({width}px)"
                name = re.sub(r"\W+", "-", path.strip("/")) or "search"
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SCREENSHOTS / f"sizes-{size}-{name}.png"), full_page=True)
            # The board's buttons: every one can be scrolled to and is inside the page.
            page.goto("/staff/board")
            for button in page.locator("main button").all():
                button.scroll_into_view_if_needed()
                box = button.bounding_box()
                assert box is not None and box["x"] >= 0, (size, box)
        finally:
            context.close()
