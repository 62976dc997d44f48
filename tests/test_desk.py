"""Front desk: visits and the board, charges, payments, close of day."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from intake.extensions import db
from intake.models import ChargeLine, Patient, Payment, Visit, VisitEvent
from intake.services import FieldErrors, charges, payments, practice, visits
from intake.templating import money
from tests.conftest import FY2026_DAY, check_out_past_visit


@pytest.fixture
def seen(app, create_patient, create_visit):
    """A patient with a visit inside the bundled code tables' dates."""
    pid = create_patient()
    return pid, create_visit(pid, day=FY2026_DAY)


def _visit(vid):
    return db.session.get(Visit, vid)


# ---- state machine -----------------------------------------------------------

def test_a_visit_moves_through_the_day(app, desk, create_patient, create_visit):
    pid = create_patient()
    vid = create_visit(pid)
    for to_state, extra in (("arrived", {}),
                            ("checked_in", {"demographics_reviewed": "y", "insurance_reviewed": "y"}),
                            ("with_provider", {}), ("checked_out", {})):
        response = desk.post(f"/staff/visits/{vid}/move", data={"to_state": to_state, **extra})
        assert response.status_code == 302, to_state
    with app.app_context():
        visit = _visit(vid)
        assert visit.state == "checked_out"
        assert visit.arrived_at <= visit.checked_in_at <= visit.roomed_at <= visit.checked_out_at
        assert visit.demographics_reviewed_at and visit.insurance_reviewed_at
        events = db.session.execute(db.select(VisitEvent).filter_by(visit_id=vid)
                                    .order_by(VisitEvent.id)).scalars().all()
        assert [e.to_state for e in events] == ["scheduled", "arrived", "checked_in",
                                                "with_provider", "checked_out"]
        assert all(e.user_id for e in events[1:])


def test_check_in_needs_the_reviews(app, desk, create_patient, create_visit):
    pid = create_patient()
    vid = create_visit(pid)
    desk.post(f"/staff/visits/{vid}/move", data={"to_state": "arrived"})
    response = desk.post(f"/staff/visits/{vid}/move", data={"to_state": "checked_in",
                                                            "insurance_reviewed": "y"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Confirm the patient&#39;s details were reviewed today." in page
    with app.app_context():
        assert _visit(vid).state == "arrived"


@pytest.mark.parametrize("start, to_state", [
    ("scheduled", "checked_out"), ("scheduled", "with_provider"), ("checked_out", "arrived"),
    ("cancelled", "arrived"), ("arrived", "no_show"), ("scheduled", "nonsense"),
])
def test_moves_that_make_no_sense_are_refused(app, create_patient, create_visit, start, to_state):
    pid = create_patient()
    vid = create_visit(pid)
    with app.app_context():
        visit = _visit(vid)
        visit.state = start
        db.session.commit()
        with pytest.raises(FieldErrors) as err:
            visits.move(visit, to_state)
        assert "cannot be moved" in err.value.errors["state"][0]


def test_stale_board_is_told_not_overwritten(app, desk, create_patient, create_visit):
    pid = create_patient()
    vid = create_visit(pid)
    with app.app_context():
        version = _visit(vid).version
    desk.post(f"/staff/visits/{vid}/move", data={"to_state": "arrived", "version": version})
    response = desk.post(f"/staff/visits/{vid}/move",
                         data={"to_state": "cancelled", "version": version}, follow_redirects=True)
    assert "Someone else changed this visit" in response.get_data(as_text=True)
    with app.app_context():
        assert _visit(vid).state == "arrived"


def test_only_todays_visits_arrive(app, create_patient, create_visit):
    pid = create_patient()
    vid = create_visit(pid, day=date.today() + timedelta(days=3))
    with app.app_context(), pytest.raises(FieldErrors):
        visits.move(_visit(vid), "arrived")


def test_board_lists_the_day_in_time_order_with_waiting_time(app, desk, create_patient,
                                                             create_visit):
    a = create_patient()
    b = create_patient(family_name="Okafor", given_name="Ada", phone_mobile="+13125550177")
    va, vb = create_visit(a), create_visit(b)
    desk.post(f"/staff/visits/{va}/move", data={"to_state": "arrived"})
    with app.app_context():
        visit = _visit(va)
        visit.arrived_at -= timedelta(minutes=42)
        db.session.commit()
    page = desk.get("/staff/board").get_data(as_text=True)
    assert "42 min" in page
    # Visits without an appointment sit at their arrival (or creation) time:
    # the one who arrived 42 minutes ago comes first.
    assert page.index("Wójcik, Łukasz") < page.index("Okafor, Ada")
    assert ">Arrived<" in page and ">Scheduled<" in page
    assert "Okafor, Ada" in page and 'http-equiv="refresh"' in page
    assert vb


# ---- charges -------------------------------------------------------------------

def test_diagnoses_checked_for_the_date_of_service(app, seen):
    _, vid = seen
    with app.app_context():
        visit = _visit(vid)
        assert charges.add_diagnosis(visit, "e119").code == "E11.9"
        with pytest.raises(FieldErrors) as header:
            charges.add_diagnosis(visit, "E11")
        assert "E11.9" in header.value.errors["code"][0] or "E11." in header.value.errors["code"][0]
        with pytest.raises(FieldErrors):
            charges.add_diagnosis(visit, "E11.9")  # already there
        with pytest.raises(FieldErrors):
            charges.add_diagnosis(visit, "ZZZ.99")


def test_todays_visit_is_coded_provisionally_not_blocked(app, desk, create_patient, create_visit):
    """No ICD-10-CM table covers 2026-12-04: the desk codes the visit against FY2026
    (provisional, badge), HCPCS with modifier 25 is plainly valid, the charges lock."""
    pid = create_patient()
    vid = create_visit(pid, day=date(2026, 12, 4))
    with app.app_context():
        practice.save_fee("G0439", 17500, "Annual wellness visit, subsequent")
        db.session.commit()
    added = desk.post(f"/staff/visits/{vid}/diagnoses", data={"code": "z0000"}, follow_redirects=True)
    page = added.get_data(as_text=True)
    assert "Diagnosis 1: Z00.00 added. Provisional: checked against ICD-10-CM FY2026" in page
    assert "the practice administrator has been told" in page and "intake codes" not in page
    refused = desk.post(f"/staff/visits/{vid}/diagnoses", data={"code": "E11"})
    assert refused.status_code == 422 and "header" in refused.get_data(as_text=True)
    line = desk.post(f"/staff/visits/{vid}/lines", data={"code": "G0439", "units": "1", "pointers": "1",
                                                         "modifier1": "25"}, follow_redirects=True)
    assert "Line 1: G0439 added." in line.get_data(as_text=True)
    page = desk.get(f"/staff/visits/{vid}").get_data(as_text=True)
    assert page.count('class="badge text-bg-warning provisional"') == 1  # the diagnosis; G0439 and 25 are valid
    with app.app_context():  # yesterday's visit, its day filled in: only a visit that happened is billed
        from intake.models import Visit
        from tests.conftest import check_out_past_visit

        check_out_past_visit(db.session.get(Visit, vid))
        db.session.commit()
    locked = desk.post(f"/staff/visits/{vid}/lock", data={}, follow_redirects=True)
    assert "Charges locked. Some codes are provisional" in locked.get_data(as_text=True)
    with app.app_context():
        assert _visit(vid).locked


def test_twelve_diagnoses_at_most(app, seen):
    _, vid = seen
    codes = ["E11.9", "I10", "E78.5", "J45.909", "M54.50", "R51.9", "Z00.00", "K21.9",
             "F41.1", "E66.9", "N39.0", "R05.9"]
    with app.app_context():
        visit = _visit(vid)
        for code in codes:
            charges.add_diagnosis(visit, code)
        with pytest.raises(FieldErrors) as err:
            charges.add_diagnosis(visit, "G43.909")
        assert "at most 12" in err.value.errors["code"][0]


def test_lines_with_fee_schedule_modifiers_and_pointers(app, seen):
    _, vid = seen
    with app.app_context():
        visit = _visit(vid)
        charges.add_diagnosis(visit, "E11.9")
        charges.add_diagnosis(visit, "I10")
        practice.save_fee("99214", 16500, "Office visit, est., moderate")
        line = charges.save_line(visit, {"code": "99214", "modifiers": ["25"], "units": 1,
                                         "pointers": [2, 1]})
        assert line.unit_price_cents == 16500 and line.modifiers == ["25"]
        assert [p.code for p in line.pointers] == ["I10", "E11.9"]
        assert line.verified is False  # no CPT table: format only
        flu = charges.save_line(visit, {"code": "g0008", "pointers": [1], "units": 1,
                                        "unit_price_cents": 3000})
        assert flu.code == "G0008" and flu.verified is True
        assert visit.total_cents == 19500
        db.session.commit()


@pytest.mark.parametrize("data, field, message", [
    ({"code": "99214", "pointers": [3]}, "pointers", "no diagnosis 3"),
    ({"code": "99214", "pointers": []}, "pointers", "at least one diagnosis"),
    ({"code": "99214", "pointers": [1, 1]}, "pointers", "repeated"),
    ({"code": "99214", "pointers": [1, 2, 3, 4, 5]}, "pointers", "At most 4"),
    ({"code": "99214", "pointers": [1], "modifiers": ["ZZ"]}, "modifiers", "ZZ"),
    ({"code": "9921", "pointers": [1]}, "code", ""),
    ({"code": "99214", "pointers": [1]}, "amount", "no fee for 99214"),
])
def test_bad_lines_are_refused_in_words(app, seen, data, field, message):
    _, vid = seen
    with app.app_context():
        visit = _visit(vid)
        charges.add_diagnosis(visit, "E11.9")
        charges.add_diagnosis(visit, "I10")
        with pytest.raises(FieldErrors) as err:
            charges.save_line(visit, data)
        assert field in err.value.errors
        assert message in " ".join(err.value.errors[field])


def test_reordering_diagnoses_keeps_pointers_on_the_same_diagnosis(app, seen):
    _, vid = seen
    with app.app_context():
        visit = _visit(vid)
        for code in ("E11.9", "I10", "E78.5"):
            charges.add_diagnosis(visit, code)
        line = charges.save_line(visit, {"code": "99213", "pointers": [3],
                                         "unit_price_cents": 9000})
        third = visit.diagnoses[2]
        charges.move_diagnosis(visit, third.id, -1)
        charges.move_diagnosis(visit, third.id, -1)
        db.session.commit()
        db.session.expire_all()
        visit = _visit(vid)
        assert [d.code for d in visit.diagnoses] == ["E78.5", "E11.9", "I10"]
        assert [d.sequence for d in visit.diagnoses] == [1, 2, 3]
        assert db.session.get(ChargeLine, line.id).pointer1.code == "E78.5"
        with pytest.raises(FieldErrors) as err:
            charges.remove_diagnosis(visit, visit.diagnoses[0].id)
        assert "Line 1 points to E78.5" in err.value.errors["code"][0]
        charges.remove_diagnosis(visit, visit.diagnoses[2].id)
        assert [d.sequence for d in visit.diagnoses] == [1, 2]


def test_lock_checks_everything_and_freezes_the_charges(app, seen, client_as):
    _, vid = seen
    with app.app_context():
        visit = _visit(vid)
        with pytest.raises(FieldErrors) as err:
            charges.lock(visit)
        assert "Add at least one procedure line." in err.value.errors["lock"]
        charges.add_diagnosis(visit, "E11.9")
        charges.save_line(visit, {"code": "99213", "pointers": [1], "unit_price_cents": 9000})
        with pytest.raises(FieldErrors) as err:  # still scheduled: it never happened
            charges.lock(visit)
        assert "only once the visit is checked in" in " ".join(err.value.errors["lock"])
        check_out_past_visit(visit)
        charges.lock(visit)
        db.session.commit()
        assert visit.locked
        with pytest.raises(FieldErrors):
            charges.add_diagnosis(visit, "I10")
    billing = client_as("billing")
    assert billing.post(f"/staff/visits/{vid}/lock", data={"unlock": "1"}).status_code == 302
    with app.app_context():
        assert not _visit(vid).locked


def test_charge_entry_through_the_page_keeps_typed_values(app, desk, seen):
    _, vid = seen
    bad = desk.post(f"/staff/visits/{vid}/diagnoses", data={"code": "E11"})
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    assert 'value="E11"' in page and "not billable" in page.lower() or "header" in page.lower()
    assert desk.post(f"/staff/visits/{vid}/diagnoses", data={"code": "E11.9"}).status_code == 302
    bad = desk.post(f"/staff/visits/{vid}/lines", data={"code": "99213", "units": "1",
                                                          "pointers": "4", "modifier1": "25"})
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    assert "There is no diagnosis 4" in page and 'value="25"' in page
    ok = desk.post(f"/staff/visits/{vid}/lines", data={"code": "99213", "units": "2",
                                                         "pointers": "1", "amount": "90.00"})
    assert ok.status_code == 302
    page = desk.get(f"/staff/visits/{vid}").get_data(as_text=True)
    assert "$180.00" in page and "not verified" in page


def test_code_search_endpoint(desk):
    hits = desk.get("/staff/codes/search?system=icd10cm&q=type 2 diabetes&date=2026-03-16").json
    assert any(h["code"] == "E11.9" for h in hits)
    assert desk.get("/staff/codes/search?system=procedure&q=G00").json


# ---- payments and totals ---------------------------------------------------------

def _pay(desk, pid, **data):
    form = {"visit_id": "0", "kind": "copay", "method": "cash", "amount": "25.00", **data}
    return desk.post(f"/staff/patients/{pid}/payments/new", data=form)


def test_receipt_is_one_a_patient_would_keep(app, desk, create_patient, billable_visit):
    """Office details, the MRN and the balance left; the green banner not printed."""
    pid = create_patient()
    vid = billable_visit(pid)
    with app.app_context():
        office = practice.get_practice()
        db.session.add(office)
        office.name, office.address_line1, office.city = "Lakeside Family Care", "1 Shore Rd", "Evanston"
        office.state, office.postal_code, office.phone = "IL", "60201", "+18475550100"
        db.session.commit()
        mrn = db.session.get(Patient, pid).mrn
        charged = _visit(vid).total_cents
    response = _pay(desk, pid, visit_id=str(vid), amount="25.00")
    page = desk.get(response.headers["Location"]).get_data(as_text=True)
    assert "Lakeside Family Care" in page and "1 Shore Rd" in page and "(847) 555-0100" in page
    assert f"<dd class=\"col-6\">{mrn}</dd>" in page
    balance = page[page.index('id="balance-after"'):].split("</dd>", 1)[0]
    assert charged > 2500 and money(charged - 2500) in balance, (balance, charged)
    banner = page[:page.index("Payment recorded")].rsplit("<div", 1)[1]
    assert "d-print-none" in banner


def test_payment_receipt_and_void(app, desk, seen):
    pid, vid = seen
    response = _pay(desk, pid, visit_id=str(vid), method="check", check_number="1042", amount="40.5")
    assert response.status_code == 302
    receipt = desk.get(response.headers["Location"]).get_data(as_text=True)
    assert "$40.50" in receipt and "1042" in receipt and "R0000000" in receipt
    with app.app_context():
        payment = db.session.execute(db.select(Payment)).scalar_one()
        assert payment.amount_cents == 4050 and payment.visit_id == vid
        assert "1986" not in receipt  # no date of birth on a receipt
        pay_id = payment.id
    no_reason = desk.post(f"/staff/payments/{pay_id}/void", data={"reason": ""})
    assert no_reason.status_code == 422
    assert desk.post(f"/staff/payments/{pay_id}/void", data={"reason": "Wrong amount"}).status_code == 302
    with app.app_context():
        payment = db.session.get(Payment, pay_id)
        assert payment.voided and payment.void_reason == "Wrong amount"
    again = desk.post(f"/staff/payments/{pay_id}/void", data={"reason": "Twice"})
    assert again.status_code == 422


@pytest.mark.parametrize("data, message", [
    ({"method": "check"}, "Enter the check number."),
    ({"method": "other"}, "Say how it was paid."),
    ({"amount": "0"}, "Enter an amount from 0.01"),
    ({"amount": "abc"}, "Not a valid decimal value"),
])
def test_payment_errors_keep_values(app, desk, seen, data, message):
    pid, _ = seen
    response = _pay(desk, pid, **data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Payment.id))) == 0


def test_close_of_day_totals_equal_non_voided_payments(app, desk, client_as, seen):
    pid, vid = seen
    other_desk = client_as("receptionist")
    amounts = [("cash", "25.00", desk), ("card", "40.00", desk), ("card", "15.50", other_desk),
               ("check", "100.00", other_desk)]
    ids = []
    for method, amount, who in amounts:
        extra = {"check_number": "77"} if method == "check" else {}
        r = _pay(who, pid, method=method, amount=amount, **extra)
        ids.append(int(r.headers["Location"].split("/")[-2]))
    desk.post(f"/staff/payments/{ids[1]}/void", data={"reason": "Duplicate swipe"})
    with app.app_context():
        from intake.services.clock import today

        totals = payments.daily_totals(today())
        live = db.session.scalar(db.select(db.func.sum(Payment.amount_cents))
                                 .where(Payment.voided_at.is_(None)))
        assert totals.total_cents == live == 2500 + 1550 + 10000
        assert totals.by_method["cash"] == 2500 and totals.by_method["card"] == 1550
        assert totals.by_method["check"] == 10000
        assert sum(totals.by_staff.values()) == totals.total_cents
        assert len(totals.voids) == 1 and totals.voided_cents == 4000
        assert len(totals.without_visit) == 3
    page = desk.get("/staff/day").get_data(as_text=True)
    assert "$140.50" in page and "<svg" in page


def test_day_boundaries_follow_the_practice_clock(make_app, create_user):
    """A payment at 11:30 pm in the practice's zone belongs to that day even
    though it is already tomorrow in UTC."""
    from datetime import datetime, timezone

    app = make_app(INTAKE_TIMEZONE="America/Los_Angeles")
    uid, _ = create_user("receptionist")
    with app.app_context():
        from intake.services import patients
        from tests.conftest import patient_fields

        patient = patients.register_patient(patient_fields(), confirm_new=True)
        p = payments.record_payment(patient, {"kind": "copay", "method": "cash",
                                              "amount_cents": 1000}, received_by_id=uid)
        p.received_at = datetime(2026, 3, 11, 6, 30, tzinfo=timezone.utc)  # 23:30 PDT on 3/10
        db.session.commit()
        assert payments.daily_totals(date(2026, 3, 10)).total_cents == 1000
        assert payments.daily_totals(date(2026, 3, 11)).total_cents == 0


def test_patient_balance(app, desk, seen):
    pid, vid = seen
    with app.app_context():
        visit = _visit(vid)
        charges.add_diagnosis(visit, "E11.9")
        charges.save_line(visit, {"code": "99213", "pointers": [1], "unit_price_cents": 12000})
        db.session.commit()
    _pay(desk, pid, visit_id=str(vid), amount="30.00")
    r = _pay(desk, pid, visit_id=str(vid), amount="5.00")
    desk.post(r.headers["Location"].replace("/receipt", "/void"), data={"reason": "Mistake"})
    _pay(desk, pid, kind="prepayment", amount="10.00")
    with app.app_context():
        balance = payments.patient_balance(db.session.get(Patient, pid))
        (row,) = balance.visits
        assert (row.charged_cents, row.paid_cents, row.voided_cents) == (12000, 3000, 500)
        assert balance.paid_cents == 4000 and balance.balance_cents == 8000
    page = desk.get(f"/staff/patients/{pid}/balance").get_data(as_text=True)
    assert "$80.00" in page


# ---- practice settings ---------------------------------------------------------------

def test_npi_checked_with_luhn(admin_client):
    bad = admin_client.post("/admin/providers/new", data={
        "family_name": "Reyes", "given_name": "Luis", "npi": "1234567890"})
    assert bad.status_code == 422
    assert "check digit" in bad.get_data(as_text=True)
    ok = admin_client.post("/admin/providers/new", data={
        "family_name": "Reyes", "given_name": "Luis", "npi": "1234567893", "active": "y"})
    assert ok.status_code == 302


def test_practice_settings_and_fee_schedule(app, admin_client):
    r = admin_client.post("/admin/practice", data={
        "name": "Lakeside Family Medicine", "npi": "1234567893", "tax_id": "12-3456789",
        "default_pos": "11", "state": "IL", "city": "Chicago", "address_line1": "1 Main St",
        "postal_code": "60601"})
    assert r.status_code == 302
    bad_fee = admin_client.post("/admin/fees", data={"code": "E11.9", "price": "10"})
    assert bad_fee.status_code == 422
    assert admin_client.post("/admin/fees", data={"code": "99213", "price": "95.00"}).status_code == 302
    with app.app_context():
        assert practice.get_practice().tax_id == "123456789"
        assert practice.fee_for("99213").price_cents == 9500


def test_copay_is_offered_once_per_visit(app, desk, create_patient, create_coverage, create_visit):
    pid = create_patient()
    create_coverage(pid, copay_cents=3000)
    vid = create_visit(pid)
    first = desk.get(f"/staff/patients/{pid}/payments/new?visit={vid}").get_data(as_text=True)
    assert 'value="30.00"' in first
    _pay(desk, pid, visit_id=str(vid), amount="30.00")
    second = desk.get(f"/staff/patients/{pid}/payments/new?visit={vid}").get_data(as_text=True)
    assert 'value="30.00"' not in second


def test_a_past_day_is_filled_in_through_the_same_moves(app, create_patient, create_visit):
    from datetime import datetime, timezone

    visit_id = create_visit(create_patient(), day=FY2026_DAY)
    today_visit = create_visit(create_patient(given_name="Ann"))
    with app.app_context():
        visit = db.session.get(Visit, visit_id)
        at = datetime(2025, 11, 14, 14, 0, tzinfo=timezone.utc)
        times = {"arrived": at, "checked_in": at + timedelta(minutes=5),
                 "with_provider": at + timedelta(minutes=20), "checked_out": at + timedelta(minutes=45)}
        with pytest.raises(FieldErrors):  # out of order
            visits.record_past_day(visit, {**times, "arrived": at + timedelta(hours=1)}, note="paper")
        visits.record_past_day(visit, times, note="paper day sheet")
        assert visit.state == "checked_out" and visit.roomed_at == times["with_provider"]
        assert [e.to_state for e in visit.events] == ["scheduled", "arrived", "checked_in",
                                                      "with_provider", "checked_out"]
        with pytest.raises(FieldErrors):  # only once, only from scheduled
            visits.record_past_day(visit, times, note="again")
        with pytest.raises(FieldErrors):  # not for today's visits: the board does those
            visits.record_past_day(db.session.get(Visit, today_visit), times, note="x")
        db.session.rollback()


# ---- suggestions and checks come from the field's own systems -----------------

def test_procedure_field_never_answers_with_icd10cm(app, desk, admin_client, seen):
    _, vid = seen
    desk.post(f"/staff/visits/{vid}/diagnoses", data={"code": "E11.9"})
    bad = desk.post(f"/staff/visits/{vid}/lines", data={"code": "G0001", "units": "1", "pointers": "1"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "G0001 is not in the HCPCS Level II table" in text
    assert "is not in the ICD-10-CM" not in text and "G00.0" not in text
    fee = admin_client.post("/admin/fees", data={"code": "G0001", "price": "10", "label": "x"})
    assert fee.status_code == 422
    assert "HCPCS Level II" in fee.get_data(as_text=True) and "G00.0" not in fee.get_data(as_text=True)
    hits = desk.get("/staff/codes/search?system=procedure&q=G0008&date=2026-03-16").json
    assert hits and {h["system"] for h in hits} <= {"hcpcs", "cpt"}
    assert desk.get("/staff/codes/search?system=&q=G0008").json == []


def test_registration_has_no_default_sex(app, desk):
    page = desk.get("/staff/patients/new").get_data(as_text=True)
    sex = page[page.index('name="sex"'):]
    sex = sex[:sex.index("</select>")]
    assert '<option value="">— choose —</option>' in sex and "selected" not in sex
    response = desk.post("/staff/patients/new", data={"family_name": "Quint", "given_name": "Ada",
                                                      "birth_date": "1990-01-02"})
    assert response.status_code == 422 and "Choose the patient&#39;s sex." in response.get_data(as_text=True)


def test_register_from_a_search_starts_with_what_was_searched(app, desk):
    """The search's Register button POSTs the term: names never in the URL."""
    response = desk.post("/staff/patients/new", data={"q": "Sanches, Miguel Ángel 04/12/1980"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'name="family_name" required type="text" value="Sanches"' in page
    assert 'value="Miguel Ángel"' in page and 'value="1980-04-12"' in page
    assert "is-invalid" not in page  # nothing judged yet
    search = desk.post("/staff/", data={"q": "nobody here"}).get_data(as_text=True)
    assert 'formaction="/staff/patients/new"' in search


def test_check_in_shows_the_coverage_in_force(app, desk, create_patient, create_visit,
                                              create_coverage):
    """The check-in box asks whether insurance was reviewed: what to review is beside it."""
    import io

    from PIL import Image

    pid = create_patient()
    vid = create_visit(pid)  # today: it can arrive
    create_coverage(pid, member_id="W123456789", copay_cents=3500, effective_date=date(2025, 1, 1))
    ended = create_coverage(pid, kind="medicare", member_id="1EG4TE5MK73",
                            effective_date=date(2024, 1, 1),
                            end_date=FY2026_DAY - timedelta(days=30))
    picture = io.BytesIO()
    Image.new("RGB", (320, 200), "navy").save(picture, "PNG")
    picture.seek(0)
    with app.app_context():
        primary = db.session.execute(db.select(Patient).filter_by(id=pid)).scalar_one().coverages
        cov_id = next(c.id for c in primary if c.member_id == "W123456789")
    desk.post(f"/staff/patients/{pid}/coverages/{cov_id}/cards",
              data={"side": "front", "image": (picture, "front.png")},
              content_type="multipart/form-data")
    assert desk.post(f"/staff/visits/{vid}/move", data={"to_state": "arrived"}).status_code == 302
    response = desk.get(f"/staff/visits/{vid}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page[-3000:]
    box = page[page.index('id="check-in"'):]
    box = box[:box.index("</form>")]
    assert "W123456789" in box and "$35.00" in box and "Primary" in box
    assert "1EG4TE5MK73" not in box, ended  # ended before the visit: not in force
    assert 'class="card-thumb-small"' in box
