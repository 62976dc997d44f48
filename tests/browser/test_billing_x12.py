"""A billing clerk downloads an 837P in real Chromium: held claims are shown
next to their visits with the reasons, the file that comes down passes pyx12,
and the export history offers it again. Synthetic people only."""

from __future__ import annotations

import re
import pytest
from playwright.sync_api import expect

from intake.x12.validate import validate_837p
from tests.browser.test_staff_flow import sign_in
from tests.conftest import X12_IN_FORCE

pytestmark = pytest.mark.browser


def test_clerk_downloads_837p_and_sees_holds(app, page, live_server, create_user, create_patient,
                                             create_coverage, billed_visit, tmp_path, shot,
                                             assert_accessible):
    from intake.extensions import db
    from intake.models import Visit
    from intake.services import claims

    _, username = create_user("billing")
    billed_visit()
    # Okafor's claim is corrected to add Medicare as secondary, without saying
    # why Medicare pays second (SBR05): the 837P holds it, the FHIR side does not.
    okafor = create_patient(family_name="Okafor", given_name="Ada", phone_mobile="+13125550177")
    held_visit = billed_visit(okafor)
    create_coverage(okafor, kind="medicare", member_id="1EG4TE5MK73", effective_date=X12_IN_FORCE,
                    group_number=None)
    with app.app_context():
        claims.bill(db.session.get(Visit, held_visit))
        db.session.commit()
    sign_in(page, username)
    page.goto("/billing/?date_from=2026-03-01&date_to=2026-03-31")
    held_row = page.locator("tr.billing-row", has_text="Okafor")
    expect(held_row.locator(".x12-held")).to_contain_text("837P held")
    expect(held_row.locator(".x12-held")).to_contain_text("why Medicare pays second")
    expect(page.locator("tr.billing-row", has_text="Wójcik").locator(".x12-held")).to_have_count(0)
    shot(page, "work-list-with-holds")
    assert_accessible(page, "billing work list with the 837P form")

    section = page.get_by_role("region", name="837P claim file (X12)")
    expect(section.get_by_label("From", exact=True)).to_have_value("2026-03-01")
    with page.expect_download() as download:
        section.get_by_role("button", name="Download 837P").click()
    path = tmp_path / "claims.x12"
    download.value.save_as(path)
    assert re.fullmatch(r"intake-837p-\d+\.x12", download.value.suggested_filename)
    content = path.read_text()
    result = validate_837p(content)
    assert result.findings == () and result.accepted
    assert content.count("CLM*") == 1 and "OKAFOR" not in content

    page.goto("/billing/exports")
    link = page.get_by_role("link", name=re.compile(r"Download again"))
    expect(link).to_have_count(1)
    shot(page, "export-history")
    assert_accessible(page, "export history")
    with page.expect_download() as again:
        link.click()
    again_path = tmp_path / "again.x12"
    again.value.save_as(again_path)
    assert again_path.read_bytes() == path.read_bytes()

    # Nothing left to send: the form answers in words next to the field, nothing downloads.
    page.goto("/billing/?date_from=2026-03-01&date_to=2026-03-31")
    page.get_by_role("region", name="837P claim file (X12)").get_by_role(
        "button", name="Download 837P").click()
    expect(page.get_by_text("No claim in this period is ready for an 837P.")).to_be_visible()
    expect(page.get_by_text(re.compile("why Medicare pays second")).first).to_be_visible()
    assert_accessible(page, "837P refused")
