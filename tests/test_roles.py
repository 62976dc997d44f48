"""Every registered route, every role: who gets in and who does not."""

from __future__ import annotations

import re

import pytest

from tests.conftest import FY2026_DAY

ROLES = ("anonymous", "receptionist", "billing", "admin", "api token", "kiosk device")
IGNORED_ENDPOINTS = {"static", "bootstrap.static"}
# Routes that refuse a request without a body before doing anything: given one,
# the role matrix reaches what they answer (FHIR's POST search takes a form).
BODIES = {"fhir.search_post": {"data": {"_count": "1"}}}


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in IGNORED_ENDPOINTS:
            continue
        yield rule, app.view_functions[rule.endpoint]


def test_every_route_declares_its_roles(app):
    missing = [rule.rule for rule, view in _routes(app) if not hasattr(view, "allowed_roles")]
    assert missing == []


def _api_token_and_export(app):
    """A read-only token and a finished export of its, with one file."""
    from intake.extensions import db
    from intake.models import BulkExport
    from intake.services import bulk, tokens

    with app.app_context():
        record, plain = tokens.create_token("Role matrix")
        job = BulkExport(id="00000000-0000-4000-8000-00000000abcd", level="system",
                         types=["Patient"], status="complete", progress=100,
                         request_url="http://localhost/fhir/$export", token_id=record.id,
                         output=[{"type": "Patient", "file": "Patient.ndjson", "count": 0}])
        job.transaction_time = job.completed_at = job.requested_at = __import__(
            "datetime").datetime.now(__import__("datetime").timezone.utc)
        job.expires_at = job.completed_at + __import__("datetime").timedelta(hours=1)
        db.session.add(job)
        db.session.commit()
        bulk.export_dir(job.id).mkdir(parents=True, exist_ok=True)
        (bulk.export_dir(job.id) / "Patient.ndjson").write_bytes(b"")
        return plain, job.id


def _pair_and_merge(app, create_patient, patient_id):
    """A worklist pair and a merge record of two other charts."""
    from datetime import date

    from intake.extensions import db
    from intake.models import ChartMerge, DuplicatePair

    a = create_patient(given_name="Ann", birth_date=date(1971, 1, 1))
    b = create_patient(given_name="Anne", birth_date=date(1971, 1, 1))
    with app.app_context():
        pair = DuplicatePair(low_id=patient_id, high_id=a, score=95, reasons=[])
        record = ChartMerge(survivor_id=a, retired_id=b, before={}, moved=[],
                            undone_at=__import__("datetime").datetime.now(
                                __import__("datetime").timezone.utc))
        db.session.add_all([pair, record])
        db.session.commit()
        return {"pair_id": pair.id, "merge_id": record.id}


def _url(rule, values, default=None):
    """The rule's path with its arguments filled from `values`; an argument
    missing there is an error unless a `default` is given (the attack walks
    only need some id, the role matrix needs real rows)."""
    path = rule.rule
    for name in rule.arguments:
        value = values[name] if default is None else values.get(name, default)
        path = re.sub(rf"<(?:\w+:)?{name}>", str(value), path)
    return path


@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(app, role, client_as, create_patient, create_coverage, create_user,
                     create_visit, create_provider):
    from io import BytesIO

    from PIL import Image

    from intake.extensions import db
    from intake.models import Coverage
    from intake.services import coverages
    from tests.kiosk.factories import enroll_code, enrolled_client, submit_intake

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
        from intake.models import AppointmentType
        from intake.services.schedule import booking
        kind = AppointmentType(name="Follow-up", minutes=20)
        db.session.add(kind)
        db.session.flush()
        appointment = booking.book({"patient_id": patient_id, "provider_id": provider_id,
                                    "type_id": kind.id, "overbook_reason": "role matrix",
                                    "start": booking.local_start(FY2026_DAY, __import__(
                                        "datetime").time(10))})
        db.session.commit()
        values = {"appointment_id": appointment.id, "patient_id": patient_id,
                  "coverage_id": coverage_id, "card_id": card_id,
                  "user_id": user_id, "payer_id": 1, "direction": "up", "visit_id": visit_id,
                  "provider_id": provider_id, "diagnosis_id": diagnosis.id, "action": "up",
                  "line_id": line.id, "payment_id": payment.id, "fee_id": 1,
                  "export_id": 1}
    values.update(_pair_and_merge(app, create_patient, patient_id))
    token, job_id = _api_token_and_export(app)
    values.update(resource_type="Patient", resource_id=str(patient_id), job_id=job_id,
                  filename="Patient.ndjson", export_id=1)
    values.update(submission_id=submit_intake(app), device_id=enroll_code(app, "spare tablet")[0],
                  step="about", key="sig-treatment", token="0123456789abcdef")
    if role == "anonymous":
        client = app.test_client()
    elif role == "api token":
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    elif role == "kiosk device":
        client = enrolled_client(app)
        client.post("/kiosk/start", data={"language": "en"})  # a draft, so kiosk pages render
    else:
        client = client_as(role)

    checked = 0
    statuses = {}
    for rule, view in _routes(app):
        allowed = view.allowed_roles
        if rule.endpoint == "auth.logout":
            continue  # signs the client out; covered in test_auth
        method = next(m for m in ("GET", "POST", "DELETE") if m in rule.methods)
        url = _url(rule, values)
        response = client.open(url, method=method, **BODIES.get(rule.endpoint, {}))
        response.close()  # file responses (card images) hold the file open
        checked += 1
        statuses[rule.endpoint] = response.status_code
        where = f"{method} {rule.rule} as {role}"
        if "public" in allowed:
            assert response.status_code != 403, where
        elif "api" in allowed:
            # The FHIR API takes a bearer token only: sessions count for nothing.
            if role == "api token":
                assert response.status_code not in (401, 403), where
            else:
                assert response.status_code == 401, where
        elif "kiosk" in allowed:
            # Only an enrolled device: a staff sign-in counts for nothing there.
            if role == "kiosk device":
                assert response.status_code not in (401, 403), where
            else:
                assert response.status_code == 403, where
        elif role in ("anonymous", "kiosk device"):
            # The kiosk's cookie grants nothing outside the kiosk.
            assert response.status_code == 302 and "/login" in response.headers["Location"], where
        elif role == "api token":  # a token opens the FHIR API and nothing else
            assert response.status_code == 302 and "/login" in response.headers["Location"], where
        elif role in allowed:
            assert response.status_code not in (401, 403), where
            assert not (response.status_code == 302
                        and "/login" in response.headers.get("Location", "")), where
        else:
            assert response.status_code == 403, where
    assert checked >= 15
    # The FHIR searches, GET and POST, answer a token with a Bundle and anyone else with 401.
    for endpoint in ("fhir.search", "fhir.search_post"):
        assert statuses[endpoint] == (200 if role == "api token" else 401), (endpoint, role)
    assert any("kiosk" in r.rule for r, _ in _routes(app))
