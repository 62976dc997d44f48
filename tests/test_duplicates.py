from __future__ import annotations

from datetime import date

from intake.extensions import db
from intake.models import Patient
from intake.services import duplicates
from tests.conftest import patient_fields

# Same name and date of birth as the fixture's chart (a likely duplicate the
# desk may confirm as new) but another mobile phone: name + date of birth +
# mobile phone is one person, which uq_patients_identity refuses outright.
FORM = {"family_name": "Wojcik", "given_name": "Lukasz", "birth_date": "1980-03-14",
        "sex": "male", "phone_mobile": "217-555-0198"}


def test_scores_and_reasons(app, create_patient):
    pid = create_patient()
    with app.app_context():
        probe = patient_fields(family_name="Wojcik", given_name="Lukas", email=None,
                               address_line1=None, postal_code=None)
        (hit,) = duplicates.find(probe)
        assert hit.patient.id == pid
        assert "same date of birth" in hit.reasons
        assert "same phone number" in hit.reasons
        assert any(r.startswith("name ") for r in hit.reasons)
        assert hit.score >= 80


def test_swapped_day_and_month_is_a_reason(app, create_patient):
    create_patient(birth_date=date(1980, 3, 4))
    with app.app_context():
        probe = {"family_name": "Wójcik", "given_name": "Łukasz", "birth_date": date(1980, 4, 3)}
        (hit,) = duplicates.find(probe)
        assert "date of birth with day and month swapped" in hit.reasons


def test_different_person_is_not_a_candidate(app, create_patient):
    create_patient()
    with app.app_context():
        probe = {"family_name": "Okafor", "given_name": "Chidi", "birth_date": date(1980, 3, 14),
                 "phone_mobile": "+13125550100"}
        assert duplicates.find(probe) == []


def test_registration_stops_on_duplicate_until_confirmed(app, desk, create_patient):
    create_patient()
    response = desk.post("/staff/patients/new", data=FORM)
    page = response.get_data(as_text=True)
    assert "Possible existing chart" in page
    assert "same date of birth" in page
    assert 'value="Wojcik"' in page  # still on the page
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Patient.id))) == 1
    response = desk.post("/staff/patients/new", data={**FORM, "confirm_new": "y"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Patient.id))) == 2


def test_live_endpoint_returns_candidates(desk, create_patient):
    create_patient()
    response = desk.post("/staff/patients/duplicates", data={
        "family_name": "Wojcik", "given_name": "Lukasz", "birth_date": "1980-03-14"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Wójcik, Łukasz" in html and "same date of birth" in html
    empty = desk.post("/staff/patients/duplicates", data={"family_name": "Nobody"})
    assert "duplicate-candidate" not in empty.get_data(as_text=True)


def test_field_errors_and_duplicates_show_together(app, desk, create_patient):
    """One round, not two: a bad ZIP and a likely match are shown at once."""
    create_patient()
    response = desk.post("/staff/patients/new", data={**FORM, "postal_code": "123"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Enter a 5-digit ZIP code" in page and "same date of birth" in page
    fixed = desk.post("/staff/patients/new", data={**FORM, "confirm_new": "y"})
    assert fixed.status_code == 302


def test_same_name_birth_date_and_mobile_is_refused_even_when_confirmed(app, desk, create_patient):
    """uq_patients_identity: confirming "new patient" cannot make a second
    chart for the same name, date of birth and mobile phone."""
    pid = create_patient()
    response = desk.post("/staff/patients/new", data={**FORM, "phone_mobile": "217-555-0143",
                                                      "confirm_new": "y"})
    assert response.status_code == 422
    with app.app_context():
        mrn = db.session.get(Patient, pid).mrn
        assert db.session.scalar(db.select(db.func.count(Patient.id))) == 1
    assert f"MRN {mrn}" in response.get_data(as_text=True)


def test_misspelt_family_name_and_mistyped_birth_date_are_found(app, create_patient):
    """Issue 18: no exact key is shared, the fuzzy blocks still bring it in."""
    pid = create_patient(family_name="Johnson", given_name="Margaret", birth_date=date(1975, 6, 21))
    with app.app_context():
        probe = {"family_name": "Jonson", "given_name": "Peggy", "birth_date": date(1975, 6, 12),
                 "phone_mobile": "+12175550143"}
        (hit,) = duplicates.find(probe, threshold=50)
        assert hit.patient.id == pid
        assert any("Jonson / Johnson" in r for r in hit.reasons)
        assert "date of birth differs by one typo" in hit.reasons  # 21 typed 12


def test_keys_follow_every_chart_write(app, create_patient):
    from intake.models import PatientMatchKey

    pid = create_patient(family_name="Johnson", birth_date=date(1975, 6, 21))
    with app.app_context():
        patient = db.session.get(Patient, pid)
        patient.family_name, patient.family_norm = "Kowalski", "kowalski"
        db.session.commit()
        keys = set(db.session.scalars(db.select(PatientMatchKey.key)
                                      .where(PatientMatchKey.patient_id == pid)))
        assert any(k.startswith("nd:CAOALSC|1975-06-21") for k in keys)
        assert not any(k.startswith("nd:JANSAN") for k in keys)
        assert duplicates.find({"family_name": "Johnson", "given_name": "Lukasz",
                                "birth_date": date(1975, 6, 21)}) == []


def test_one_letter_probe_finds_nothing(app, create_patient):
    create_patient()
    with app.app_context():
        assert duplicates.find({"family_name": "W"}, threshold=0) == []


def test_fit_model_is_stored_and_used(app, create_patient):
    from intake.models import MatchModel

    for i in range(6):
        create_patient(family_name=f"Family{i}", given_name=f"Given{i}",
                       birth_date=date(1970 + i, 1, 1 + i), phone_mobile=f"+1217555{i:04d}")
    with app.app_context():
        duplicates.fit_model()
        db.session.commit()
        assert db.session.scalar(db.select(db.func.count(MatchModel.id))) == 1
        assert duplicates.parameters().levels.keys() == duplicates.Parameters.default().levels.keys()
