"""The billing clerk's workspace in real Chromium: a visit that never
happened is not ready; preview is not an export; an export lists its visits
and downloads again byte for byte with its checksum shown; the work list
marks the exported visit with its export. Synthetic people only."""

from __future__ import annotations

import hashlib

import pytest

from intake.extensions import db
from intake.services import charges, practice
from intake.services.scrubber import load_visit_for_claim
from tests.browser.test_staff_flow import sign_in
from tests.conftest import FY2026_DAY, check_out_past_visit

pytestmark = pytest.mark.browser


@pytest.fixture
def day(app, create_user, create_patient, create_coverage, create_visit):
    create_user("billing", username="bella")
    seen = create_patient(family_name="Quill", given_name="Rosa", phone_mobile="+13125550161")
    create_coverage(seen)
    never = create_patient(family_name="Marsh", given_name="Tom", phone_mobile="+13125550162")
    create_coverage(never)
    seen_id = create_visit(seen, day=FY2026_DAY)
    never_id = create_visit(never, day=FY2026_DAY)  # still scheduled: it never happened
    with app.app_context():
        practice.save_practice({"name": "Lakeside Family Medicine", "npi": "1245319599",
                                "default_pos": "11"})
        for vid in (seen_id, never_id):
            visit = load_visit_for_claim(vid)
            charges.add_diagnosis(visit, "E11.9")
            charges.save_line(visit, {"code": "99213", "pointers": [1], "unit_price_cents": 9000})
        visit = load_visit_for_claim(seen_id)
        check_out_past_visit(visit)
        charges.lock(visit)
        db.session.commit()
    return seen_id, never_id


def test_preview_export_history_and_download_again(page, day, tmp_path, shot, assert_accessible):
    seen_id, never_id = day
    sign_in(page, "bella")
    # "All": the visit never seen is listed apart by default (nothing to bill yet).
    page.goto(f"/billing/?date_from={FY2026_DAY}&date_to={FY2026_DAY}&show=all")
    rows = page.locator("tr.billing-row")
    never_row = rows.filter(has_text="Marsh")
    seen_row = rows.filter(has_text="Quill")
    assert "not checked out" in never_row.inner_text()
    assert never_row.get_by_role("button", name="Export").count() == 0
    assert "Ready" in seen_row.inner_text()
    assert_accessible(page, "billing work list")
    shot(page, "worklist")

    # Preview: the bundle opens, and nothing is recorded.
    with page.context.expect_page() as preview_info:
        seen_row.get_by_role("link", name="Preview").click()
    preview = preview_info.value
    preview.wait_for_load_state()
    assert '"resourceType": "Bundle"' in preview.content() or "Bundle" in preview.content()
    preview.close()
    page.reload()
    assert page.locator("tr.billing-row").filter(has_text="Quill").locator("td.exported").inner_text().strip() == "—"

    # Export: a download, recorded.
    with page.expect_download() as download_info:
        page.locator("tr.billing-row").filter(has_text="Quill").get_by_role("button", name="Export").click()
    first = tmp_path / "first.json"
    download_info.value.save_as(first)
    checksum = hashlib.sha256(first.read_bytes()).hexdigest()
    page.reload()
    exported = page.locator("tr.billing-row").filter(has_text="Quill").locator("td.exported")
    assert "Exported" in exported.inner_text() and "export #1" in exported.inner_text()

    # History: the visits in the file, its checksum, and the same bytes again.
    exported.get_by_role("link", name="export #1").click()
    row = page.locator("#export-1")
    assert "Quill, Rosa" in row.locator(".export-visits").inner_text()
    assert row.locator("code.sha256").inner_text() == checksum
    assert_accessible(page, "export history")
    shot(page, "history")
    with page.expect_download() as again_info:
        row.get_by_role("link", name="Download again").click()
    again = tmp_path / "again.json"
    again_info.value.save_as(again)
    assert again.read_bytes() == first.read_bytes()
