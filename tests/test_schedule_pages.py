"""The schedule's pages through HTTP: booking with conflicts in words, the
open times as you choose, confirm before cancel/no-show, the .ics, the
reminder calls, the day and week views, and the walk-in screen."""

from __future__ import annotations

from datetime import datetime, timedelta

from icalendar import Calendar

from intake.extensions import db
from intake.models import Appointment, Coverage, Patient, Visit
from tests.conftest import payer_id
from tests.test_schedule import ZONE, at, next_weekday


def _form(o, day, hhmm, **extra):
    return {"type_id": o["follow"], "provider_id": o["provider"], "day": day.isoformat(),
            "start": hhmm, "reason": "Blood pressure", **extra}


def test_book_then_a_conflict_is_refused_beside_the_time(app, desk, schedule_office):
    tuesday = next_weekday(1)
    url = f"/staff/patients/{schedule_office['patient']}/appointments/new"
    first = desk.post(url, data=_form(schedule_office, tuesday, "10:40"))
    assert first.status_code == 302 and "/staff/appointments/" in first.headers["Location"]
    again = desk.post(url, data=_form(schedule_office, tuesday, "10:50", note="Bring the log"))
    page = again.get_data(as_text=True)
    assert again.status_code == 422
    assert "It overlaps another booking with Jane Hartley, MD from 10:40 to 11:00." in page
    assert 'value="Bring the log"' in page and 'value="10:50"' in page
    over = desk.post(url, data=_form(schedule_office, tuesday, "10:50", overbook_reason="Doctor agreed"))
    assert over.status_code == 302
    shown = desk.get(over.headers["Location"]).get_data(as_text=True)
    assert "Overbooked: Doctor agreed" in shown and "booked" in shown


def test_open_times_as_the_desk_chooses(app, desk, schedule_office):
    slots = desk.get(f"/staff/schedule/slots?type={schedule_office['follow']}&provider={schedule_office['provider']}")
    data = slots.get_json()
    assert len(data) == 12 and data[0]["provider"] == "Jane Hartley, MD"
    assert [datetime.fromisoformat(f"{s['day']}T{s['time']}") for s in data] == sorted(
        datetime.fromisoformat(f"{s['day']}T{s['time']}") for s in data)
    assert desk.get("/staff/schedule/slots?type=999").get_json() == []


def test_cancel_asks_to_confirm_and_offers_the_waitlist(app, desk, schedule_office, create_patient):
    tuesday = next_weekday(1)
    other = create_patient(family_name="Okafor", given_name="Ada", phone_mobile="+13125550177")
    desk.post(f"/staff/patients/{other}/waitlist",
              data={"type_id": schedule_office["follow"], "provider_id": 0, "part_of_day": "am",
                    "weekdays": ["1"]})
    booked = desk.post(f"/staff/patients/{schedule_office['patient']}/appointments/new",
                       data=_form(schedule_office, tuesday, "10:00"))
    page_url = booked.headers["Location"]
    appt_id = int(page_url.rsplit("/", 1)[1])
    confirm = desk.get(f"/staff/appointments/{appt_id}/cancel").get_data(as_text=True)
    assert "Cancel this appointment?" in confirm and "Yes, cancel it" in confirm
    with app.app_context():
        assert db.session.get(Appointment, appt_id).status == "booked"  # not yet
    refused = desk.post(f"/staff/appointments/{appt_id}/cancel", data={"reason": ""})
    assert refused.status_code == 422
    done = desk.post(f"/staff/appointments/{appt_id}/cancel", data={"reason": "Feeling better"})
    assert done.status_code == 302
    shown = desk.get(page_url).get_data(as_text=True)
    assert "This time is open again" in shown and "Okafor, Ada" in shown
    assert "cancelled: Feeling better" in shown  # the history says who and what


def test_ics_for_the_patient_in_the_practice_zone(app, desk, schedule_office):
    tuesday = next_weekday(1)
    booked = desk.post(f"/staff/patients/{schedule_office['patient']}/appointments/new",
                       data=_form(schedule_office, tuesday, "09:20"))
    appt_id = int(booked.headers["Location"].rsplit("/", 1)[1])
    response = desk.get(f"/staff/appointments/{appt_id}/calendar")
    assert response.mimetype == "text/calendar"
    cal = Calendar.from_ical(response.data)
    event = next(c for c in cal.walk("VEVENT"))
    start = event.decoded("dtstart")
    assert start.tzinfo is not None and start.astimezone(ZONE) == at(tuesday, 9, 20)
    assert str(event["dtstart"].params["TZID"]) == "America/New_York"
    assert any(c.name == "VTIMEZONE" for c in cal.walk())
    assert b"W\xc3\xb3jcik" not in response.data  # no chart data in the patient's file


def test_reminder_calls_for_tomorrow(app, desk, schedule_office):
    with app.app_context():
        from intake.services.clock import today
        from intake.services.schedule import booking
        tomorrow = today() + timedelta(days=1)
        appt = booking.book({"patient_id": schedule_office["patient"], "provider_id": schedule_office["provider"],
                             "type_id": schedule_office["follow"], "start": at(tomorrow, 9),
                             "overbook_reason": "test"})
        db.session.commit()
        appt_id = appt.id
    page = desk.get("/staff/reminders").get_data(as_text=True)
    assert "Wójcik, Łukasz" in page and "+12175550143" in page
    desk.post(f"/staff/appointments/{appt_id}/reminder", data={"outcome": "message"})
    with app.app_context():
        assert db.session.get(Appointment, appt_id).reminder_outcome == "message"


def test_day_and_week_views(app, desk, schedule_office):
    tuesday = next_weekday(1)
    desk.post(f"/staff/patients/{schedule_office['patient']}/appointments/new",
              data=_form(schedule_office, tuesday, "11:00"))
    day = desk.get(f"/staff/schedule/day?day={tuesday.isoformat()}&provider={schedule_office['provider']}")
    assert "11:00" in day.get_data(as_text=True) and "Print" in day.get_data(as_text=True)
    week = desk.get(f"/staff/schedule/week?day={tuesday.isoformat()}").get_data(as_text=True)
    assert "11:00 Wójcik, Łukasz" in week


def _walk_in(o, payer, **extra):
    data = {"patient-family_name": "Castellanos", "patient-given_name": "Marisol",
            "patient-birth_date": "1984-06-02", "patient-sex": "female",
            "patient-phone_mobile": "+13125550188", "patient-preferred_language": "es",
            "primary-payer_id": str(payer), "primary-member_id": "W123456789",
            "primary-relationship_code": "spouse", "primary-subscriber_family": "Castellanos",
            "primary-subscriber_given": "Rafael", "primary-subscriber_birth_date": "1982-01-15",
            "visit-add_secondary": "y", "secondary-payer_id": str(payer),
            "secondary-member_id": "S99887766", "visit-same_subscriber": "y",
            "visit-provider_id": str(o["provider"]), "visit-type_id": str(o["follow"]),
            "visit-reason": "Sore throat"}
    data.update(extra)
    return data


def test_walk_in_from_a_search_with_no_match(app, desk, schedule_office):
    prefilled = desk.post("/staff/walk-in", data={"q": "castellanos marisol 06/02/1984"})
    page = prefilled.get_data(as_text=True)
    assert 'value="Castellanos"' in page and 'value="Marisol"' in page
    assert 'value="1984-06-02"' in page
    # An error in the insurance part keeps every part as typed; nothing saved.
    bad = desk.post("/staff/walk-in", data=_walk_in(schedule_office, payer_id(app), **{"primary-member_id": ""}))
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "Enter the member id from the card." in text
    assert 'value="Sore throat"' in text and 'value="S99887766"' in text
    with app.app_context():
        assert db.session.execute(db.select(db.func.count(Patient.id))).scalar() == 1
    good = desk.post("/staff/walk-in", data=_walk_in(schedule_office, payer_id(app)))
    assert good.status_code == 302 and "/staff/visits/" in good.headers["Location"]
    with app.app_context():
        visit = db.session.get(Visit, int(good.headers["Location"].rsplit("/", 1)[1]))
        assert visit.state == "arrived" and visit.provider_id == schedule_office["provider"]
        plans = db.session.execute(db.select(Coverage).filter_by(patient_id=visit.patient_id)
                                   .order_by(Coverage.rank)).scalars().all()
        assert [(c.rank, c.subscriber_given, c.relationship_code) for c in plans] == [
            (1, "Rafael", "spouse"), (2, "Rafael", "spouse")]
        appt = db.session.execute(db.select(Appointment).filter_by(visit_id=visit.id)).scalar_one()
        assert appt.status == "arrived"


def test_board_from_appointments_arrive_and_confirm_no_show(app, desk, schedule_office):
    with app.app_context():
        from intake.services.clock import today
        from intake.services.schedule import booking
        now = datetime.now(ZONE)
        base = now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
        first = booking.book({"patient_id": schedule_office["patient"], "provider_id": schedule_office["provider"],
                              "type_id": schedule_office["follow"], "start": base - timedelta(minutes=45),
                              "overbook_reason": "test"})
        db.session.commit()
        appt_id = first.id
        assert booking.day_of(first) == today() or base.hour == 0
    page = desk.get("/staff/board").get_data(as_text=True)
    assert "late 4" in page  # 45 minutes after the booked time, not here yet
    confirm = desk.get(f"/staff/appointments/{appt_id}/no-show?back=board").get_data(as_text=True)
    assert "Mark as no-show?" in confirm
    desk.post(f"/staff/appointments/{appt_id}/arrive", data={"back": "board"})
    with app.app_context():
        appt = db.session.get(Appointment, appt_id)
        assert appt.status == "arrived" and appt.visit.state == "arrived"
    page = desk.get("/staff/board").get_data(as_text=True)
    assert f"/staff/visits/{appt.visit_id}#check-in" in page and "late 4" in page


def test_admin_sets_types_weeks_and_time_off(app, admin_client, create_provider):
    dr = create_provider()
    page = admin_client.get("/admin/schedule")
    assert page.status_code == 200 and "No weeks yet" in page.get_data(as_text=True)
    admin_client.post("/admin/schedule/types", data={"name": "Follow-up", "minutes": "20",
                                                     "colour": "#198754", "new_patients": "y"})
    bad = admin_client.post("/admin/schedule/types", data={"name": "Odd", "minutes": "17"})
    assert bad.status_code == 422 and "steps of 5 minutes" in bad.get_data(as_text=True)
    week = {"provider_id": str(dr), "effective_from": "2026-01-05",
            "hours_0": "08:00-17:00", "breaks_0": "12:00-13:00", "hours_2": "8:00-12:00"}
    wrong = admin_client.post("/admin/schedule/templates", data={**week, "hours_4": "17:00-09:00"})
    text = wrong.get_data(as_text=True)
    assert wrong.status_code == 422 and "ends before it starts" in text
    assert 'value="08:00-17:00"' in text  # the rest kept as typed
    assert admin_client.post("/admin/schedule/templates", data=week).status_code == 302
    off = admin_client.post("/admin/schedule/exceptions",
                            data={"provider_id": "0", "day": next_weekday(3, 4).isoformat(),
                                  "kind": "holiday",
                                  "note": "Christmas Eve"})
    assert off.status_code == 302
    shown = admin_client.get("/admin/schedule").get_data(as_text=True)
    assert "Mon 08:00–17:00; Mon 12:00–13:00 (break); Wed 08:00–12:00" in shown
    assert "Christmas Eve" in shown and "Follow-up" in shown


def test_email_reminders_go_through_the_worker(make_app, create_patient, create_provider,
                                               create_user, monkeypatch):
    """Queued at the desk, sent by the worker after the commit (tests run
    tasks at once), with the .ics attached; a second queueing sends nothing."""
    import smtplib

    sent = []

    class FakeSMTP:
        def __init__(self, host, port, timeout):
            assert (host, port) == ("smtp.example.org", 587)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def starttls(self):
            pass

        def login(self, user, password):
            pass

        def send_message(self, message):
            sent.append(message)

    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    app = make_app(INTAKE_SMTP_HOST="smtp.example.org", INTAKE_SMTP_FROM="desk@example.org")
    with app.app_context():
        from intake.models import AppointmentType
        from intake.services.clock import today
        from intake.services.schedule import booking

        pid, dr = create_patient(), create_provider()
        kind = AppointmentType(name="Follow-up", minutes=20)
        db.session.add(kind)
        db.session.flush()
        tomorrow = today() + timedelta(days=1)
        booking.book({"patient_id": pid, "provider_id": dr, "type_id": kind.id,
                      "start": at(tomorrow, 9), "overbook_reason": "test"})
        db.session.commit()
    from tests.conftest import login

    desk = app.test_client()
    login(desk, create_user("receptionist")[1])
    page = desk.get("/staff/reminders").get_data(as_text=True)
    assert "Email reminders to patients" in page
    desk.post("/staff/reminders/email", data={"day": tomorrow.isoformat()})
    assert len(sent) == 1
    message = sent[0]
    assert message["To"] == "lukasz@example.com" and "Reminder" in message["Subject"]
    attachment = next(message.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    desk.post("/staff/reminders/email", data={"day": tomorrow.isoformat()})
    assert len(sent) == 1
