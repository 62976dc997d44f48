"""Code tables from the admin pages: preview, confirm, audit; held visits re-checked;
the 60-day banner; the billing list of codes a new release refused."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

import pytest

from intake.extensions import db
from intake.models import AuditEvent, Visit
from intake.services import charges, code_tables
from tests.codes.conftest import FIXTURES
from tests.conftest import check_out_past_visit

DEC = date(2026, 12, 4)  # after ICD-10-CM FY2026 ends: diagnoses are provisional


def _upload(client, name: str, kind: str = "icd10cm", data: bytes | None = None, year: str = ""):
    body = data if data is not None else (FIXTURES / name).read_bytes()
    return client.post("/admin/codes", data={"kind": kind, "year": year, "file": (io.BytesIO(body), name)},
                       content_type="multipart/form-data")


@pytest.fixture
def held(app, create_patient, create_visit):
    """A locked December visit on provisional diagnoses: E11.9 (kept by FY2027) and E78.5 (not in it)."""
    pid = create_patient()
    vid = create_visit(pid, day=DEC)
    with app.app_context():
        visit = db.session.get(Visit, vid)
        check_out_past_visit(visit)  # only a visit that happened is billed
        charges.add_diagnosis(visit, "E11.9")
        charges.add_diagnosis(visit, "E78.5")
        charges.save_line(visit, {"code": "G0439", "modifiers": ["25"], "pointers": [1, 2],
                                  "unit_price_cents": 17500})
        charges.lock(visit)
        db.session.commit()
        assert set(charges.provisional_codes(visit)) == {"E11.9", "E78.5"}
    return vid


def test_admin_sees_every_table_with_dates_and_status(admin_client):
    page = admin_client.get("/admin/codes").get_data(as_text=True)
    assert page.count('class="code-table"') == 4
    assert "HCPCS 2026 (January 2026 file)" in page and "01/01/2026 to 12/31/2026" in page
    assert "FY2026 (April 1, 2026 update)" in page


def test_import_previews_then_applies_on_confirm_and_rechecks_held_visits(app, admin_client, client_as, held):
    response = _upload(admin_client, "icd10cm-order-2027.txt")
    assert response.status_code == 302
    preview_url = response.headers["Location"]
    assert not (Path(app.instance_path) / "codes").exists()  # nothing replaced before confirmation
    page = admin_client.get(preview_url).get_data(as_text=True)
    assert "FY2027" in page and "Compared with ICD-10-CM FY2026 (April 1, 2026 update)" in page
    counts = dict((what, int(n.replace(",", ""))) for n, what in
                  re.findall(r"<strong>([\d,]+)</strong> (added|deleted|re-titled)", page))
    assert (counts["deleted"], counts["added"]) == (98_186 - 22, 0)  # the fixture: 22 of its codes
    assert "Examples, deleted:" in page and "A00.0 Cholera" in page
    billing = client_as("billing")
    applied = admin_client.post(preview_url, data={"apply": "1"}, follow_redirects=True)
    text = applied.get_data(as_text=True)
    assert "Imported FY2027: 22 codes" in text
    assert "Re-checked 1 held visit(s): 0 no longer held on provisional codes, 1 code(s) now refused" in text
    with app.app_context():
        visit = db.session.get(Visit, held)
        assert charges.provisional_codes(visit) == {}
        audit = db.session.execute(db.select(AuditEvent).where(AuditEvent.action == "codes.import")).scalar_one()
        assert "icd10cm-fy2027 22 codes from icd10cm-order-2027.txt" in audit.detail
    listing = billing.get("/billing/codes").get_data(as_text=True)
    assert listing.count('class="code-problem"') == 1
    assert "E78.5" in listing and "is not in the ICD-10-CM table FY2027" in listing


def test_cancelled_import_changes_nothing(app, admin_client):
    preview_url = _upload(admin_client, "icd10cm-order-2027.txt").headers["Location"]
    admin_client.post(preview_url, data={"discard": "1"})
    assert not (Path(app.instance_path) / "codes").exists()
    assert admin_client.get(preview_url).status_code == 404


@pytest.mark.parametrize(("name", "kind", "message"), [
    ("icd10cm-order-2027-truncated.txt", "icd10cm", "was not imported: "),
    ("HCPC2027_JAN_ANWEB_badlayout.txt", "hcpcs", "line 1: record id (column 11)"),
    ("HCPC2027_JAN_ANWEB_baddate.txt", "hcpcs", "bad added date"),
])
def test_bad_file_is_refused_with_the_line_and_nothing_changes(app, admin_client, name, kind, message):
    response = _upload(admin_client, name, kind)
    assert response.status_code == 422
    text = response.get_data(as_text=True).replace("&#39;", "'")
    assert message in text and "Nothing was changed." in text
    assert not (Path(app.instance_path) / "codes").exists()
    assert not any((Path(app.instance_path) / "codes-staging").glob("*/*"))


def test_sixty_day_banner_for_admin_and_billing_never_the_desk(app, client_as, monkeypatch):
    from intake.services import clock

    monkeypatch.setattr(clock, "today", lambda: date(2026, 8, 10))
    admin, billing, desk = client_as("admin"), client_as("billing"), client_as("receptionist")
    page = admin.get("/admin/codes").get_data(as_text=True)
    assert "ICD-10-CM FY2026 (April 1, 2026 update) ends on 09/30/2026: import ICD-10-CM FY2027" in page
    assert "cdc.gov" in page and "in force, ends in 51 days" in page
    assert "ends on 09/30/2026" in billing.get("/billing/").get_data(as_text=True)
    assert "code-table-warning" not in desk.get("/staff/").get_data(as_text=True)
    monkeypatch.setattr(clock, "today", lambda: date(2026, 7, 1))
    assert "code-table-warning" not in admin.get("/admin/codes").get_data(as_text=True)
    with app.test_request_context():
        assert code_tables.end_warnings(date(2026, 12, 4))[0].startswith(
            "No ICD-10-CM table covers today: codes are checked provisionally")
