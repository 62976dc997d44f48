"""The attack classes that have hit OpenEMR, tried against intake (issue 7).
Every attack must fail; each row of the table in tests/hardening/ATTACKS.md
(the attack, what was tried, what is expected and what was observed) is one
or more tests in this file.
"""

from __future__ import annotations

import hashlib
import io
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from markupsafe import escape
from PIL import Image
from sqlalchemy import text

from intake.extensions import db
from tests.conftest import FY2026_DAY, TEST_PASSWORD, login, patient_fields
from tests.kiosk.factories import enrolled_client, fill_intake, submit_intake
from tests.test_roles import _routes, _url

XSS = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>',
       "'><svg/onload=alert(1)>", "javascript:alert(1)//<b>x</b>"]
SQL = ["' OR '1'='1", "' OR 1=1 --", "'; DROP TABLE patients;--", "%", "_", "%%", "\\",
       "a' UNION SELECT mrn FROM patients --", "1;DELETE FROM payments", "*"]


def counts(app: Any) -> dict[str, int]:
    with app.app_context():
        out = {t.name: db.session.execute(text(f"SELECT COUNT(*) FROM {t.name}")).scalar_one()
               for t in db.metadata.sorted_tables
               if t.name not in ("audit_events", "staff_sessions", "kiosk_drafts")}
        db.session.remove()
    return out


def fingerprint(app: Any) -> str:
    with app.app_context():
        parts = []
        for t in db.metadata.sorted_tables:
            if t.name in ("audit_events", "staff_sessions", "kiosk_drafts", "users",
                          "api_tokens", "kiosk_devices"):
                continue
            rows = db.session.execute(text(f"SELECT * FROM {t.name}")).all()
            parts.append(t.name + repr(sorted(repr(tuple(r)) for r in rows)))
        db.session.remove()
    return hashlib.sha256("".join(parts).encode()).hexdigest()


def png_bytes(size: tuple[int, int] = (40, 20)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, "white").save(buf, "PNG")
    return buf.getvalue()


def api_client(app: Any, name: str = "Back office") -> tuple[Any, Any]:
    from intake.services import tokens

    with app.app_context():
        record, plain = tokens.create_token(name)
        db.session.commit()
        token_id = record.id
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {plain}"
    return client, token_id


def finished_job(app: Any, token_id: int, job_id: str) -> str:
    from intake.models import BulkExport
    from intake.services import bulk

    with app.app_context():
        now = datetime.now(timezone.utc)
        job = BulkExport(id=job_id, level="system", types=["Patient"], status="complete",
                         progress=100, request_url="http://localhost/fhir/$export",
                         token_id=token_id,
                         output=[{"type": "Patient", "file": "Patient.ndjson", "count": 1}])
        job.transaction_time = job.completed_at = job.requested_at = now
        job.expires_at = now + timedelta(hours=1)
        db.session.add(job)
        db.session.commit()
        folder = bulk.export_dir(job_id)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "Patient.ndjson").write_text('{"resourceType":"Patient","id":"1"}\n')
        return job_id


@pytest.fixture
def atk_two_patients(app, create_patient, create_coverage, create_provider, create_visit,
                     create_user):
    """Patients A and B, each with a coverage, a card picture, a visit with a
    diagnosis and a charge line, and a payment."""
    from intake.models import Coverage, Patient, Visit
    from intake.services import charges, coverages, payments, practice

    staff_id, _ = create_user("receptionist")
    provider = create_provider()
    out: dict[str, dict[str, int]] = {}
    with app.app_context():
        practice.save_fee("99213", 12000, "Office visit")
        db.session.commit()
    for key, family, phone in (("a", "Alpha", "+12175550143"), ("b", "Bravo", "+12175550144")):
        pid = create_patient(family_name=family, given_name="Pat", phone_mobile=phone,
                             email=f"{family.lower()}@example.com",
                             birth_date=datetime(1970 + len(out), 1, 2).date())
        cid = create_coverage(pid)
        vid = create_visit(pid, day=FY2026_DAY, provider_id=provider)
        with app.app_context():
            card = coverages.save_card(db.session.get(Coverage, cid), "front",
                                       io.BytesIO(png_bytes()),
                                       upload_dir=app.config["INTAKE_UPLOAD_DIR"], max_bytes=10**6)
            visit = db.session.get(Visit, vid)
            dx = charges.add_diagnosis(visit, "E11.9")
            line = charges.save_line(visit, {"code": "99213", "pointers": [1], "units": 1})
            pay = payments.record_payment(db.session.get(Patient, pid), {
                "kind": "copay", "method": "cash", "amount_cents": 2500}, visit=visit,
                received_by_id=staff_id)
            db.session.commit()
            mrn = db.session.get(Patient, pid).mrn
            out[key] = {"patient": pid, "coverage": cid, "card": card.id, "visit": vid,
                        "diagnosis": dx.id, "line": line.id, "payment": pay.id, "mrn": mrn}
    return out


# ---- A. sort/order injection (CVE-2026-24908) ------------------------------------

SORT_PAYLOADS = ["family;DROP TABLE patients", "(SELECT 1)", "family desc", "1", "family--",
                 "CASE WHEN 1=1 THEN family END", "family_norm", "patients.id", "-(id)",
                 "family,given;--", "_id' OR '1'='1", "id"]


@pytest.mark.parametrize("resource", ["Patient", "Encounter", "Claim", "Coverage", "Condition"])
def test_a_fhir_sort_injection_is_refused(app, atk_two_patients, resource):
    api, _ = api_client(app)
    before = counts(app)
    for payload in SORT_PAYLOADS:
        response = api.get(f"/fhir/{resource}", query_string={"_sort": payload})
        assert response.status_code == 400, (resource, payload, response.status_code)
        body = response.get_json()
        assert body["resourceType"] == "OperationOutcome"
    assert counts(app) == before
    # The allow-listed keys still work, in both directions.
    assert api.get(f"/fhir/{resource}", query_string={"_sort": "-_id"}).status_code == 200


def test_a_fhir_sort_orders_only_by_allowed_columns(app, atk_two_patients):
    api, _ = api_client(app)
    asc = api.get("/fhir/Patient", query_string={"_sort": "family"}).get_json()
    desc = api.get("/fhir/Patient", query_string={"_sort": "-family"}).get_json()
    names = [e["resource"]["name"][0]["family"] for e in asc["entry"]]
    assert names == ["Alpha", "Bravo"]
    assert [e["resource"]["name"][0]["family"] for e in desc["entry"]] == ["Bravo", "Alpha"]


def test_a_sort_and_order_params_on_html_pages_are_ignored(app, atk_two_patients, client_as):
    """No HTML page takes a sort column from the request: extra order
    parameters change nothing and reach no SQL."""
    clients = {"receptionist": client_as("receptionist"), "billing": client_as("billing"),
               "admin": client_as("admin")}
    before = counts(app)
    pages = [("receptionist", "/staff/board"), ("receptionist", "/staff/kiosk"),
             ("billing", "/billing/"), ("billing", "/billing/exports"), ("billing", "/staff/day"),
             ("admin", "/admin/audit"), ("admin", "/admin/payers"), ("admin", "/admin/"),
             ("admin", "/admin/fees"), ("receptionist",
                                        f"/staff/patients/{atk_two_patients['a']['patient']}")]
    for role, path in pages:
        plain = clients[role].get(path)
        assert plain.status_code == 200, path
        for payload in SORT_PAYLOADS[:6]:
            response = clients[role].get(path, query_string={
                "sort": payload, "order": payload, "order_by": payload, "dir": payload,
                "_sort": payload, "orderby": payload})
            assert response.status_code == 200, (path, payload)
    assert counts(app) == before


# ---- B. search-term injection (CVE-2018-15144) -----------------------------------

def test_b_staff_search_terms_are_data(app, atk_two_patients, desk):
    a, b = atk_two_patients["a"], atk_two_patients["b"]
    found = desk.post("/staff/", data={"q": "alpha"}).get_data(as_text=True)
    assert a["mrn"] in found and b["mrn"] not in found  # the search works
    before = counts(app)
    for payload in SQL + ["²" * 10, "١٢٣٤٥٦٧٨٩٠"]:
        response = desk.post("/staff/", data={"q": payload})
        assert response.status_code in (200, 422), payload
        body = response.get_data(as_text=True)
        assert a["mrn"] not in body and b["mrn"] not in body, payload
    for payload in (f"alpha{p}" for p in SQL):
        # Punctuation is ignored in names ('alpha%' is 'alpha'): A only, never B.
        body = desk.post("/staff/", data={"q": payload}).get_data(as_text=True)
        assert b["mrn"] not in body, payload
    assert counts(app) == before


def test_b_fhir_search_terms_are_data(app, atk_two_patients):
    api, _ = api_client(app)
    assert api.get("/fhir/Patient", query_string={"name": "alp"}).get_json()["total"] == 1
    before = counts(app)
    for param in ("name", "family", "given", "identifier", "_id"):
        for payload in SQL + ["1 OR 1=1", "²", "99999999999999999999999"]:
            response = api.get("/fhir/Patient", query_string={param: payload})
            assert response.status_code in (200, 400), (param, payload)
            if response.status_code == 200:
                assert response.get_json()["total"] == 0, (param, payload)
        for payload in ("alp%", "alp_", "alp' OR '1'='1", "alp%' --"):
            # Punctuation is dropped from names ('alp%' is 'alp'): Alpha at most.
            response = api.get("/fhir/Patient", query_string={param: payload})
            assert response.status_code in (200, 400), (param, payload)
            if response.status_code == 200:
                assert response.get_json()["total"] <= 1, (param, payload)
    for resource, param in (("Coverage", "patient"), ("Encounter", "patient"),
                            ("Condition", "encounter"), ("Practitioner", "identifier"),
                            ("Encounter", "date")):
        for payload in SQL + ["1 OR 1=1", "Patient/1 OR 1=1", "²"]:
            response = api.get(f"/fhir/{resource}", query_string={param: payload})
            assert response.status_code in (200, 400), (resource, param, payload)
            if response.status_code == 200:
                assert response.get_json()["total"] == 0, (resource, param, payload)
    assert counts(app) == before


def test_b_out_of_range_ids_are_not_found_not_errors(app, atk_two_patients, desk):
    api, _ = api_client(app)
    for path in ("/fhir/Patient/99999999999999999999999", "/fhir/Patient/%C2%B2",
                 "/fhir/Organization/payer-%C2%B2", "/fhir/Patient/-1"):
        assert api.get(path).status_code == 404, path
    assert api.get("/fhir/Patient?_count=%C2%B2").status_code == 400
    for path in ("/staff/patients/99999999999999999999999", "/staff/visits/2147483648",
                 "/staff/payments/99999999999999999999/receipt"):
        assert desk.get(path).status_code == 404, path


# ---- C. object-level access by id (CVE-2026-25147) -------------------------------

def test_c_patient_b_urls_do_not_reach_patient_a_objects(app, atk_two_patients, desk):
    a, b = atk_two_patients["a"], atk_two_patients["b"]
    before = fingerprint(app)
    pb = b["patient"]
    gets = [f"/staff/patients/{pb}/cards/{a['card']}",
            f"/staff/patients/{pb}/coverages/{a['coverage']}/edit"]
    for path in gets:
        assert desk.get(path).status_code == 404, path
    posts = [(f"/staff/patients/{pb}/coverages/{a['coverage']}/edit",
              {"payer_id": "1", "member_id": "HIJACKED"}),
             (f"/staff/patients/{pb}/coverages/{a['coverage']}/end", {"end_date": "2026-01-31"}),
             (f"/staff/patients/{pb}/coverages/{a['coverage']}/move/down", {}),
             (f"/staff/patients/{pb}/coverages/{a['coverage']}/cards",
              {"side": "back", "image": (io.BytesIO(png_bytes()), "c.png")})]
    for path, data in posts:
        assert desk.post(path, data=data).status_code == 404, path
    # A's diagnosis and charge line through B's visit: refused, nothing removed.
    for path in (f"/staff/visits/{b['visit']}/diagnoses/{a['diagnosis']}/remove",
                 f"/staff/visits/{b['visit']}/diagnoses/{a['diagnosis']}/down",
                 f"/staff/visits/{b['visit']}/lines/{a['line']}/remove"):
        response = desk.post(path)
        assert response.status_code in (302, 404), path
    # A payment on B's chart cannot be booked against A's visit.
    response = desk.post(f"/staff/patients/{pb}/payments/new", data={
        "visit_id": str(a["visit"]), "kind": "copay", "method": "cash", "amount": "5.00"})
    assert response.status_code == 422
    assert fingerprint(app) == before


def test_c_card_image_is_served_only_under_its_own_patient(app, atk_two_patients, desk):
    a = atk_two_patients["a"]
    response = desk.get(f"/staff/patients/{a['patient']}/cards/{a['card']}")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    response.close()


def test_c_kiosk_tablet_sees_nothing_but_its_own_draft(app, atk_two_patients):
    sub_id = submit_intake(app)
    first = enrolled_client(app, "Tablet one")
    fill_intake(first, app, submit=False)
    assert first.get("/kiosk/picture/card-primary_front").status_code == 200
    second = enrolled_client(app, "Tablet two")
    second.post("/kiosk/start", data={"language": "en"})
    for key in ("card-primary_front", "card-primary_back", "sig-treatment",
                "card-../../secret_key", "card-primary_front/../../x"):
        assert second.get(f"/kiosk/picture/{quote(key)}").status_code == 404, key
    a = atk_two_patients["a"]
    for path in (f"/staff/kiosk/{sub_id}", f"/staff/kiosk/{sub_id}/picture/card-0-front",
                 f"/staff/kiosk/{sub_id}/picture/sig-treatment", "/staff/kiosk",
                 f"/staff/patients/{a['patient']}", f"/staff/payments/{a['payment']}/receipt",
                 f"/staff/patients/{a['patient']}/cards/{a['card']}"):
        response = second.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    before = fingerprint(app)
    response = second.post(f"/staff/kiosk/{sub_id}/accept", data={"confirm_new": "y"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert fingerprint(app) == before


def test_c_fhir_token_reads_only_its_own_jobs(app, atk_two_patients):
    owner, owner_id = api_client(app, "Owner")
    other, _ = api_client(app, "Other")
    job = finished_job(app, owner_id, "00000000-0000-4000-8000-0000000000aa")
    assert owner.get(f"/fhir/bulk/{job}").status_code == 200
    served = owner.get(f"/fhir/bulk/{job}/Patient.ndjson")
    assert served.status_code == 200
    served.close()
    assert other.get(f"/fhir/bulk/{job}").status_code == 404
    assert other.get(f"/fhir/bulk/{job}/Patient.ndjson").status_code == 404
    assert other.delete(f"/fhir/bulk/{job}").status_code == 404
    assert owner.get(f"/fhir/bulk/{job}").status_code == 200  # not cancelled by the other


# ---- D. stored XSS in print views (CVE-2021-32103) -------------------------------

def test_d_stored_script_is_escaped_in_every_view(app, create_user, create_provider,
                                                   client_as):
    """Payloads stored straight through the services (as an import or an old
    record would), so the templates alone must keep them inert."""
    from intake.services import (charges, coverages, patients, payers, payments, practice,
                                 visits)

    s1, s2, s3 = XSS[:3]
    staff_id, _ = create_user("receptionist")
    with app.app_context():
        practice.save_practice({"name": f"Clinic {s2}", "address_line1": s1, "city": s3,
                                "state": "IL", "postal_code": "62704", "phone": None,
                                "npi": None, "tax_id": None, "default_pos": "11"})
        payer = payers.save_payer(None, {"name": f"Payer {s1}", "payer_code": "XSS1",
                                         "kind": "commercial", "active": True})
        db.session.commit()
        payer_id = payer.id
    provider = create_provider(family_name=f"Doc{s1}", given_name=s2, credentials="MD")
    fields = patient_fields(family_name=f"Evil{s1}", given_name=s2, preferred_name=s3,
                            middle_name=s1, address_line1=s1, city=s2,
                            emergency_name=s1, emergency_relationship=s2,
                            emergency_phone="+12175550199", email="evil@example.com")
    with app.app_context():
        patient = patients.register_patient(fields, confirm_new=True)
        coverage = coverages.add_coverage(patient, {
            "payer_id": payer_id, "member_id": s1, "group_number": s2, "plan_name": s3,
            "relationship_code": "spouse", "subscriber_family": s1, "subscriber_given": s2,
            "subscriber_birth_date": datetime(1970, 1, 1).date(), "copay_cents": 1000})
        visit = visits.create_visit(patient, {"provider_id": provider,
                                              "date_of_service": FY2026_DAY,
                                              "place_of_service": "11", "reason": s1})
        today_visit = visits.create_visit(patient, {"provider_id": provider,
                                                    "date_of_service": __import__(
                                                        "intake.services.clock", fromlist=["x"]
                                                    ).today(),
                                                    "place_of_service": "11", "reason": s3})
        charges.add_diagnosis(visit, "E11.9")
        payment = payments.record_payment(patient, {
            "kind": "copay", "method": "other", "amount_cents": 1000, "note": s1,
            "check_number": "<b>1</b>"}, visit=visit, received_by_id=staff_id)
        payments.void_payment(payment, f"void {s3}")
        payment2 = payments.record_payment(patient, {
            "kind": "copay", "method": "check", "amount_cents": 500,
            "check_number": "<i>2</i>", "note": s3}, visit=today_visit, received_by_id=staff_id)
        db.session.commit()
        ids = {"p": patient.id, "c": coverage.id, "v": visit.id, "tv": today_visit.id,
               "pay": payment.id, "pay2": payment2.id}
    sub_id = submit_intake(app, about={"given_name": "Zoe"},
                           contact={"address_line1": s1, "city": s2})
    desk, billing, admin = client_as("receptionist"), client_as("billing"), client_as("admin")
    pages = [
        (desk, f"/staff/patients/{ids['p']}"), (desk, f"/staff/patients/{ids['p']}/edit"),
        (desk, f"/staff/patients/{ids['p']}/coverages/{ids['c']}/edit"),
        (desk, f"/staff/visits/{ids['v']}"), (desk, f"/staff/visits/{ids['tv']}"),
        (desk, f"/staff/payments/{ids['pay']}/receipt"),
        (desk, f"/staff/payments/{ids['pay2']}/receipt"),
        (desk, "/staff/board"), (desk, f"/staff/board?day={FY2026_DAY.isoformat()}"),
        (billing, "/staff/day"), (billing, f"/staff/day?day={FY2026_DAY.isoformat()}"),
        (billing, f"/staff/patients/{ids['p']}/balance"),
        (billing, "/billing/?date_from=2025-11-01&date_to=2025-11-30"),
        (desk, "/staff/kiosk"), (desk, f"/staff/kiosk/{sub_id}"),
        (desk, f"/staff/kiosk/{sub_id}/merge/{ids['p']}"),
        (desk, f"/staff/patients/{ids['p']}/payments/new"),
        (desk, f"/staff/patients/{ids['p']}/visits/new"),
        (admin, "/admin/payers"), (admin, f"/admin/payers/{payer_id}/edit"),
        (admin, "/admin/practice"), (admin, f"/admin/providers/{provider}/edit"),
    ]
    seen_escaped = set()
    for client, path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        body = response.get_data(as_text=True)
        for payload in XSS[:3] + ["<b>1</b>", "<i>2</i>"]:
            assert payload not in body, (path, payload)
            if str(escape(payload)) in body:
                seen_escaped.add(path)
    # Search results and the duplicate warning (register the same person again).
    for i, response in enumerate((desk.post("/staff/", data={"q": "evil"}),
                     desk.post("/staff/patients/new", data={
                         "family_name": "Evil", "given_name": "Script", "birth_date": "1980-03-14",
                         "sex": "male", "phone_mobile": "(217) 555-0143"}),
                     desk.post("/staff/patients/duplicates", data={
                         "family_name": "Evil", "given_name": "Script",
                         "birth_date": "1980-03-14", "phone_mobile": "(217) 555-0143"}))):
        body = response.get_data(as_text=True)
        assert response.status_code < 500, (i, response.status_code)
        for payload in XSS[:3]:
            assert payload not in body
        assert str(escape(s2)) in body or "Evil" in body, (i, body[:300])  # it was listed
    # The payloads were really on the pages (escaped), not merely absent.
    print_views = {f"/staff/patients/{ids['p']}", f"/staff/payments/{ids['pay']}/receipt",
                   f"/staff/payments/{ids['pay2']}/receipt", "/staff/day", "/staff/board",
                   f"/staff/visits/{ids['v']}", f"/staff/kiosk/{sub_id}", "/admin/payers"}
    assert print_views <= seen_escaped, print_views - seen_escaped


def test_d_kiosk_review_escapes_what_the_patient_typed(app):
    tablet = enrolled_client(app)
    fill_intake(tablet, app, contact={"address_line1": XSS[0], "city": XSS[1]},
                submit=False)
    body = tablet.get("/kiosk/review").get_data(as_text=True)
    assert XSS[0] not in body and XSS[1] not in body
    assert str(escape(XSS[0])) in body


# ---- E. reflected XSS through query parameters (CVE-2018-10571) -------------------

QUERY_PARAMS = ("q", "day", "date", "date_from", "date_to", "payer_id", "action", "mrn", "page",
                "system", "visit", "exclude", "next", "sort", "order", "msg", "error",
                "message", "lang", "language", "step", "reason", "notice", "_format")


def _appointment(app, patient_id):
    """A booked appointment, so the schedule's pages render (and could reflect)."""
    from datetime import time as clock_time

    from intake.models import AppointmentType, Provider
    from intake.services.schedule import booking

    with app.app_context():
        kind = AppointmentType(name="Follow-up", minutes=20)
        db.session.add(kind)
        db.session.flush()
        provider = db.session.execute(db.select(Provider.id)).scalars().first()
        appt = booking.book({"patient_id": patient_id, "provider_id": provider,
                             "type_id": kind.id, "overbook_reason": "attack tests",
                             "start": booking.local_start(FY2026_DAY, clock_time(10))})
        db.session.commit()
        return appt.id


@pytest.mark.parametrize("role", ["anonymous", "receptionist", "billing", "admin", "kiosk"])
def test_e_no_query_parameter_is_reflected_unescaped(app, atk_two_patients, client_as, role):
    a = atk_two_patients["a"]
    values = {"patient_id": a["patient"], "coverage_id": a["coverage"], "card_id": a["card"],
              "user_id": 1, "payer_id": 1, "direction": "up", "visit_id": a["visit"],
              "provider_id": 1, "diagnosis_id": a["diagnosis"], "action": "up",
              "line_id": a["line"], "payment_id": a["payment"], "fee_id": 1,
              "resource_type": "Patient", "resource_id": str(a["patient"]),
              "job_id": "none", "filename": "Patient.ndjson", "submission_id": 1,
              "device_id": 1, "step": "about", "key": "sig-treatment",
              "appointment_id": _appointment(app, a["patient"]),
              "pair_id": 1, "merge_id": 1, "export_id": 1,
              "token": "0123456789abcdef"}
    if role == "anonymous":
        client = app.test_client()
    elif role == "kiosk":
        client = enrolled_client(app)
        client.post("/kiosk/start", data={"language": "en"})
    else:
        client = client_as(role)
    checked = 0
    for rule, _view in _routes(app):
        if "GET" not in rule.methods or rule.endpoint == "auth.logout":
            continue
        url = _url(rule, values, default=1)
        for payload in XSS:
            response = client.get(url, query_string={p: payload for p in QUERY_PARAMS})
            body = response.get_data().decode("utf-8", "replace")
            response.close()
            assert response.status_code < 500, (url, payload)
            assert payload not in body, (role, url, payload)
            for header, value in response.headers.items():
                assert "<" not in value, (url, header)
            checked += 1
    assert checked > 40


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x",
                                    "javascript:alert(1)", "/\\evil.example", "\\\\evil.example",
                                    "http:/evil.example", "/%2F%2Fevil.example",
                                    " //evil.example", "\t//evil.example"])
def test_e_login_next_stays_on_this_site(app, create_user, target):
    _, username = create_user("receptionist")
    client = app.test_client()
    page = client.get("/login", query_string={"next": target}).get_data(as_text=True)
    assert "<script" not in page.lower().replace("<script src=", "")
    response = client.post(f"/login?next={quote(target, safe='')}",
                           data={"username": username, "password": TEST_PASSWORD})
    assert response.status_code == 302
    location = response.headers["Location"]
    # A path on this site (percent-encoded slashes are a path, not a host).
    assert location.startswith("/") and location[1:2] not in ("/", "\\"), location
    assert not any(c in location for c in "\t\\ ") and ":" not in location, location


# ---- F. auth-bypass flags (CVE-2015-4453) -----------------------------------------

STAFF_PAGES = ["/staff/", "/staff/board", "/admin/", "/admin/audit", "/billing/", "/staff/day",
               "/staff/kiosk", "/account/password"]


def _is_login_redirect(response: Any) -> bool:
    return response.status_code == 302 and "/login" in response.headers.get("Location", "")


def test_f_flags_headers_and_basic_auth_open_nothing(app, create_user):
    _, username = create_user("admin", username="boss")
    client = app.test_client()
    flags = {"auth": "1", "ignoreAuth": "1", "ignoreAuth_onsite_portal": "true", "admin": "1",
             "authenticated": "true", "login": "1", "user": "boss", "role": "admin",
             "bypass": "1", "debug": "1", "site": "default"}
    headers = {"X-Forwarded-User": "boss", "X-Remote-User": "boss", "Remote-User": "boss",
               "X-User": "boss", "X-Auth-User": "boss", "X-Forwarded-For": "127.0.0.1",
               "X-Original-URL": "/login", "X-Rewrite-URL": "/login"}
    import base64

    basic = base64.b64encode(f"boss:{TEST_PASSWORD}".encode()).decode()
    for path in STAFF_PAGES:
        assert _is_login_redirect(client.get(path, query_string=flags)), path
        assert _is_login_redirect(client.get(path, headers=headers)), path
        assert _is_login_redirect(client.get(path, environ_base={"REMOTE_USER": "boss"})), path
        for auth in (f"Bearer {TEST_PASSWORD}", f"Basic {basic}", f"Bearer boss:{TEST_PASSWORD}"):
            assert _is_login_redirect(client.get(path, headers={"Authorization": auth})), path
        before = counts(app)
        assert _is_login_redirect(client.post(path, data=flags, headers=headers)) or \
            client.post(path, data=flags).status_code in (404, 405), path
        assert counts(app) == before


def test_f_forged_session_cookies_open_nothing(app, create_user):
    from flask.sessions import SecureCookieSessionInterface

    user_id, username = create_user("admin")
    real = app.test_client()
    assert login(real, username).status_code == 302
    with app.app_context():
        from intake.models import User

        user = db.session.get(User, user_id)
        fields = {"_user_id": str(user_id), "_fresh": True, "user_id": user_id,
                  "role": "admin", "username": username}
        stale_token = getattr(user, "session_token", None)
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    forged_right_key = serializer.dumps({**fields, "_user_id": "not-a-session-token"})
    import itsdangerous

    wrong = itsdangerous.URLSafeTimedSerializer(
        "guessed-secret", salt="cookie-session", signer_kwargs={
            "key_derivation": "hmac", "digest_method": hashlib.sha1})
    forged_wrong_key = wrong.dumps(fields)
    for cookie in (forged_right_key, forged_wrong_key, "eyJfdXNlcl9pZCI6IjEifQ.x.y",
                   "admin", "' OR '1'='1", stale_token or "x"):
        client = app.test_client()
        client.set_cookie("intake_session", cookie)
        for path in STAFF_PAGES:
            assert _is_login_redirect(client.get(path)), (cookie[:20], path)


def test_f_kiosk_and_api_credentials_open_no_staff_page(app, create_user):
    tablet = enrolled_client(app)
    tablet.post("/kiosk/start", data={"language": "en"})
    device = tablet.get_cookie("intake_kiosk_device", path="/kiosk")
    kiosk_session = tablet.get_cookie("intake_kiosk_session", path="/kiosk")
    assert device is not None
    api, _ = api_client(app)
    bearer = api.environ_base["HTTP_AUTHORIZATION"].split()[1]
    client = app.test_client()
    # The kiosk's cookies sent to staff paths (a tampered browser ignores Path).
    client.set_cookie("intake_kiosk_device", device.value)
    client.set_cookie("intake_kiosk_session", kiosk_session.value)
    for path in STAFF_PAGES:
        assert _is_login_redirect(client.get(path)), path
    # A kiosk session cookie passed off as the staff cookie.
    client.set_cookie("intake_session", kiosk_session.value)
    client.set_cookie("intake_session", device.value)
    for path in STAFF_PAGES:
        assert _is_login_redirect(client.get(path)), path
    for path in STAFF_PAGES:
        assert _is_login_redirect(api.get(path)), path
        assert _is_login_redirect(app.test_client().get(path, headers={
            "Cookie": f"intake_session={bearer}"})), path


def test_f_fhir_ignores_staff_sessions_and_flags(app, client_as):
    admin = client_as("admin")
    for path in ("/fhir/Patient", "/fhir/Patient/1", "/fhir/$export", "/fhir/bulk/x"):
        assert admin.get(path).status_code == 401, path
        assert admin.get(path, query_string={"auth": "1", "ignoreAuth": "1"}).status_code == 401
        assert app.test_client().get(path, headers={"X-Forwarded-User": "admin"}).status_code \
            == 401
        assert app.test_client().get(path, headers={"Authorization": f"Bearer {TEST_PASSWORD}"}
                                     ).status_code == 401


# ---- G. uploads that execute (CVE-2020-19364) --------------------------------------

PHP = b"<?php system($_GET['c']); ?>"
HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"
SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
       b"<script>alert(2)</script></svg>")
HOSTILE_FILES = [("shell.php", PHP), ("card.html", HTML), ("card.svg", SVG),
                 ("card.png", PHP), ("card.jpg", HTML), ("card.png", SVG),
                 ("card.php.png", PHP), ("card.png.php", png_bytes()),
                 ("../../../../tmp/evil.png", HTML), ("card.webp", b"RIFF\x00\x00\x00\x00WEBP")]


def _upload_files(app: Any) -> list[Path]:
    root = Path(app.config["INTAKE_UPLOAD_DIR"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_g_hostile_card_uploads_are_refused(app, atk_two_patients, desk):
    a = atk_two_patients["a"]
    before_files, before = _upload_files(app), fingerprint(app)
    for name, content in HOSTILE_FILES:
        response = desk.post(f"/staff/patients/{a['patient']}/coverages/{a['coverage']}/cards",
                             data={"side": "back", "image": (io.BytesIO(content), name)},
                             content_type="multipart/form-data")
        assert response.status_code == 422, name
        response = desk.post(f"/staff/patients/{a['patient']}/coverages/new", data={
            "payer_id": "1", "rank": "2", "member_id": "M1", "relationship_code": "self",
            "card_front": (io.BytesIO(content), name)}, content_type="multipart/form-data")
        assert response.status_code == 422, name
    assert _upload_files(app) == before_files
    assert fingerprint(app) == before
    assert not Path("/tmp/evil.png").exists()


def test_g_polyglot_picture_is_reencoded_and_served_as_jpeg(app, atk_two_patients, desk):
    from intake.models import CardImage

    a = atk_two_patients["a"]
    polyglot = png_bytes() + HTML + PHP
    response = desk.post(f"/staff/patients/{a['patient']}/coverages/{a['coverage']}/cards",
                         data={"side": "back",
                               "image": (io.BytesIO(polyglot), "../../evil<script>.png")},
                         content_type="multipart/form-data")
    assert response.status_code == 302
    with app.app_context():
        card = db.session.execute(db.select(CardImage).order_by(CardImage.id.desc())).scalar()
        name, card_id = card.stored_name, card.id
    assert re.fullmatch(r"[0-9a-f]{32}\.jpg", name)
    stored = Path(app.config["INTAKE_UPLOAD_DIR"]) / "cards" / name
    data = stored.read_bytes()
    assert data[:3] == b"\xff\xd8\xff" and b"<script" not in data and b"<?php" not in data
    served = desk.get(f"/staff/patients/{a['patient']}/cards/{card_id}")
    assert served.mimetype == "image/jpeg"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    served.close()
    # Nothing under the static folder (the web root) was written.
    static = Path(app.static_folder)
    assert not any(p.name == name for p in static.rglob("*"))


def test_g_kiosk_card_photos_refuse_scripts(app):
    from intake.services.kiosk.pictures import kiosk_dir

    tablet = enrolled_client(app)
    fill_intake(tablet, app, submit=False, cards=False)
    with app.app_context():
        folder = kiosk_dir()
        before = sorted(folder.iterdir()) if folder.exists() else []
    from tests.kiosk.factories import commercial_payer

    for name, content in HOSTILE_FILES:
        response = tablet.post("/kiosk/step/insurance", data={
            "has_insurance": "yes", "primary_payer_id": str(commercial_payer(app)),
            "primary_member_id": "XKZ123456789", "primary_relationship_code": "self",
            "primary_card_front": (io.BytesIO(content), name)},
            content_type="multipart/form-data")
        picture = tablet.get("/kiosk/picture/card-primary_front")
        if content.startswith(b"\x89PNG"):  # a real picture, whatever its name: re-encoded
            assert response.status_code == 302 and picture.mimetype == "image/jpeg", name
            assert picture.data[:3] == b"\xff\xd8\xff"
            tablet.post("/kiosk/step/insurance", data={"_clear": "card-primary_front"})
            continue
        assert response.status_code == 303, name  # back to the step with the message
        assert picture.status_code == 404, name
    with app.app_context():
        assert (sorted(folder.iterdir()) if folder.exists() else []) == before
    # A real photo is re-encoded to JPEG, served as such.
    tablet.post("/kiosk/step/insurance", data={
        "has_insurance": "yes", "primary_payer_id": str(commercial_payer(app)),
        "primary_member_id": "XKZ123456789", "primary_relationship_code": "self",
        "primary_card_front": (io.BytesIO(png_bytes() + HTML), "x.html")},
        content_type="multipart/form-data")
    served = tablet.get("/kiosk/picture/card-primary_front")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert served.data[:3] == b"\xff\xd8\xff" and b"<script" not in served.data
    assert served.headers["X-Content-Type-Options"] == "nosniff"


def test_g_signature_must_be_a_png(app):
    tablet = enrolled_client(app)
    fill_intake(tablet, app, submit=False)
    import base64

    for data_url in ("data:image/svg+xml;base64," + base64.b64encode(SVG).decode(),
                     "data:image/png;base64," + base64.b64encode(SVG).decode(),
                     "data:text/html;base64," + base64.b64encode(HTML).decode(),
                     "javascript:alert(1)"):
        response = tablet.post("/kiosk/step/consents", data={
            "signer_name": "Zoe Nunes", "signer_relationship": "self",
            "treatment_signature": data_url})
        assert response.status_code in (302, 303)
        picture = tablet.get("/kiosk/picture/sig-treatment")
        if picture.status_code == 200:
            assert picture.mimetype == "image/png" and picture.data[:4] == b"\x89PNG"


# ---- H. path traversal in downloads (CVE-2019-14530) -------------------------------

TRAVERSALS = ["../../secret_key", "..%2F..%2Fsecret_key", "%2e%2e%2f%2e%2e%2fsecret_key",
              "....//....//secret_key", "..\\..\\secret_key", "%2e%2e/intake.db",
              "/etc/passwd", "%2Fetc%2Fpasswd", "..%252f..%252fsecret_key", "..",
              "Patient.ndjson/../../secret_key", "Patient.ndjson%00.txt"]


def _no_leak(response: Any) -> None:
    body = response.get_data()
    response.close()
    assert response.status_code in (400, 404, 405, 308, 301, 302), response.status_code
    assert b"root:" not in body and b"SQLite format" not in body and b"test-secret" not in body


def test_h_download_names_cannot_leave_their_folder(app, atk_two_patients, desk):
    (Path(app.instance_path) / "secret_key").write_text("test-secret")
    a = atk_two_patients["a"]
    api, token_id = api_client(app)
    job = finished_job(app, token_id, "00000000-0000-4000-8000-0000000000bb")
    kiosk_sub = submit_intake(app)
    tablet = enrolled_client(app)
    fill_intake(tablet, app, submit=False)
    for t in TRAVERSALS:
        _no_leak(desk.get(f"/staff/patients/{a['patient']}/cards/{t}"))
        _no_leak(api.get(f"/fhir/bulk/{job}/{t}"))
        _no_leak(api.get(f"/fhir/bulk/{t}"))
        _no_leak(api.get(f"/fhir/bulk/{t}/Patient.ndjson"))
        _no_leak(app.test_client().get(f"/static/{t}"))
        _no_leak(app.test_client().get(f"/static/css/{t}"))
        _no_leak(tablet.get(f"/kiosk/picture/card-{t}"))
        _no_leak(tablet.get(f"/kiosk/picture/{t}"))
        _no_leak(desk.get(f"/staff/kiosk/{kiosk_sub}/picture/card-0-{t}"))
        _no_leak(desk.get(f"/staff/kiosk/{kiosk_sub}/picture/{t}"))
    # The real file is still served to its owner.
    served = api.get(f"/fhir/bulk/{job}/Patient.ndjson")
    assert served.status_code == 200
    served.close()


def test_h_export_file_names_are_generated(app, atk_two_patients, client_as):
    billing = client_as("billing")
    for fmt in ("bundle", "ndjson-zip"):
        response = billing.post("/billing/export", data={
            "date_from": "2025-11-01", "date_to": "2025-11-30", "payer_id": "0",
            "file_format": fmt, "include_exported": "y"})
        assert response.status_code in (200, 422)
        if response.status_code == 200:
            disposition = response.headers["Content-Disposition"]
            assert re.fullmatch(r'attachment; filename="intake-export-\d+-\d{4}-\d{2}-\d{2}-'
                                r'\d{4}-\d{2}-\d{2}\.(json|zip)"', disposition), disposition
    response = billing.get(f"/billing/visits/{atk_two_patients['a']['visit']}/bundle")
    if response.status_code == 200:
        assert re.fullmatch(r'attachment; filename="visit-\d+-bundle\.json"',
                            response.headers["Content-Disposition"])


# ---- I. CSRF on state changes ---------------------------------------------------------

def _csrf_login(client: Any, username: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": username, "password": TEST_PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302


def test_i_every_post_without_a_token_is_refused(make_app, tmp_path):
    app = make_app(WTF_CSRF_ENABLED=True)
    from intake.services import users

    with app.app_context():
        users.create_user("csrfadmin", TEST_PASSWORD, "admin")
        db.session.commit()
    # Objects for every URL, made through the services (no forms involved).
    from intake.models import Patient
    from intake.services import charges, coverages, patients, payments, practice, visits
    from tests.conftest import payer_id

    commercial = payer_id(app)
    with app.app_context():
        p = patients.register_patient(patient_fields(), confirm_new=True)
        cov = coverages.add_coverage(p, {"payer_id": commercial, "member_id": "M1",
                                         "relationship_code": "self"})
        card = coverages.save_card(cov, "front", io.BytesIO(png_bytes()),
                                   upload_dir=app.config["INTAKE_UPLOAD_DIR"], max_bytes=10**6)
        prov = practice.save_provider(None, {"family_name": "Hartley", "given_name": "Jane",
                                             "credentials": "MD", "npi": "1234567893",
                                             "taxonomy": "207Q00000X", "active": True})
        db.session.flush()
        v = visits.create_visit(p, {"provider_id": prov.id, "date_of_service": FY2026_DAY,
                                    "place_of_service": "11", "reason": "x"})
        dx = charges.add_diagnosis(v, "E11.9")
        fee = practice.save_fee("99213", 12000, "Office visit")
        line = charges.save_line(v, {"code": "99213", "pointers": [1], "units": 1})
        from intake.models import User

        admin_id = db.session.execute(db.select(User.id)).scalar()
        pay = payments.record_payment(db.session.get(Patient, p.id), {
            "kind": "copay", "method": "cash", "amount_cents": 100}, visit=v,
            received_by_id=admin_id)
        from intake.services import kiosk

        device, _code = kiosk.create_device("Spare")
        db.session.commit()
        values = {"patient_id": p.id, "coverage_id": cov.id, "card_id": card.id,
                  "user_id": admin_id, "payer_id": 1, "direction": "up", "visit_id": v.id,
                  "provider_id": prov.id, "diagnosis_id": dx.id, "action": "remove",
                  "line_id": line.id, "payment_id": pay.id,
                  "fee_id": getattr(fee, "id", 1), "device_id": device.id,
                  "resource_type": "Patient", "resource_id": str(p.id), "job_id": "x",
                  "filename": "Patient.ndjson", "step": "about", "key": "sig-treatment",
                  "appointment_id": 1, "export_id": 1, "token": "0123456789abcdef"}
    # A pending submission (the kiosk pages need tokens now: post them).
    values["submission_id"] = 1
    values.update(pair_id=1, merge_id=1)  # worklist and merge POSTs refuse before any lookup
    values["export_id"] = 1
    staff = app.test_client()
    _csrf_login(staff, "csrfadmin")
    from tests.kiosk.factories import enroll_code

    _, code = enroll_code(app)
    tablet = app.test_client()
    page = tablet.get("/kiosk/enroll").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    assert tablet.post("/kiosk/enroll", data={"code": code, "csrf_token": token}
                       ).status_code == 302
    before = fingerprint(app)
    checked = []
    for rule, _view in _routes(app):
        if "POST" not in rule.methods or rule.endpoint.startswith("fhir."):
            continue
        url = _url(rule, values, default=1)
        kiosk_page = rule.rule.startswith("/kiosk")
        client = tablet if kiosk_page else staff
        response = client.post(url, data={"confirm_new": "y", "language": "en",
                                          "reason": "because", "name": "x"})
        assert response.status_code == 400, (rule.rule, response.status_code)
        checked.append(rule.rule)
    assert fingerprint(app) == before
    assert len(checked) >= 30
    # On the kiosk, a token that no longer holds (a page left open past the
    # idle wipe) sends the patient back to the start, and changes nothing.
    response = tablet.post("/kiosk/start", data={"language": "en", "csrf_token": "stale." + token})
    assert response.status_code == 302 and response.headers["Location"].endswith("/kiosk/")
    assert fingerprint(app) == before
    # A token from another session is no better than none.
    other = app.test_client()
    foreign = re.search(r'name="csrf_token"[^>]*value="([^"]+)"',
                        other.get("/login").get_data(as_text=True)).group(1)
    response = staff.post("/admin/users/new", data={"username": "mallory", "role": "admin",
                                                    "password": "vivid-harbor-lantern-93",
                                                    "csrf_token": foreign})
    assert response.status_code == 400
    assert fingerprint(app) == before
    # Still signed in and still able to act with its own token.
    page = staff.get("/admin/users/new").get_data(as_text=True)
    own = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    assert staff.post("/admin/users/new", data={"username": "carol", "role": "billing",
                                                "password": "vivid-harbor-lantern-93", "csrf_token": own}
                      ).status_code == 302


def test_i_fhir_gets_nothing_from_a_cookie(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    from intake.services import users

    with app.app_context():
        users.create_user("cookieadmin", TEST_PASSWORD, "admin")
        db.session.commit()
    staff = app.test_client()
    _csrf_login(staff, "cookieadmin")
    assert staff.get("/admin/").status_code == 200  # the cookie is a good one
    for method, path in (("GET", "/fhir/Patient"), ("GET", "/fhir/Patient/1"),
                         ("GET", "/fhir/$export"), ("POST", "/fhir/Patient"),
                         ("POST", "/fhir/Patient/_search"),
                         ("DELETE", "/fhir/bulk/x"), ("GET", "/fhir/bulk/x/Patient.ndjson")):
        response = staff.open(path, method=method, headers={"Prefer": "respond-async"},
                              data={"_count": "1"} if method == "POST" else None)
        assert response.status_code in (401, 405), (method, path, response.status_code)
        assert b"resourceType\":\"Bundle" not in response.data
