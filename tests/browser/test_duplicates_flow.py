"""The duplicates worklist and a chart merge with undo, in real Chromium:
an admin scans the practice, reviews a pair, merges field by field, finds
the retired chart's MRN in search, and undoes the merge. axe-core checks
each new page. Synthetic people only (555-01xx phones, example.org)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import expect

from tests.browser.test_staff_flow import sign_in

pytestmark = pytest.mark.browser

FIRST = {"family_name": "Johnson", "given_name": "Margaret", "birth_date": date(1975, 6, 21),
         "sex": "female", "phone_mobile": "+12175550101", "email": None}
SECOND = {"family_name": "Jonson", "given_name": "Peggy", "birth_date": date(1975, 6, 21),
          "sex": "female", "phone_mobile": "+12175550101", "email": "peggy@example.org"}


def test_admin_reviews_merges_and_undoes(page, live_server, create_user, create_patient, shot,
                                         assert_accessible, app):
    from intake.extensions import db
    from intake.models import Patient

    _, username = create_user("admin")
    first, second = create_patient(**FIRST), create_patient(**SECOND)
    with app.app_context():
        retired_mrn = db.session.get(Patient, second).mrn
    sign_in(page, username)

    page.get_by_role("link", name="Duplicates", exact=True).click()
    expect(page.get_by_role("heading", name="Duplicate charts")).to_be_visible()
    expect(page.get_by_text("No scan yet.")).to_be_visible()
    page.get_by_role("button", name="Scan all charts now").click()
    expect(page.locator("#scan-status")).to_contain_text("done, 2 of 2 charts, 1 new pair")
    row = page.locator("tr.duplicate-pair")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Jonson")
    expect(row).to_contain_text("nickname")
    shot(page, "duplicates-worklist")
    assert_accessible(page, "duplicates worklist")

    row.get_by_role("link", name="Merge…").click()
    expect(page.get_by_role("heading", name=re.compile("^Merge MRN"))).to_be_visible()
    assert_accessible(page, "merge charts")
    page.get_by_label(re.compile(r"use retired chart's for Email")).check()
    shot(page, "merge-fields")
    page.get_by_role("button", name="Merge charts").click()
    expect(page.get_by_text("Charts merged.")).to_be_visible()
    expect(page.locator("#merge-summary")).to_contain_text(f"MRN {retired_mrn} was merged into")
    assert_accessible(page, "merge detail")
    merge_url = page.url

    # The retired MRN is an alias: search finds the surviving chart.
    page.get_by_role("link", name="Find patient", exact=True).click()
    page.get_by_label("Name, date of birth, phone or MRN").fill(retired_mrn)
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_text("Johnson, Margaret")).to_be_visible()
    with app.app_context():
        survivor = db.session.get(Patient, first)
        assert survivor.email == "peggy@example.org"
        assert db.session.get(Patient, second).merged_into_id == first

    page.goto(merge_url)
    page.get_by_role("button", name="Undo this merge").click()
    expect(page.get_by_text("both charts are as they were").first).to_be_visible()
    with app.app_context():
        db.session.expire_all()
        assert db.session.get(Patient, second).merged_into_id is None
        assert db.session.get(Patient, first).email is None
