"""In a real browser, on today's date with only the bundled tables (ICD-10-CM
FY2026 ended 09/30/2026): a receptionist codes today's visit (provisional
diagnosis with its badge, a HCPCS line with modifier 25) and locks it; the
admin sees the banner, has a bad file refused with its line, imports the
FY2027 order file through the preview and confirmation, and the held visit
is re-checked; billing sees the result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import TEST_PASSWORD

FIXTURES = Path(__file__).resolve().parents[1] / "codes" / "fixtures"


def sign_in(page: Any, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


pytestmark = pytest.mark.browser


def test_provisional_coding_then_admin_import(page, live_server, app, create_user, create_provider,
                                               create_patient, create_visit, shot, assert_accessible):
    from intake.extensions import db
    from intake.services import clock, practice

    _, admin = create_user("admin", username="codes.admin")
    _, desk = create_user("receptionist", username="codes.desk")
    _, billing = create_user("billing", username="codes.billing")
    provider_id = create_provider()
    with app.app_context():
        practice.save_fee("G0439", 175_00, "Annual wellness visit, subsequent")
        db.session.commit()
        today = clock.today()
    assert today.month >= 10 or today.year > 2026, "this flow needs a date after ICD-10-CM FY2026"
    visit_id = create_visit(create_patient(), day=today, provider_id=provider_id, reason="Annual wellness")

    # -- The desk codes today's visit: nothing blocks, the diagnosis is provisional --
    sign_in(page, desk)
    expect(page.locator(".code-table-warning")).to_have_count(0)  # receptionists never see the chore
    page.goto(f"/staff/visits/{visit_id}")
    page.get_by_label("ICD-10-CM code", exact=True).fill("e119")
    page.get_by_role("button", name="Add diagnosis", exact=True).click()
    notice = page.get_by_role("status").first
    expect(notice).to_contain_text("Diagnosis 1: E11.9 added. Provisional: checked against ICD-10-CM FY2026")
    expect(notice).to_contain_text("the practice administrator has been told")
    expect(page.locator("li.diagnosis .provisional")).to_have_text("provisional")
    page.get_by_label("CPT / HCPCS code", exact=True).fill("G0439")
    page.get_by_label("Modifier 1", exact=True).fill("25")
    page.get_by_label("Diagnosis pointers", exact=True).fill("1")
    page.get_by_role("button", name="Add procedure line", exact=True).click()
    expect(page.get_by_role("status").first).to_have_text("Line 1: G0439 added.")
    line = page.locator("tr.charge-line")
    expect(line).to_contain_text("25")
    expect(line.locator(".provisional")).to_have_count(0)  # HCPCS 2026 and CPT modifier 25 are in force
    with app.app_context():  # the patient was seen and left: only a visit that happened is billed
        from intake.models import Visit
        from intake.services import visits

        visit = db.session.get(Visit, visit_id)
        for state in ("arrived", "checked_in", "with_provider", "checked_out"):
            visits.move(visit, state, demographics_reviewed=True, insurance_reviewed=True)
        db.session.commit()
    page.reload()
    page.get_by_role("button", name="Lock charges: ready for billing", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text("Charges locked. Some codes are provisional")
    expect(page.get_by_role("heading", level=1)).to_contain_text("billing holds it")
    assert "intake codes" not in page.content()
    shot(page, "desk-provisional")
    assert_accessible(page, "visit with a provisional diagnosis")
    page.get_by_role("button", name="Sign out", exact=True).click()

    # -- Billing holds it, with the reason --
    sign_in(page, billing)
    page.goto(f"/billing/?date_from={today.isoformat()}&date_to={today.isoformat()}")
    expect(page.locator(".code-table-warning").first).to_contain_text("No ICD-10-CM table covers today")
    expect(page.locator("main")).to_contain_text("the ICD-10-CM FY2027 table is not loaded")
    page.get_by_role("button", name="Sign out", exact=True).click()

    # -- The admin: banner, a bad file refused, then the import with its preview --
    sign_in(page, admin)
    page.goto("/admin/codes")
    expect(page.locator(".code-table-warning").first).to_contain_text("Import ICD-10-CM FY2027")
    expect(page.locator("tr.code-table")).to_have_count(4)
    page.get_by_label("Code system", exact=True).select_option("icd10cm")
    page.get_by_label("File", exact=True).set_input_files(str(FIXTURES / "icd10cm-order-2027-truncated.txt"))
    page.get_by_role("button", name="Check the file", exact=True).click()
    expect(page.locator("main")).to_contain_text("was not imported")
    expect(page.locator("main")).to_contain_text("Nothing was changed.")
    expect(page.locator("tr.code-table")).to_have_count(4)
    shot(page, "import-refused")

    page.get_by_label("Code system", exact=True).select_option("icd10cm")
    page.get_by_label("File", exact=True).set_input_files(str(FIXTURES / "icd10cm-order-2027.txt"))
    page.get_by_role("button", name="Check the file", exact=True).click()
    expect(page.get_by_role("heading", name="Confirm the import of icd10cm-order-2027.txt")).to_be_visible()
    preview = page.locator("section.table-change")
    expect(preview).to_contain_text("FY2027")
    expect(preview).to_contain_text("Compared with ICD-10-CM FY2026")
    expect(preview.locator(".change-counts")).to_contain_text("98,164 deleted")
    shot(page, "import-preview")
    assert_accessible(page, "import preview")
    page.get_by_role("button", name="Import and replace", exact=True).click()
    done = page.locator(".alert-success")
    expect(done).to_contain_text("Imported FY2027: 22 codes")
    expect(done).to_contain_text("Re-checked 1 held visit(s): 1 no longer held on provisional codes")
    expect(page.locator("tr.code-table")).to_have_count(5)
    expect(page.locator("tr.code-table", has_text="FY2027")).to_contain_text("imported")
    expect(page.locator(".code-table-warning", has_text="ICD-10-CM")).to_have_count(0)
    shot(page, "imported")

    # -- The visit is no longer provisional --
    page.goto(f"/staff/visits/{visit_id}")
    expect(page.locator(".provisional")).to_have_count(0)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Billed")
