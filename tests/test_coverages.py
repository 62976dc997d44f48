from __future__ import annotations

import io
from datetime import date

import pytest
from PIL import Image

from intake.extensions import db
from intake.models import AuditEvent, CardImage, Coverage, Patient
from intake.services import FieldErrors, coverages
from tests.conftest import payer_id


def _ranks(app, patient_id):
    with app.app_context():
        rows = db.session.execute(
            db.select(Coverage.id, Coverage.rank, Coverage.status)
            .filter_by(patient_id=patient_id).order_by(Coverage.id)).all()
        return [(r.rank, r.status) for r in rows]


def _form(app, kind="commercial", **extra):
    data = {"payer_id": payer_id(app, kind), "member_id": "ABC987654321", "group_number": "G1",
            "plan_name": "PPO Gold", "effective_date": "2026-01-01", "copay": "25.50",
            "relationship_code": "self", "rank": "1"}
    data.update(extra)
    return data


def test_add_primary_secondary_tertiary_and_refuse_a_fourth(app, desk, create_patient):
    pid = create_patient()
    for rank in ("1", "2", "3"):
        assert desk.post(f"/staff/patients/{pid}/coverages/new",
                         data=_form(app, rank=rank)).status_code == 302
    response = desk.post(f"/staff/patients/{pid}/coverages/new", data=_form(app, rank="1"))
    assert response.status_code == 422
    assert "end one first" in response.get_data(as_text=True)
    assert _ranks(app, pid) == [(1, "active"), (2, "active"), (3, "active")]
    with app.app_context():
        first = db.session.execute(db.select(Coverage).filter_by(patient_id=pid, rank=1)).scalar_one()
        assert first.copay_cents == 2550


def test_insert_as_primary_shifts_the_others(app, create_patient, create_coverage):
    pid = create_patient()
    old = create_coverage(pid)
    new = create_coverage(pid, rank=1, member_id="NEW000000001")
    with app.app_context():
        assert db.session.get(Coverage, new).rank == 1
        assert db.session.get(Coverage, old).rank == 2


def test_reorder_and_end(app, desk, create_patient, create_coverage):
    pid = create_patient()
    a = create_coverage(pid)
    b = create_coverage(pid, member_id="SECOND000001")
    c = create_coverage(pid, member_id="THIRD0000001")
    assert desk.post(f"/staff/patients/{pid}/coverages/{c}/move/up").status_code == 302
    with app.app_context():
        assert [db.session.get(Coverage, i).rank for i in (a, b, c)] == [1, 3, 2]
    response = desk.post(f"/staff/patients/{pid}/coverages/{a}/end", data={"end_date": "2026-06-30"})
    assert response.status_code == 302
    with app.app_context():
        ended = db.session.get(Coverage, a)
        assert (ended.status, ended.rank, ended.end_date) == ("ended", None, date(2026, 6, 30))
        assert [db.session.get(Coverage, i).rank for i in (b, c)] == [2, 1]
    page = desk.get(f"/staff/patients/{pid}").get_data(as_text=True)
    assert "Ended coverage" in page


def test_medicare_member_id_must_be_an_mbi(app, desk, create_patient):
    pid = create_patient()
    bad = desk.post(f"/staff/patients/{pid}/coverages/new",
                    data=_form(app, "medicare", member_id="123456789A"))
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    assert "11-character MBI" in page and 'value="123456789A"' in page
    good = desk.post(f"/staff/patients/{pid}/coverages/new",
                     data=_form(app, "medicare", member_id="1eg4-te5-mk73"))
    assert good.status_code == 302
    with app.app_context():
        assert db.session.execute(db.select(Coverage.member_id)).scalar_one() == "1EG4TE5MK73"


def test_subscriber_required_when_not_self(app, desk, create_patient):
    pid = create_patient()
    response = desk.post(f"/staff/patients/{pid}/coverages/new",
                         data=_form(app, relationship_code="spouse"))
    assert response.status_code == 422
    assert response.get_data(as_text=True).count("Needed when the patient is not the subscriber") == 3
    response = desk.post(f"/staff/patients/{pid}/coverages/new", data=_form(
        app, relationship_code="spouse", subscriber_family="Ionescu", subscriber_given="Ana",
        subscriber_birth_date="1979-02-03"))
    assert response.status_code == 302
    assert "Ionescu, Ana (Spouse)" in desk.get(f"/staff/patients/{pid}").get_data(as_text=True)


def test_dates_in_order(app, desk, create_patient):
    pid = create_patient()
    response = desk.post(f"/staff/patients/{pid}/coverages/new",
                         data=_form(app, end_date="2025-01-01"))
    assert response.status_code == 422
    assert "before the effective date" in response.get_data(as_text=True)


def _photo(fmt="JPEG", size=(400, 250), exif=True) -> bytes:
    img = Image.new("RGB", size, (200, 30, 30))
    buf = io.BytesIO()
    if exif and fmt == "JPEG":
        ex = Image.Exif()
        ex[0x010F] = "SyntheticCam"  # Make
        ex[0x8825] = {2: (41.0, 52.0, 0.0)}  # GPS
        img.save(buf, fmt, exif=ex)
    else:
        img.save(buf, fmt)
    return buf.getvalue()


def test_card_upload_is_reencoded_without_metadata(app, desk, create_patient, create_coverage):
    pid = create_patient()
    cid = create_coverage(pid)
    raw = _photo()
    assert b"SyntheticCam" in raw
    response = desk.post(f"/staff/patients/{pid}/coverages/{cid}/cards",
                         data={"side": "front", "image": (io.BytesIO(raw), "card.jpg")},
                         content_type="multipart/form-data")
    assert response.status_code == 302
    with app.app_context():
        card = db.session.execute(db.select(CardImage)).scalar_one()
        assert card.stored_name.endswith(".jpg") and "card" not in card.stored_name
        card_id = card.id
    served = desk.get(f"/staff/patients/{pid}/cards/{card_id}")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert served.headers["Cache-Control"] == "no-store"
    assert b"SyntheticCam" not in served.data
    with Image.open(io.BytesIO(served.data)) as img:
        assert not img.getexif()
    served.close()
    with app.app_context():
        assert db.session.execute(db.select(AuditEvent).filter_by(action="card.view")).scalar_one()


@pytest.mark.parametrize("payload, name, message", [
    (b"#!/bin/sh\necho hi\n", "card.jpg", "not a JPEG, PNG or WebP"),
    (b"GIF89a" + b"\0" * 40, "card.png", "not a JPEG, PNG or WebP"),
    (_photo("PNG"), "card.php", "Upload a JPEG, PNG or WebP picture"),
])
def test_card_upload_rejects_non_images(app, desk, create_patient, create_coverage,
                                        payload, name, message):
    pid = create_patient()
    cid = create_coverage(pid)
    response = desk.post(f"/staff/patients/{pid}/coverages/{cid}/cards",
                         data={"side": "front", "image": (io.BytesIO(payload), name)},
                         content_type="multipart/form-data")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(CardImage.id))) == 0


def test_card_size_cap(app, create_patient, create_coverage):
    pid = create_patient()
    cid = create_coverage(pid)
    with app.app_context(), pytest.raises(FieldErrors) as err:
        coverages.save_card(db.session.get(Coverage, cid), "front", io.BytesIO(b"x" * 2048),
                            upload_dir=app.config["INTAKE_UPLOAD_DIR"], max_bytes=1024)
    assert "over" in err.value.errors["image"][0]


def test_card_of_another_patient_is_not_found(app, desk, create_patient, create_coverage):
    owner = create_patient()
    other = create_patient(family_name="Okafor", given_name="Ada", phone_mobile="+13125550177")
    cid = create_coverage(owner)
    with app.app_context():
        card = coverages.save_card(db.session.get(Coverage, cid), "back", io.BytesIO(_photo()),
                                   upload_dir=app.config["INTAKE_UPLOAD_DIR"], max_bytes=10**7)
        db.session.commit()
        card_id = card.id
    assert desk.get(f"/staff/patients/{other}/cards/{card_id}").status_code == 404
    served = desk.get(f"/staff/patients/{owner}/cards/{card_id}")
    assert served.status_code == 200
    served.close()
    assert desk.get(f"/staff/patients/{other}/coverages/{cid}/edit").status_code == 404


def test_coverage_form_with_card_saves_all_or_nothing(app, desk, create_patient):
    pid = create_patient()
    response = desk.post(f"/staff/patients/{pid}/coverages/new", data={
        **_form(app), "card_front": (io.BytesIO(b"not an image"), "front.jpg")},
        content_type="multipart/form-data")
    assert response.status_code == 422
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Coverage.id))) == 0
        assert db.session.get(Patient, pid) is not None
