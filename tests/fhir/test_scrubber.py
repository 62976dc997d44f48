"""The claim scrubber, one rule at a time, on visits made through the
front-desk services (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date

import pytest

from intake.codes import load_engine
from intake.extensions import db
from intake.fhir import bundle_problems, visit_bundle
from intake.services import charges, claims, practice
from intake.services.scrubber import load_visit_for_claim, scrub_visit, signed_consents
from tests.conftest import FY2026_DAY, check_out_past_visit
from tests.fhir import r4_validators as V
from tests.fhir.fhir_samples import PRACTICE_NPI


@pytest.fixture
def billed(app, create_patient, create_coverage, create_visit):
    """A patient with Medicare primary, a locked visit with 2 diagnoses and 2 lines."""
    pid = create_patient()
    create_coverage(pid, kind="medicare", member_id="1EG4-TE5-MK73")
    vid = create_visit(pid, day=FY2026_DAY)
    with app.app_context():
        practice.save_practice({"name": "Maple Street Family Medicine", "npi": PRACTICE_NPI,
                                "tax_id": "12-3456789"})
        visit = load_visit_for_claim(vid)
        check_out_past_visit(visit)
        charges.add_diagnosis(visit, "E11.9")
        charges.add_diagnosis(visit, "I10")
        charges.save_line(visit, {"code": "99213", "pointers": [1, 2], "unit_price_cents": 9000})
        charges.save_line(visit, {"code": "G0008", "pointers": [2], "unit_price_cents": 3000})
        charges.lock(visit)
        db.session.commit()
    return pid, vid


def _scrub(vid, change=None):
    visit = load_visit_for_claim(vid)
    office = practice.get_practice()
    if change:
        change(visit, office)
    codes = [f.code for f in scrub_visit(visit, practice=office, engine=load_engine())]
    db.session.rollback()  # the changes were only for this look
    return codes


def test_a_clean_visit_has_no_findings_and_a_valid_bundle(app, billed):
    _, vid = billed
    with app.app_context():
        visit = load_visit_for_claim(vid)
        office = practice.get_practice()
        claim = claims.latest(vid)
        findings = scrub_visit(visit, practice=office, engine=load_engine(), claim=claim)
        assert findings == []
        bundle = visit_bundle(visit, practice=office, findings=findings, claim=claim,
                              coverages=claims.coverages_to_send(visit, claim),
                              consents=signed_consents(visit.patient_id))
        assert bundle_problems(bundle) == []
        assert V.schema_errors(bundle) == []
        claim = bundle["entry"][-1]["resource"]
        assert claim["resourceType"] == "Claim" and claim["total"]["value"] == 120


def test_no_active_coverage(app, create_patient, create_visit):
    pid = create_patient()
    vid = create_visit(pid, day=FY2026_DAY)
    with app.app_context():
        codes = _scrub(vid)
    assert {"no_coverage", "not_locked", "no_diagnoses", "no_lines", "practice_npi_missing"} <= set(codes)


def test_not_locked(app, billed):
    with app.app_context():
        assert _scrub(billed[1], lambda v, p: setattr(v, "charges_locked_at", None)) == ["not_locked"]


def test_cancelled_visit(app, billed):
    with app.app_context():
        assert _scrub(billed[1], lambda v, p: setattr(v, "state", "no_show")) == ["visit_not_seen"]


@pytest.mark.parametrize("field, value, expected", [
    ("code", "E11", "diagnosis_header"),
    ("code", "E11.999", "diagnosis_unknown"),
])
def test_diagnosis_codes_rechecked(app, billed, field, value, expected):
    with app.app_context():
        assert _scrub(billed[1], lambda v, p: setattr(v.diagnoses[0], field, value)) == [expected]


def test_date_with_no_table_is_held_as_provisional(app, billed):
    with app.app_context():
        codes = _scrub(billed[1], lambda v, p: setattr(v, "date_of_service", date(2014, 6, 1)))
        visit = load_visit_for_claim(billed[1])
        visit.date_of_service = date(2014, 6, 1)
        findings = scrub_visit(visit, practice=practice.get_practice(), engine=charges.engine())
        db.session.rollback()
    assert "diagnosis_provisional" in codes and "procedure_provisional" in codes
    held = next(f.words for f in findings if f.code == "diagnosis_provisional")
    assert "the ICD-10-CM FY2014 table is not loaded. Held from billing until that table is imported" in held


def test_procedure_and_modifier_rechecked(app, billed):
    def change(v, p):
        v.lines[1].code = "G0001"  # not in the CMS 2026 file
        v.lines[0].modifier1 = "ZZ"
    with app.app_context():
        assert set(_scrub(billed[1], change)) == {"procedure_unknown", "modifier_unknown"}


def test_pointers(app, billed):
    def missing(v, p):
        v.lines[0].pointer2_id = 987654
    def none(v, p):
        v.lines[1].pointer1_id = None
    with app.app_context():
        assert _scrub(billed[1], missing) == ["pointer_missing"]
        assert _scrub(billed[1], none) == ["no_pointers"]


def test_npis(app, billed):
    with app.app_context():
        assert _scrub(billed[1], lambda v, p: setattr(p, "npi", None)) == ["practice_npi_missing"]
        assert _scrub(billed[1], lambda v, p: setattr(p, "npi", "1234567890")) == ["practice_npi_invalid"]
        assert _scrub(billed[1], lambda v, p: setattr(v.provider, "npi", "1234567890")) == ["provider_npi_invalid"]
        assert _scrub(billed[1], lambda v, p: setattr(v.provider, "npi", "")) == ["provider_npi_missing"]


def test_medicare_member_id_must_be_an_mbi(app, billed):
    with app.app_context():
        codes = _scrub(billed[1], lambda v, p: setattr(v.patient.coverages[0], "member_id", "123456789A"))
    assert codes == ["medicare_not_mbi"]


def test_subscriber_data_missing(app, billed, create_coverage):
    pid, vid = billed
    create_coverage(pid, relationship_code="child", subscriber_family="Wójcik")
    with app.app_context():
        visit = load_visit_for_claim(vid)
        findings = scrub_visit(visit, practice=practice.get_practice(), engine=load_engine())
    assert [f.code for f in findings] == ["subscriber_missing"]
    assert "given name, date of birth are missing" in findings[0].words
    assert "Secondary coverage" in findings[0].words


def test_findings_are_in_words(app, billed):
    with app.app_context():
        visit = load_visit_for_claim(billed[1])
        visit.diagnoses[0].code = "E11"
        finding = scrub_visit(visit, practice=practice.get_practice(), engine=load_engine())[0]
    assert finding.words.startswith("Diagnosis 1 (E11): E11 is a header, not billable")
    assert finding.to_dict()["code"] == "diagnosis_header"
