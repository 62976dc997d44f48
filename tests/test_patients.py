from __future__ import annotations

import pytest

from datetime import date

from intake.extensions import db
from intake.models import AuditEvent, Patient

FORM = {
    "family_name": "Ñúñez", "given_name": "Zoë", "birth_date": "1991-07-02", "sex": "female",
    "address_line1": "400 Lake Shore Dr", "city": "Chicago", "state": "IL",
    "postal_code": "60611", "phone_mobile": "(312) 555-0199", "email": "zoe@example.org",
    "preferred_language": "es", "races": ["2106-3"], "ethnicity": "2135-2",
}


def _count(app, model=Patient):
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(model))


def test_register_patient_round_trips_unicode(app, desk):
    response = desk.post("/staff/patients/new", data=FORM)
    assert response.status_code == 302
    with app.app_context():
        patient = db.session.execute(db.select(Patient)).scalar_one()
        assert (patient.family_name, patient.given_name) == ("Ñúñez", "Zoë")
        assert patient.phone_mobile == "+13125550199"
        assert patient.family_norm == "nunez"
        assert len(patient.mrn) == 10
        pid = patient.id
    page = desk.get(f"/staff/patients/{pid}").get_data(as_text=True)
    assert "Ñúñez, Zoë" in page
    assert "(312) 555-0199" in page


def test_decomposed_unicode_is_stored_composed(app, desk):
    decomposed = "Zoe\u0308"  # e + combining diaeresis
    response = desk.post("/staff/patients/new", data={**FORM, "given_name": decomposed})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.execute(db.select(Patient.given_name)).scalar_one() == "Zoë"


def test_invalid_input_keeps_values_and_saves_nothing(app, desk):
    bad = {**FORM, "postal_code": "6061", "phone_mobile": "12", "email": "not-an-email",
           "birth_date": "2999-01-01"}
    response = desk.post("/staff/patients/new", data=bad)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Enter a 5-digit ZIP code" in page
    assert "not a valid phone number" in page or "Enter a phone number" in page
    assert "This date is in the future" in page
    # typed values come back
    assert 'value="6061"' in page and 'value="12"' in page and 'value="Ñúñez"' in page
    assert _count(app) == 0


def test_incomplete_address_is_refused(app, desk):
    response = desk.post("/staff/patients/new", data={**FORM, "city": ""})
    assert response.status_code == 422
    assert "Needed for a complete address" in response.get_data(as_text=True)
    assert _count(app) == 0


def test_search_by_name_dob_phone_and_mrn(app, desk, create_patient):
    pid = create_patient()
    create_patient(family_name="Ionescu", given_name="Ștefan", birth_date=date(1975, 5, 5),
                   phone_mobile="+13125550111", address_line1="1 Main St", email=None)
    with app.app_context():
        mrn = db.session.get(Patient, pid).mrn
    for query in ("wojcik", "Wójcik", "lukasz wojcik", "wojcik, lukasz", "03/14/1980",
                  "1980-03-14", "(217) 555-0143", mrn, "woj 3/14/1980"):
        page = desk.post("/staff/", data={"q": query}).get_data(as_text=True)
        assert "Wójcik, Łukasz" in page, query
        assert "Ionescu" not in page, query
    page = desk.post("/staff/", data={"q": "stefan"}).get_data(as_text=True)
    assert "Ionescu, Ștefan" in page


def test_search_is_posted_and_audited(app, desk, create_patient):
    create_patient()
    assert desk.get("/staff/?q=wojcik").get_data(as_text=True).count("Wójcik") == 0
    desk.post("/staff/", data={"q": "wojcik"})
    with app.app_context():
        event = db.session.execute(db.select(AuditEvent).filter_by(action="patient.search")).scalar_one()
        assert event.detail == "by=name results=1"
        assert "wojcik" not in (event.detail or "").lower()


def test_chart_read_and_edit_are_audited(app, desk, create_patient):
    pid = create_patient()
    assert desk.get(f"/staff/patients/{pid}").status_code == 200
    response = desk.post(f"/staff/patients/{pid}/edit", data={
        **FORM, "family_name": "Wójcik", "given_name": "Łukasz", "birth_date": "1980-03-14",
        "sex": "male", "phone_mobile": "+1 217 555 0143", "email": "new@example.com"})
    assert response.status_code == 302
    with app.app_context():
        actions = [e.action for e in db.session.execute(
            db.select(AuditEvent).filter_by(patient_id=pid).order_by(AuditEvent.id)).scalars()]
        assert "patient.view" in actions and "patient.update" in actions
        update = db.session.execute(db.select(AuditEvent).filter_by(action="patient.update")).scalar_one()
        assert "email" in update.detail and "new@example.com" not in update.detail
        assert update.actor.startswith("receptionist")
        assert update.remote_addr == "127.0.0.1"


def test_unknown_patient_is_a_plain_404(desk):
    response = desk.get("/staff/patients/999999")
    assert response.status_code == 404
    assert "was not found" in response.get_data(as_text=True)


def test_repr_has_no_phi(app, create_patient):
    pid = create_patient()
    with app.app_context():
        text = repr(db.session.get(Patient, pid))
    assert text == f"<Patient id={pid}>"


def test_name_search_merges_family_and_given_matches_in_name_order(app, create_patient):
    from intake.services.patients import search_patients

    phones = iter(f"+1312555{n:04d}" for n in range(100, 200))
    for family, given in (("Smith", "Ann"), ("Adams", "Smitty"), ("Smithers", "Bo"),
                          ("Zed", "Smila"), ("Jones", "Amy")):
        create_patient(family_name=family, given_name=given, phone_mobile=next(phones),
                       email=None, address_line1=None, city=None, state=None, postal_code=None)
    with app.app_context():
        found, kind = search_patients("smi", limit=50)
        assert kind == "name"
        assert [(p.family_name, p.given_name) for p in found] == [
            ("Adams", "Smitty"), ("Smith", "Ann"), ("Smithers", "Bo"), ("Zed", "Smila")]
        assert len(search_patients("smi", limit=2)[0]) == 2
        assert [p.family_name for p in search_patients("ann smith")[0]] == ["Smith"]
        db.session.rollback()


def test_name_search_cut_at_the_limit_keeps_name_order(app, create_patient):
    """More given-name matches than the limit: the charts shown are the first
    in name order (family, given), not the first by given name alone."""
    from intake.services.patients import search_patients

    phones = iter(f"+1312555{n:04d}" for n in range(300, 400))
    for family, given in (("Zed", "Smila"), ("Young", "Smilla"), ("Adams", "Smitty"),
                          ("Brown", "Smit"), ("Smith", "Ann")):
        create_patient(family_name=family, given_name=given, phone_mobile=next(phones),
                       email=None, address_line1=None, city=None, state=None, postal_code=None)
    with app.app_context():
        everyone = [(p.family_name, p.given_name) for p in search_patients("smi")[0]]
        assert everyone == [("Adams", "Smitty"), ("Brown", "Smit"), ("Smith", "Ann"),
                            ("Young", "Smilla"), ("Zed", "Smila")]
        for limit in (1, 2, 3):
            found = search_patients("smi", limit=limit)[0]
            assert [(p.family_name, p.given_name) for p in found] == everyone[:limit]
        # Two words read both ways, each reading cut at the limit.
        found = search_patients("smit a", limit=1)[0]
        assert [(p.family_name, p.given_name) for p in found] == [("Adams", "Smitty")]
        db.session.rollback()


COMPOUND = (("Sanches", "Miguel Ángel"), ("de la Cruz", "María José"), ("García-López", "Ana"),
            ("van der Berg", "Jan Willem"), ("da Silva Santos", "João"), ("Sanchez", "Miguela"))


@pytest.mark.parametrize(("typed", "expected"), [
    ("Sanches Miguel", ("Sanches", "Miguel Ángel")),
    ("Sanches Miguel Ángel", ("Sanches", "Miguel Ángel")),
    ("Sanches, Miguel Ángel", ("Sanches", "Miguel Ángel")),
    ("Miguel Ángel Sanches", ("Sanches", "Miguel Ángel")),
    ("Sanches Ángel", ("Sanches", "Miguel Ángel")),
    ("Ángel Sanches", ("Sanches", "Miguel Ángel")),
    ("de la Cruz María José", ("de la Cruz", "María José")),
    ("de la Cruz, María", ("de la Cruz", "María José")),
    ("Cruz Maria", ("de la Cruz", "María José")),
    ("María José de la Cruz", ("de la Cruz", "María José")),
    ("García-López Ana", ("García-López", "Ana")),
    ("Garcia Lopez, Ana", ("García-López", "Ana")),
    ("Lopez Ana", ("García-López", "Ana")),
    ("van der Berg Jan", ("van der Berg", "Jan Willem")),
    ("Berg, Jan Willem", ("van der Berg", "Jan Willem")),
    ("Willem van der Berg", ("van der Berg", "Jan Willem")),
    ("da Silva Santos João", ("da Silva Santos", "João")),
    ("Santos Joao", ("da Silva Santos", "João")),
    ("Silva, João", ("da Silva Santos", "João")),
])
def test_name_search_finds_compound_names_typed_any_way(app, create_patient, typed, expected):
    """Every reading of what the desk types: any order, with or without a
    comma, compound given and family names, hyphens and particles."""
    from intake.services.patients import search_patients

    phones = iter(f"+1312555{n:04d}" for n in range(500, 600))
    for family, given in COMPOUND:
        create_patient(family_name=family, given_name=given, phone_mobile=next(phones),
                       email=None, address_line1=None, city=None, state=None, postal_code=None)
    with app.app_context():
        found = [(p.family_name, p.given_name) for p in search_patients(typed)[0]]
        assert expected in found, (typed, found)
        # A reading still needs every word: the near-namesake is not offered.
        if "Sanches" in typed and "Miguel" in typed:
            assert ("Sanchez", "Miguela") not in found
        db.session.rollback()


def test_two_desks_editing_one_chart_are_not_silently_overwritten(app, client_as, create_patient):
    """Desk B saves a form loaded before desk A's save: refused, A's change stays."""
    pid = create_patient()
    a, b = client_as("receptionist"), client_as("receptionist")
    page_a = a.get(f"/staff/patients/{pid}/edit").get_data(as_text=True)
    page_b = b.get(f"/staff/patients/{pid}/edit").get_data(as_text=True)
    assert 'name="version" type="hidden" value="1"' in page_a and 'value="1"' in page_b
    base = {**FORM, "family_name": "Wójcik", "given_name": "Łukasz", "birth_date": "1980-03-14",
            "sex": "male", "phone_mobile": "+1 217 555 0143", "version": "1"}
    assert a.post(f"/staff/patients/{pid}/edit", data={**base, "city": "Peoria"}).status_code == 302
    stale = b.post(f"/staff/patients/{pid}/edit", data={**base, "city": "Joliet"})
    assert stale.status_code == 422
    assert "Someone else changed this chart" in stale.get_data(as_text=True)
    assert 'value="Joliet"' in stale.get_data(as_text=True)  # what B typed stays on the page
    with app.app_context():
        patient = db.session.get(Patient, pid)
        assert (patient.city, patient.version) == ("Peoria", 2)
