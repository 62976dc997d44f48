"""A whole front-desk day in real Chromium: the admin checks the practice, a
receptionist registers a patient and adds insurance, creates today's visit,
moves it across the board (check-in with the review boxes, once by keyboard
only), enters diagnoses and procedure lines, takes the copay, takes and voids
a check, checks the patient out, locks the charges for billing, closes the day
and opens the patient's balance. axe-core checks every desk page on the way.

Every person here is synthetic: made-up names, 555-01xx phones and
example.org addresses."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser

FIXTURES = Path(__file__).resolve().parents[1] / "codes" / "fixtures"
DESK_SHOTS = SCREENSHOTS / "desk"

# On file before the day starts, with a visit today and an early cash copay.
REGULAR = {"family_name": "Okafor", "given_name": "Adaeze", "birth_date": date(1962, 2, 3),
           "sex": "female", "address_line1": "7 Synthetic Row", "city": "Springfield",
           "state": "IL", "postal_code": "62701", "phone_mobile": "+12175550121",
           "email": "adaeze.okafor@example.org", "preferred_language": "en", "races": []}


def money(cents: int) -> str:
    return f"${cents // 100:,}.{cents % 100:02d}"


def sign_in(page: Any, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page).to_have_url(re.compile(r"/login$"))


def status(page: Any) -> Any:
    return page.get_by_role("status")


def section_of(page: Any, heading: str) -> Any:
    """The <section> whose heading starts with this text."""
    return page.locator("section", has=page.get_by_role(
        "heading", name=re.compile("^" + re.escape(heading))))


def table_rows(page: Any, selector: str) -> dict[str, str]:
    """A two-column report table as {row header: value}."""
    return {row.locator("th").inner_text().strip(): row.locator("td").inner_text().strip()
            for row in page.locator(f"{selector} tbody tr").all()}


@pytest.fixture
def desk_shot() -> Callable[[Any, str], None]:
    """Full-page screenshots under test-artifacts/screenshots/desk/."""
    DESK_SHOTS.mkdir(parents=True, exist_ok=True)
    count = [0]

    def take(page: Any, step: str) -> None:
        count[0] += 1
        page.screenshot(path=str(DESK_SHOTS / f"{count[0]:02d}-{step}.png"), full_page=True)
    return take


@pytest.fixture
def office_day(app, create_user, create_provider, create_patient, create_coverage,
               create_visit) -> dict[str, Any]:
    """What is in place before the doors open: staff, a provider, two fees,
    this year's code tables, and one regular patient already seen to."""
    from intake.codes.importers import import_icd10cm
    from intake.extensions import db
    from intake.models import Patient, Visit
    from intake.services import clock, payments, practice

    _, admin = create_user("admin", username="office.admin")
    _, desk = create_user("receptionist", username="front.desk")
    early_id, early = create_user("receptionist", username="early.shift")
    provider_id = create_provider()

    instance = Path(app.instance_path)
    # ICD-10-CM FY2027 runs 2026-10-01 to 2027-09-30: in force today.
    import_icd10cm(FIXTURES / "icd10cm-order-2027.txt", instance, year=2027)
    # HCPCS and modifiers: the bundled CMS January 2026 file (J1100 is in force).

    with app.app_context():
        practice.save_fee("99213", 150_00, "Office visit, established, low")
        practice.save_fee("J1100", 18_50, "Dexamethasone 1 mg inj")
        db.session.commit()
        today = clock.today()

    regular_id = create_patient(**REGULAR)
    create_coverage(regular_id, copay_cents=20_00)
    regular_visit = create_visit(regular_id, day=today, provider_id=provider_id,
                                 reason="Annual wellness")
    with app.app_context():
        payments.record_payment(db.session.get(Patient, regular_id),
                                {"kind": "copay", "method": "cash", "amount_cents": 20_00},
                                visit=db.session.get(Visit, regular_visit),
                                received_by_id=early_id)
        db.session.commit()
    return {"admin": admin, "desk": desk, "early": early, "today": today,
            "regular_visit": regular_visit}


def non_voided_payments(app: Any, day: date) -> list[tuple[str, str, int]]:
    """(method, staff, cents) of the day's payments not voided, read from the
    database, independently of the report's own query."""
    from intake.extensions import db
    from intake.models import Payment
    from intake.services.clock import day_bounds

    with app.app_context():
        start, end = day_bounds(day)
        rows = db.session.execute(db.select(Payment).where(
            Payment.received_at >= start, Payment.received_at < end)).scalars().all()
        result = [(p.method, p.received_by.username, p.amount_cents) for p in rows if not p.voided]
        db.session.remove()
        return result


def test_front_desk_day(page, live_server, app, office_day, desk_shot, assert_accessible):
    today: date = office_day["today"]
    us_today = today.strftime("%m/%d/%Y")

    # -- The admin: practice settings and the fee schedule ------------------
    sign_in(page, office_day["admin"])
    page.get_by_role("link", name="Practice & providers", exact=True).click()
    expect(page).to_have_url(re.compile(r"/admin/practice$"))
    expect(page.get_by_role("cell", name="Jane Hartley, MD", exact=True)).to_be_visible()
    expect(page.get_by_label("Default place of service", exact=False)).to_have_value("11")
    page.get_by_label("Practice name", exact=False).fill("Synthetic Family Medicine")
    page.get_by_role("button", name="Save practice", exact=True).click()
    expect(status(page)).to_have_text("Practice settings saved.")
    desk_shot(page, "admin-practice")
    assert_accessible(page, "admin practice page")

    page.get_by_role("link", name="Fee schedule", exact=True).click()
    expect(page.get_by_role("cell", name="99213", exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name="$18.50", exact=True)).to_be_visible()
    desk_shot(page, "admin-fees")
    assert_accessible(page, "admin fee schedule")
    sign_out(page)

    # -- The receptionist registers a new patient and her insurance ---------
    sign_in(page, office_day["desk"])
    page.get_by_role("link", name="Register patient", exact=True).click()
    page.get_by_label("Family (last) name", exact=True).fill("Castellanos")
    page.get_by_label("Given (first) name", exact=True).fill("Marisol")
    page.get_by_label("Date of birth", exact=True).fill("1979-05-21")
    page.get_by_label("Sex (administrative)", exact=True).select_option("female")
    page.get_by_label("Street address", exact=True).fill("52 Example Court")
    page.get_by_label("City", exact=True).fill("Peoria")
    page.get_by_label("State", exact=True).select_option("IL")
    page.get_by_label("ZIP code", exact=True).fill("61602")
    page.get_by_label("Mobile phone", exact=True).fill("(309) 555-0148")
    page.get_by_label("Email", exact=True).fill("marisol.c@example.org")
    page.get_by_role("button", name="Register patient", exact=True).click()
    expect(page).to_have_url(re.compile(r"/staff/patients/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Castellanos, Marisol")
    patient_id = int(page.url.rsplit("/", 1)[1])

    page.get_by_role("link", name="Add coverage", exact=True).click()
    page.get_by_label("Payer", exact=True).select_option(label="Aetna (Commercial)")
    page.get_by_label("Member id", exact=True).fill("SYN000333444")
    page.get_by_label("Group number", exact=True).fill("G-DESK-01")
    page.get_by_label("Effective date", exact=True).fill("2026-01-01")
    page.get_by_label("Copay ($)", exact=True).fill("30.00")
    page.get_by_role("button", name="Save coverage", exact=True).click()
    expect(status(page)).to_have_text("Coverage added.")
    expect(page.locator(".coverage[data-rank='1']")).to_contain_text("$30.00")

    # -- A visit for today, from the chart ---------------------------------
    page.get_by_role("link", name="New visit", exact=True).click()
    expect(page.get_by_label("Date of service", exact=True)).to_have_value(today.isoformat())
    expect(page.get_by_label("Place of service", exact=True)).to_have_value("11")
    page.get_by_label("Provider", exact=True).select_option(label="Jane Hartley, MD")
    page.get_by_label("Reason for visit", exact=True).fill("Cough; blood pressure check")
    desk_shot(page, "visit-form")
    assert_accessible(page, "new visit form")
    page.get_by_role("button", name="Create visit", exact=True).click()
    expect(status(page)).to_have_text("Visit created.")
    expect(page).to_have_url(re.compile(r"/staff/visits/\d+$"))
    visit_url = page.url

    # -- The board: arrived, then check in ---------------------------------
    page.clock.install()  # the board's self-refresh is checked with a fake clock
    page.get_by_role("link", name="Today's board", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Visits today {us_today}")
    board = page.locator("table.board")
    expect(board.get_by_role("row")).to_have_count(3)  # header + both patients
    board.get_by_role("button", name=re.compile("^Arrived Castellanos")).click()
    expect(status(page)).to_have_text("Arrived.")
    row = board.get_by_role("row", name=re.compile("Castellanos, Marisol"))
    expect(row).to_contain_text("Arrived")
    expect(row).to_contain_text(re.compile(r"\d+ min"))
    desk_shot(page, "board")
    assert_accessible(page, "board")

    # It refreshes itself, and a receptionist can pause that (WCAG 2.2.1).
    expect(page.locator("head meta[http-equiv='refresh']")).to_have_count(0)
    with page.expect_navigation(url=re.compile(r"/staff/board")):
        page.clock.fast_forward("00:31")
    pause = page.get_by_label("Pause refreshing", exact=True)
    pause.check()
    page.clock.fast_forward("01:05")
    expect(pause).to_be_checked()  # still the same page: no reload

    row.get_by_role("link", name=re.compile("^Check in Castellanos")).click()
    expect(page).to_have_url(re.compile(r"/staff/visits/\d+#check-in$"))
    # Without the review boxes: refused, each message beside its box.
    page.locator("#check-in").get_by_role("button", name="Check in", exact=True).click()
    demographics = page.get_by_label("Demographics reviewed with the patient today", exact=True)
    insurance = page.get_by_label("Insurance card and coverage reviewed today", exact=True)
    expect(page.locator("#demographics_reviewed-error")).to_have_text(
        "Confirm the patient's details were reviewed today.")
    expect(page.locator("#insurance_reviewed-error")).to_have_text(
        "Confirm the insurance was reviewed today.")
    expect(demographics).to_have_attribute("aria-invalid", "true")
    expect(demographics).to_have_attribute("aria-describedby", "demographics_reviewed-error")
    box = demographics.bounding_box()
    message = page.locator("#demographics_reviewed-error").bounding_box()
    assert box and message and 0 <= message["y"] - (box["y"] + box["height"]) < 40
    desk_shot(page, "check-in-refused")
    assert_accessible(page, "visit page, check-in refused")

    # By keyboard only: Tab to the first box, Space, Tab, Space, Tab, Enter.
    for _ in range(40):  # from the top of the page
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "demographics_reviewed":
            break
    else:
        pytest.fail("Tab never reached the demographics box")
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "insurance_reviewed"
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Check in"
    expect(demographics).to_be_checked()
    expect(insurance).to_be_checked()
    page.keyboard.press("Enter")
    expect(status(page)).to_have_text("Checked in.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Checked in")

    page.get_by_role("button", name="With provider", exact=True).click()
    expect(status(page)).to_have_text("With provider.")

    # -- Diagnoses: a header is refused with its billable codes offered -----
    dx = page.get_by_label("ICD-10-CM code", exact=True)
    add_dx = page.get_by_role("button", name="Add diagnosis", exact=True)
    dx.fill("E11")
    add_dx.click()
    dx_error = page.locator("#diagnosis-code-error")
    expect(dx_error).to_contain_text("E11 is a header, not billable")
    expect(dx_error).to_contain_text("E11.9")
    expect(dx_error).to_contain_text("E11.65")
    expect(dx).to_have_value("E11")
    desk_shot(page, "diagnosis-header-refused")
    for code in ("E11.9", "I10"):
        dx.fill(code)
        add_dx.click()
        expect(status(page)).to_contain_text(f": {code} added.")
    diagnoses = page.locator("li.diagnosis")
    expect(diagnoses).to_have_count(2)
    expect(diagnoses.nth(0)).to_contain_text("E11.9")
    expect(diagnoses.nth(1)).to_contain_text("I10")

    # -- Procedure lines: a bad pointer first, values kept ------------------
    code = page.get_by_label("CPT / HCPCS code", exact=True)
    pointers = page.get_by_label("Diagnosis pointers", exact=True)
    add_line = page.get_by_role("button", name="Add procedure line", exact=True)
    code.fill("99213")
    pointers.fill("5")
    add_line.click()
    expect(page.locator("#pointers-error")).to_have_text("There is no diagnosis 5 on this visit.")
    expect(code).to_have_value("99213")
    expect(pointers).to_have_value("5")
    expect(pointers).to_have_attribute("aria-invalid", "true")
    desk_shot(page, "line-bad-pointer")
    assert_accessible(page, "visit page, bad pointer")
    pointers.fill("1,2")
    add_line.click()
    expect(status(page)).to_have_text("Line 1: 99213 added.")
    code.fill("j1100")
    pointers.fill("1")
    add_line.click()
    expect(status(page)).to_have_text("Line 2: J1100 added.")
    lines = page.locator("tr.charge-line")
    expect(lines).to_have_count(2)
    expect(lines.nth(0)).to_contain_text("1,2")
    expect(lines.nth(0)).to_contain_text("$150.00")
    expect(lines.nth(0)).to_contain_text("not verified")  # no licensed CPT table here
    expect(lines.nth(1)).to_contain_text("dexamethasone sodium phosphate, 1 mg")
    expect(lines.nth(1)).to_contain_text("$18.50")
    charged = 150_00 + 18_50
    expect(page.locator("#charges tfoot")).to_contain_text(money(charged))
    desk_shot(page, "visit-with-charges")
    assert_accessible(page, "visit page with charges")

    # -- The copay, prefilled from the primary coverage ---------------------
    page.get_by_role("link", name="Take payment", exact=True).click()
    expect(page.get_by_label("Amount ($)", exact=True)).to_have_value("30.00")
    expect(page.get_by_label("For", exact=True)).to_have_value("copay")
    expect(page.get_by_label("For visit", exact=True)).to_have_value(visit_url.rsplit("/", 1)[1])
    page.get_by_label("Paid by", exact=True).select_option("card")
    desk_shot(page, "payment-form")
    assert_accessible(page, "payment form")
    page.get_by_role("button", name="Record payment and print receipt", exact=True).click()
    expect(status(page)).to_contain_text(re.compile(r"Payment recorded\. Receipt R\d{8}\."))
    receipt = page.locator("article.receipt")
    expect(receipt).to_contain_text("Synthetic Family Medicine")
    expect(receipt).to_contain_text("Marisol Castellanos")
    expect(receipt).to_contain_text("$30.00")
    expect(receipt).to_contain_text("Copay")
    expect(receipt).to_contain_text("front.desk")
    desk_shot(page, "receipt")
    assert_accessible(page, "receipt")

    # -- A check taken by mistake, then voided with a reason ----------------
    page.goto(visit_url)
    page.get_by_role("link", name="Take payment", exact=True).click()
    page.get_by_label("For", exact=True).select_option("self_pay")
    page.get_by_label("Amount ($)", exact=True).fill("40.00")
    page.get_by_label("Paid by", exact=True).select_option("check")
    page.get_by_role("button", name="Record payment and print receipt", exact=True).click()
    expect(page.locator("#check_number-error")).to_have_text("Enter the check number.")
    expect(page.get_by_label("Amount ($)", exact=True)).to_have_value("40.00")
    page.get_by_label("Check number", exact=True).fill("1042")
    page.get_by_role("button", name="Record payment and print receipt", exact=True).click()
    expect(page.locator("article.receipt")).to_contain_text("Check no. 1042")
    page.get_by_text("Void this payment", exact=True).click()
    page.get_by_label("Reason for the void", exact=True).fill("Check entered for the wrong patient")
    page.get_by_role("button", name="Void payment", exact=True).click()
    expect(status(page)).to_contain_text(re.compile(r"Payment R\d{8} voided\."))
    expect(page.locator("article.receipt")).to_contain_text("VOIDED")
    expect(page.locator("article.receipt")).to_contain_text("Check entered for the wrong patient")
    desk_shot(page, "receipt-voided")

    # -- Check out, lock the charges ---------------------------------------
    page.goto(visit_url)
    page.get_by_role("button", name="Check out", exact=True).click()
    expect(status(page)).to_have_text("Checked out.")
    page.get_by_role("button", name="Lock charges: ready for billing", exact=True).click()
    expect(status(page)).to_have_text("Charges locked: ready for billing.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Billed")
    expect(page.get_by_label("ICD-10-CM code", exact=True)).to_have_count(0)
    payments_section = section_of(page, "Payments for this visit")
    expect(payments_section.get_by_role("listitem")).to_have_count(2)
    desk_shot(page, "visit-locked")

    # -- Close of day: the totals are the non-voided payments ---------------
    page.get_by_role("link", name="Close of day", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Close of day: {us_today}")
    kept = non_voided_payments(app, today)
    assert sorted(kept) == [("card", "front.desk", 30_00), ("cash", "early.shift", 20_00)]
    expect(page.locator("#day-total")).to_have_text(money(sum(c for _, _, c in kept)))
    expect(page.get_by_text(re.compile(r"in 2 payments; 1 voided \(\$40\.00, not counted\)"))
           ).to_be_visible()
    by_method = {label: 0 for label in ("Cash", "Card", "Check", "Other")}
    by_staff: dict[str, int] = {}
    for method, staff, cents in kept:
        by_method[method.capitalize()] += cents
        by_staff[staff] = by_staff.get(staff, 0) + cents
    assert table_rows(page, "#by-method") == {k: money(v) for k, v in by_method.items()}
    assert table_rows(page, "#by-staff") == {k: money(v) for k, v in by_staff.items()}
    visits_table = section_of(page, "Visits by state")
    expect(visits_table.get_by_role("row", name="Checked out")).to_contain_text("1")
    expect(visits_table.get_by_role("row", name="Scheduled")).to_contain_text("1")
    desk_shot(page, "close-of-day")
    assert_accessible(page, "close of day")

    # -- The patient's balance --------------------------------------------
    page.goto(f"/staff/patients/{patient_id}")
    page.get_by_role("link", name="Balance", exact=True).click()
    foot = page.locator("tfoot")
    expect(foot.get_by_role("row", name=re.compile("^Total"))).to_contain_text(money(charged))
    expect(foot.get_by_role("row", name=re.compile("^Total"))).to_contain_text("$30.00")
    expect(foot.get_by_role("row", name=re.compile("^Charged less paid"))).to_contain_text(
        money(charged - 30_00))
    visit_row = page.locator("tbody tr").first
    expect(visit_row).to_contain_text(us_today)
    expect(visit_row).to_contain_text("$40.00")  # the voided check, shown apart
    desk_shot(page, "balance")
    assert_accessible(page, "patient balance")
