"""The front desk's review: accept into a new chart, merge field by field,
reject; one transaction each, audited without PHI."""

from __future__ import annotations

from datetime import date

from intake.extensions import db
from intake.models import AuditEvent, CardImage, Coverage, KioskSubmission, Patient, SignedConsent
from tests.kiosk.factories import submit_intake

PHI = ("Zoë", "Nunes", "1985", "Synthetic", "555", "XKZ", "example.org")


def _no_phi_in_audit(app) -> None:
    with app.app_context():
        for event in db.session.execute(db.select(AuditEvent)).scalars():
            text = f"{event.detail or ''} {event.actor}"
            assert not any(value in text for value in PHI), (event.action, text)


def test_queue_lists_pending_submissions(app, desk):
    submit_intake(app)
    page = desk.get("/staff/kiosk").get_data(as_text=True)
    assert "Nunes, Zoë" in page and "07/09/1985" in page


def test_accept_into_a_new_chart_creates_everything_in_one_go(app, desk):
    sub_id = submit_intake(app)
    page = desk.get(f"/staff/kiosk/{sub_id}").get_data(as_text=True)
    assert "No existing chart looks like this patient." in page
    response = desk.post(f"/staff/kiosk/{sub_id}/accept")
    assert response.status_code == 302
    with app.app_context():
        sub = db.session.get(KioskSubmission, sub_id)
        assert sub.status == "accepted" and sub.data == {} and sub.reviewed_by_id
        patient = db.session.get(Patient, sub.patient_id)
        assert (patient.given_name, patient.birth_date) == ("Zoë", date(1985, 7, 9))
        assert patient.emergency_phone == "+18475550112" and patient.races == ["2106-3"]
        coverage = db.session.execute(db.select(Coverage).filter_by(patient_id=patient.id)).scalar_one()
        assert coverage.rank == 1 and coverage.member_id == "XKZ123456789"
        cards = db.session.execute(db.select(CardImage).filter_by(coverage_id=coverage.id)).scalars().all()
        assert sorted(c.side for c in cards) == ["back", "front"]
        consents = {c.kind: c for c in db.session.execute(
            db.select(SignedConsent).filter_by(patient_id=patient.id)).scalars()}
        assert set(consents) == {"treatment", "privacy", "financial", "communication"}
        treatment = consents["treatment"]
        assert treatment.signature_method == "drawn" and treatment.signature_png.startswith(b"\x89PNG")
        assert treatment.text_version == "2026-1" and treatment.language == "en"
        assert treatment.signer_name == "Zoë Nunes" and treatment.signed_at.tzinfo is not None
        import hashlib
        assert hashlib.sha256(treatment.text.encode()).hexdigest() == treatment.text_sha256
        assert consents["privacy"].signature_method == "typed" and consents["privacy"].signature_png is None
        actions = set(db.session.execute(db.select(AuditEvent.action)
                                          .filter_by(patient_id=patient.id)).scalars())
        assert {"patient.create", "coverage.create", "card.upload", "consent.create",
                "kiosk.accept"} <= actions
    _no_phi_in_audit(app)
    assert desk.get(f"/staff/kiosk/{sub_id}").status_code == 404  # reviewed: gone from the queue


def test_accept_with_possible_duplicates_needs_confirmation(app, desk, create_patient):
    # The kiosk's mobile number as this chart's home phone: a likely match the
    # desk may still confirm as new (same name + DOB + *mobile* would be refused).
    create_patient(family_name="Nunes", given_name="Zoe", birth_date=date(1985, 7, 9),
                   phone_mobile=None, phone_home="+18475550111")
    sub_id = submit_intake(app)
    page = desk.get(f"/staff/kiosk/{sub_id}").get_data(as_text=True)
    assert "same date of birth" in page and "same phone number" in page and "Merge into MRN" in page
    response = desk.post(f"/staff/kiosk/{sub_id}/accept")
    assert response.status_code == 422
    with app.app_context():
        assert db.session.get(KioskSubmission, sub_id).status == "pending"
        assert db.session.execute(db.select(db.func.count(Patient.id))).scalar() == 1
    assert desk.post(f"/staff/kiosk/{sub_id}/accept", data={"confirm_new": "y"}).status_code == 302
    with app.app_context():
        assert db.session.execute(db.select(db.func.count(Patient.id))).scalar() == 2


def test_merge_field_by_field_into_an_existing_chart(app, desk, create_patient, create_coverage):
    existing = create_patient(family_name="Nunes", given_name="Zoe", birth_date=date(1985, 7, 9),
                              phone_mobile="+18475550199", email="old@example.net",
                              address_line1="1 Old Road", postal_code="60202", city="Evanston")
    create_coverage(existing)  # a different plan already on file
    sub_id = submit_intake(app)
    page = desk.get(f"/staff/kiosk/{sub_id}/merge/{existing}").get_data(as_text=True)
    assert 'name="take_phone_mobile"' in page and 'name="take_email"' in page
    # The chart has no emergency contact: the kiosk's value is preselected.
    assert 'id="take_emergency_name_kiosk" value="kiosk" checked' in page
    response = desk.post(f"/staff/kiosk/{sub_id}/merge/{existing}", data={
        "take_phone_mobile": "kiosk", "take_email": "chart", "take_given_name": "kiosk",
        "take_address_line1": "chart", "take_emergency_name": "kiosk"})
    assert response.status_code == 302
    with app.app_context():
        patient = db.session.get(Patient, existing)
        assert patient.phone_mobile == "+18475550111" and patient.given_name == "Zoë"
        assert patient.email == "old@example.net" and patient.address_line1 == "1 Old Road"
        assert patient.emergency_name == "Ana Nunes"
        assert patient.emergency_phone is None  # not chosen: the chart's (empty) value stays
        assert len([c for c in patient.coverages if c.is_active]) == 2
        assert db.session.execute(db.select(db.func.count(SignedConsent.id))
                                  .filter_by(patient_id=existing)).scalar() == 4
        sub = db.session.get(KioskSubmission, sub_id)
        assert sub.status == "merged" and sub.patient_id == existing
        merge = db.session.execute(db.select(AuditEvent).filter_by(action="kiosk.merge")).scalar_one()
        assert "phone_mobile" in merge.detail and "email" not in merge.detail
    _no_phi_in_audit(app)


def test_merge_puts_the_kiosk_plan_where_staff_choose_and_ends_the_old(app, desk, create_patient,
                                                                        create_coverage):
    """The patient marked the new plan primary: offered as primary (not filed
    under the chart's plan as secondary without asking), the old plan ended
    in the same step, and the kiosk's whole address taken in one click."""
    existing = create_patient(family_name="Nunes", given_name="Zoe", birth_date=date(1985, 7, 9),
                              address_line1="1 Old Road", address_line2="Unit 9",
                              postal_code="60202", city="Skokie", state="IL")
    old = create_coverage(existing, kind="medicare", member_id="1EG4TE5MK73")
    sub_id = submit_intake(app)
    page = desk.get(f"/staff/kiosk/{sub_id}/merge/{existing}").get_data(as_text=True)
    plans = page[page.index('id="merge-plans"'):]
    assert '<option value="1" selected>Primary</option>' in plans.split("</select>")[0]
    assert f'name="end_{old}"' in page and 'name="take_address"' in page
    response = desk.post(f"/staff/kiosk/{sub_id}/merge/{existing}", data={
        "rank_0": "1", f"end_{old}": "y", "take_address": "kiosk",
        "take_address_line1": "chart", "take_city": "chart"})
    assert response.status_code == 302
    with app.app_context():
        patient = db.session.get(Patient, existing)
        active = sorted((c for c in patient.coverages if c.is_active), key=lambda c: c.rank)
        assert [(c.rank, c.member_id) for c in active] == [(1, "XKZ123456789")]
        ended = db.session.get(Coverage, old)
        assert not ended.is_active and ended.end_date is not None
        assert (patient.address_line1, patient.city, patient.postal_code) == (
            "18 Synthetic Way", "Evanston", "60201")
        assert patient.address_line2 is None  # the kiosk left it empty: all its fields, as one


def test_merge_by_mrn(app, desk, create_patient):
    existing = create_patient()
    with app.app_context():
        mrn = db.session.get(Patient, existing).mrn
    sub_id = submit_intake(app)
    response = desk.post(f"/staff/kiosk/{sub_id}/merge", data={"mrn": mrn})
    assert response.headers["Location"].endswith(f"/staff/kiosk/{sub_id}/merge/{existing}")
    assert desk.post(f"/staff/kiosk/{sub_id}/merge", data={"mrn": "0000000000"}).status_code == 422


def test_reject_needs_a_reason_and_keeps_nothing(app, desk):
    sub_id = submit_intake(app)
    assert desk.post(f"/staff/kiosk/{sub_id}/reject", data={"reason": ""}).status_code == 422
    assert desk.post(f"/staff/kiosk/{sub_id}/reject", data={"reason": "test entry"}).status_code == 302
    with app.app_context():
        sub = db.session.get(KioskSubmission, sub_id)
        assert sub.status == "rejected" and sub.reject_reason == "test entry" and sub.data == {}
        assert db.session.execute(db.select(db.func.count(Patient.id))).scalar() == 0
    _no_phi_in_audit(app)


def test_failed_acceptance_leaves_nothing_behind(app, desk, monkeypatch):
    from intake.services import coverages

    sub_id = submit_intake(app)

    def broken(*args, **kwargs):
        raise coverages.FieldErrors({"image": ["broken"]})

    monkeypatch.setattr(coverages, "save_card", broken)
    assert desk.post(f"/staff/kiosk/{sub_id}/accept").status_code == 422
    with app.app_context():
        assert db.session.execute(db.select(db.func.count(Patient.id))).scalar() == 0
        assert db.session.get(KioskSubmission, sub_id).status == "pending"


def test_staff_see_the_submitted_pictures(app, desk):
    sub_id = submit_intake(app)
    assert desk.get(f"/staff/kiosk/{sub_id}/picture/card-0-front").mimetype == "image/jpeg"
    assert desk.get(f"/staff/kiosk/{sub_id}/picture/sig-treatment").mimetype == "image/png"
    assert desk.get(f"/staff/kiosk/{sub_id}/picture/sig-privacy").status_code == 404
