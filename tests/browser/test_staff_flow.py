"""A receptionist's day at the front desk, in real Chromium: sign in, search,
register with the live duplicate warning, add insurance with a card picture,
sign out. axe-core checks each page against WCAG 2.1 A/AA on the way.

Every person here is synthetic: fixed made-up names, 555-01xx phone numbers
and example.org addresses."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser

# Already on file: close to the patient the receptionist is about to register.
EXISTING = {"family_name": "Nunes", "given_name": "Zoe", "birth_date": date(1985, 7, 9),
            "sex": "female", "address_line1": "18 Synthetic Way", "city": "Evanston",
            "state": "IL", "postal_code": "60201", "phone_mobile": "+18475550111",
            "email": "zoe.nunes@example.org", "preferred_language": "en", "races": []}


def sign_in(page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def card_png(tmp_path: Path) -> Path:
    path = tmp_path / "card-front.png"
    picture = Image.new("RGB", (320, 200), (230, 240, 255))
    picture.paste((20, 60, 160), (0, 0, 320, 40))  # a header band, like a real card
    picture.save(path, format="PNG")
    return path


def test_receptionist_registers_patient_with_coverage(page, live_server, create_user,
                                                      create_patient, tmp_path, shot,
                                                      assert_accessible):
    _, username = create_user("receptionist")
    existing_id = create_patient(**EXISTING)

    # Sign in through the real login page (a real CSRF token from the form).
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    shot(page, "login")
    assert_accessible(page, "login page")
    sign_in(page, username)
    expect(page).to_have_url(re.compile(r"/staff/$"))
    expect(page.get_by_role("heading", name="Find a patient")).to_be_visible()
    expect(page.get_by_text(f"{username} (receptionist)")).to_be_visible()

    # Search first: nobody called Ñúñez yet (Nunes is not a prefix match).
    page.get_by_label("Name, date of birth, phone or MRN", exact=True).fill("ñúñez zoë")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_role("heading", name="0 matches")).to_be_visible()
    expect(page.get_by_text("No patient matches.")).to_be_visible()
    shot(page, "search-no-match")
    assert_accessible(page, "search page, no match")

    page.get_by_role("button", name="Register new patient", exact=True).click()
    expect(page.get_by_role("heading", name="Register a new patient")).to_be_visible()
    # What was searched for is carried over (POSTed: no name in the URL)...
    expect(page).to_have_url(re.compile(r"/staff/patients/new$"))
    expect(page.get_by_label("Family (last) name", exact=True)).to_have_value("Ñúñez")
    expect(page.get_by_label("Given (first) name", exact=True)).to_have_value("Zoë")
    # ...and nothing is chosen for the patient that the desk did not choose.
    expect(page.get_by_label("Sex (administrative)", exact=True)).to_have_value("")
    shot(page, "register-from-search")
    assert_accessible(page, "register form, from a search")

    # The live warning appears while typing, before anything is submitted.
    live = page.locator("#duplicate-live")
    page.get_by_label("Family (last) name", exact=True).fill("")
    page.get_by_label("Given (first) name", exact=True).fill("")
    page.get_by_label("Family (last) name", exact=True).press_sequentially("Ñúñez", delay=20)
    page.get_by_label("Given (first) name", exact=True).press_sequentially("Zoë", delay=20)
    with page.expect_response(lambda r: r.url.endswith("/staff/patients/duplicates")
                              and r.request.method == "POST") as probe:
        page.get_by_label("Date of birth", exact=True).fill("1985-07-09")
    assert probe.value.status == 200
    warning = live.locator("#duplicate-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("Nunes, Zoe")
    expect(warning).to_contain_text("same date of birth")
    expect(warning.get_by_role("link", name="Open chart (new tab)", exact=True)).to_have_attribute(
        "href", f"/staff/patients/{existing_id}")
    expect(page).to_have_url(re.compile(r"/staff/patients/new$"))  # still not submitted
    shot(page, "register-live-duplicate-warning")
    assert_accessible(page, "register form, live duplicate warning")

    # The rest of the form, with a ZIP code one digit short.
    page.get_by_label("Sex (administrative)", exact=True).select_option("female")
    page.get_by_label("Street address", exact=True).fill("400 Example Ave")
    page.get_by_label("City", exact=True).fill("Chicago")
    page.get_by_label("State", exact=True).select_option("IL")
    page.get_by_label("ZIP code", exact=True).fill("6061")
    page.get_by_label("Mobile phone", exact=True).fill("(312) 555-0199")
    page.get_by_label("Email", exact=True).fill("zoe.nunez@example.org")
    page.get_by_label("Preferred language", exact=True).select_option("es")
    page.get_by_role("button", name="Register patient", exact=True).click()

    zip_code = page.get_by_label("ZIP code", exact=True)
    expect(page.get_by_role("alert")).to_contain_text("Please correct the 1 field")
    expect(page.locator("#postal_code-error")).to_have_text(
        "Enter a 5-digit ZIP code, for example 62704.")
    expect(zip_code).to_have_attribute("aria-invalid", "true")
    expect(zip_code).to_have_attribute("aria-describedby", "postal_code-error")
    for label, typed in [("Family (last) name", "Ñúñez"), ("Given (first) name", "Zoë"),
                         ("Date of birth", "1985-07-09"), ("Street address", "400 Example Ave"),
                         ("City", "Chicago"), ("ZIP code", "6061"),
                         ("Mobile phone", "(312) 555-0199"), ("Email", "zoe.nunez@example.org")]:
        expect(page.get_by_label(label, exact=True)).to_have_value(typed)
    expect(page.get_by_label("State", exact=True)).to_have_value("IL")
    expect(page.get_by_label("Preferred language", exact=True)).to_have_value("es")
    # The message sits next to the field: right below it, in the same column.
    field_box = zip_code.bounding_box()
    error_box = page.locator("#postal_code-error").bounding_box()
    assert field_box and error_box
    assert 0 <= error_box["y"] - (field_box["y"] + field_box["height"]) < 40
    assert abs(error_box["x"] - field_box["x"]) < 5
    shot(page, "register-bad-zip")
    assert_accessible(page, "register form with errors")

    # Fixed; the save-time check stops on the likely duplicate.
    zip_code.fill("60611")
    page.get_by_role("button", name="Register patient", exact=True).click()
    server_warning = page.locator("main > form #duplicate-warning")
    expect(server_warning).to_be_visible()
    expect(server_warning).to_contain_text("Nunes, Zoe")
    expect(server_warning).to_contain_text('tick "this is a new patient"')
    shot(page, "register-server-duplicate-warning")
    assert_accessible(page, "register form, save-time duplicate warning")

    page.get_by_label("I checked the possible matches: this is a new patient", exact=True).check()
    page.get_by_role("button", name="Register patient", exact=True).click()
    expect(page).to_have_url(re.compile(r"/staff/patients/\d+$"))
    assert not page.url.endswith(f"/staff/patients/{existing_id}")
    expect(page.get_by_role("status")).to_contain_text(re.compile(r"Registered\. MRN \d{10}\."))
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text("Ñúñez, Zoë")
    assert heading.inner_text() == "Ñúñez, Zoë"  # exactly, composed, nothing mangled
    expect(page.get_by_text("(312) 555-0199")).to_be_visible()
    expect(page.get_by_text("No active coverage.")).to_be_visible()
    shot(page, "chart-new")

    # Primary insurance with a picture of the card front.
    page.get_by_role("link", name="Add coverage", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("^Add coverage"))).to_be_visible()
    expect(page.get_by_label("Order", exact=True)).to_have_value("1")
    shot(page, "coverage-form")
    assert_accessible(page, "coverage form")
    page.get_by_label("Payer", exact=True).select_option(label="Aetna (Commercial)")
    page.get_by_label("Member id", exact=True).fill("SYN000111222")
    page.get_by_label("Group number", exact=True).fill("G-TEST-01")
    page.get_by_label("Plan name", exact=True).fill("Synthetic PPO")
    page.get_by_label("Effective date", exact=True).fill("2026-01-01")
    page.get_by_label("Copay ($)", exact=True).fill("25.00")
    page.get_by_label("Card front (photo)", exact=True).set_input_files(card_png(tmp_path))
    page.get_by_role("button", name="Save coverage", exact=True).click()

    expect(page.get_by_role("status")).to_have_text("Coverage added.")
    coverage = page.locator(".coverage[data-rank='1']")
    expect(coverage.get_by_role("heading")).to_have_text("Primary: Aetna")
    expect(coverage).to_contain_text("SYN000111222")
    expect(coverage).to_contain_text("$25.00")
    thumb = coverage.get_by_role("img", name="Card front")
    expect(thumb).to_be_visible()
    assert thumb.evaluate("img => img.complete && img.naturalWidth > 0")
    shot(page, "chart-with-coverage")
    assert_accessible(page, "patient chart with coverage")

    # Sign out: back to the login page, and the chart is no longer reachable.
    chart_url = page.url
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    shot(page, "signed-out")
    page.goto(chart_url)
    expect(page).to_have_url(re.compile(r"/login\?next="))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_search_results_and_admin_pages_are_accessible(page, live_server, create_user,
                                                       create_patient, shot,
                                                       assert_accessible):
    create_user("receptionist", username="desk.synthetic")
    _, admin = create_user("admin")
    create_patient(**EXISTING)
    create_patient(**{**EXISTING, "given_name": "Zara", "birth_date": date(1990, 1, 2),
                      "phone_mobile": "+18475550112", "email": "zara.nunes@example.org"})

    sign_in(page, admin)
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.get_by_role("cell", name="desk.synthetic", exact=True)).to_be_visible()
    shot(page, "admin-users")
    assert_accessible(page, "admin users page")

    page.get_by_role("link", name="Find patient", exact=True).click()
    page.get_by_label("Name, date of birth, phone or MRN", exact=True).fill("nunes")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_role("heading", name="2 matches")).to_be_visible()
    expect(page.get_by_role("link", name="Nunes, Zara", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Nunes, Zoe", exact=True)).to_be_visible()
    shot(page, "search-results")
    assert_accessible(page, "search page with results")

    page.get_by_role("link", name="Admin", exact=True).click()
    page.get_by_role("link", name="Audit log", exact=True).click()
    expect(page.get_by_role("cell", name="patient.search", exact=True).first).to_be_visible()
    expect(page.get_by_role("cell", name="auth.login", exact=True).first).to_be_visible()
    shot(page, "admin-audit")
    assert_accessible(page, "admin audit page")
