"""Every registered route, every role: who gets in and who does not."""

from __future__ import annotations

import re

import pytest

from tests.conftest import FY2026_DAY

ROLES = ("anonymous", "receptionist", "billing", "admin")
IGNORED_ENDPOINTS = {"static", "bootstrap.static"}


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in IGNORED_ENDPOINTS:
            continue
        yield rule, app.view_functions[rule.endpoint]


def test_every_route_declares_its_roles(app):
    missing = [rule.rule for rule, view in _routes(app) if not hasattr(view, "allowed_roles")]
    assert missing == []


def _url(rule, values):
    path = rule.rule
    for name in rule.arguments:
        path = re.sub(rf"<(?:\w+:)?{name}>", str(values[name]), path)
    return path


@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(app, role, client_as, create_patient, create_coverage, create_user,
                     create_visit, create_provider):
    from io import BytesIO

    from PIL import Image

    from intake.extensions import db
    from intake.models import Coverage
    from intake.services import coverages

    patient_id = create_patient()
    coverage_id = create_coverage(patient_id)
    with app.app_context():
        buf = BytesIO()
        Image.new("RGB", (20, 10), "white").save(buf, "PNG")
        buf.seek(0)
        card = coverages.save_card(db.session.get(Coverage, coverage_id), "front", buf,
                                   upload_dir=app.config["INTAKE_UPLOAD_DIR"], max_bytes=10**6)
        db.session.commit()
        card_id = card.id
    user_id, _ = create_user("billing")
    provider_id = create_provider()
    visit_id = create_visit(patient_id, day=FY2026_DAY, provider_id=provider_id)
    with app.app_context():
        from intake.models import Patient, Visit
        from intake.services import charges, payments, practice

        visit = db.session.get(Visit, visit_id)
        diagnosis = charges.add_diagnosis(visit, "E11.9")
        practice.save_fee("99213", 12000, "Office visit, established")
        line = charges.save_line(visit, {"code": "99213", "pointers": [1], "units": 1})
        payment = payments.record_payment(db.session.get(Patient, patient_id), {
            "kind": "copay", "method": "cash", "amount_cents": 2500}, visit=visit,
            received_by_id=user_id)
        db.session.commit()
        values = {"patient_id": patient_id, "coverage_id": coverage_id, "card_id": card_id,
                  "user_id": user_id, "payer_id": 1, "direction": "up", "visit_id": visit_id,
                  "provider_id": provider_id, "diagnosis_id": diagnosis.id, "action": "up",
                  "line_id": line.id, "payment_id": payment.id, "fee_id": 1}
    client = app.test_client() if role == "anonymous" else client_as(role)

    checked = 0
    for rule, view in _routes(app):
        allowed = view.allowed_roles
        if rule.endpoint == "auth.logout":
            continue  # signs the client out; covered in test_auth
        method = "GET" if "GET" in rule.methods else "POST"
        url = _url(rule, values)
        response = client.open(url, method=method)
        response.close()  # file responses (card images) hold the file open
        checked += 1
        where = f"{method} {rule.rule} as {role}"
        if "public" in allowed:
            assert response.status_code != 403, where
        elif role == "anonymous":
            assert response.status_code == 302 and "/login" in response.headers["Location"], where
        elif role in allowed:
            assert response.status_code not in (401, 403), where
            assert not (response.status_code == 302
                        and "/login" in response.headers.get("Location", "")), where
        else:
            assert response.status_code == 403, where
    assert checked >= 15
