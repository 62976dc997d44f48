"""The schedule's rules on the real database (SQLite, or PostgreSQL with
INTAKE_TEST_DATABASE_URL): templates, conflicts, series across DST, finding
time, the waitlist, the board and two desks booking one time at once."""

from __future__ import annotations

import threading
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from intake.extensions import db
from intake.models import Appointment, AppointmentCell, Patient, Provider
from intake.services import FieldErrors
from intake.services.clock import today
from intake.services.schedule import board, booking, finding, hours, series, waitlist
from tests.conftest import setup_week

ZONE = ZoneInfo("America/New_York")
OTHER_NPI = "1245319599"


def next_weekday(weekday: int, weeks_ahead: int = 1) -> date:
    start = datetime.now(ZONE).date() + timedelta(days=7 * weeks_ahead)
    return start + timedelta(days=(weekday - start.weekday()) % 7)


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), ZONE)


def _book(o, start, **extra):
    return booking.book({"patient_id": o["patient"], "provider_id": o["provider"],
                         "type_id": o["follow"], "start": start, "reason": "Blood pressure",
                         **extra})


def test_book_refuses_overlap_break_and_outside_hours_in_words(app, schedule_office):
    tuesday = next_weekday(1)
    with app.app_context():
        appt = _book(schedule_office, at(tuesday, 10, 40))
        assert appt.minutes == 20 and [c.action for c in appt.changes] == ["booked"]
        cells = db.session.execute(db.select(AppointmentCell.cell).filter_by(
            appointment_id=appt.id)).scalars().all()
        assert len(cells) == 4
        with pytest.raises(FieldErrors) as overlap:
            _book(schedule_office, at(tuesday, 10, 50))
        assert "overlaps another booking with Jane Hartley, MD from 10:40 to 11:00" in \
            " ".join(overlap.value.errors["start"])
        with pytest.raises(FieldErrors) as lunch:
            _book(schedule_office, at(tuesday, 11, 50))
        assert "has a break from 12:00 to 13:00" in lunch.value.errors["start"][0]
        with pytest.raises(FieldErrors) as evening:
            _book(schedule_office, at(tuesday, 17, 0))
        assert "outside Jane Hartley, MD's hours on Tuesday" in evening.value.errors["start"][0]
        with pytest.raises(FieldErrors) as grid:
            _book(schedule_office, at(tuesday, 9, 3))
        assert "steps of 5 minutes" in grid.value.errors["start"][0]
        # Overbooked with a reason: accepted, holds no cells, says so.
        extra = _book(schedule_office, at(tuesday, 10, 40), overbook_reason="Urgent, doctor agreed")
        assert extra.overbooked_reason == "Urgent, doctor agreed"
        assert "overbooked: Urgent" in extra.changes[0].detail


def test_exceptions_close_the_day(app, schedule_office):
    wednesday, thursday = next_weekday(2), next_weekday(3)
    with app.app_context():
        dr = db.session.get(Provider, schedule_office["provider"])
        hours.add_exception(dr, wednesday, "half_day", starts=time(13), ends=time(17))
        hours.add_exception(None, thursday, "holiday", note="Thanksgiving")
        _book(schedule_office, at(wednesday, 11))
        with pytest.raises(FieldErrors) as half:
            _book(schedule_office, at(wednesday, 14))
        assert "has time off from 13:00" in half.value.errors["start"][0]
        with pytest.raises(FieldErrors) as holiday:
            _book(schedule_office, at(thursday, 10))
        assert "a practice holiday" in holiday.value.errors["start"][0]


def test_block_types_are_enforced(app, schedule_office, create_provider):
    with app.app_context():
        other = create_provider(npi=OTHER_NPI, family_name="Okafor")
    with app.app_context():
        setup_week(other, type_ids=[schedule_office["physical"]])
        with pytest.raises(FieldErrors) as wrong:
            _book({**schedule_office, "provider": other}, at(next_weekday(0), 9))
        assert "do not take this type" in wrong.value.errors["start"][0]


def test_reschedule_cancel_no_show_keep_their_history(app, schedule_office, create_user):
    tuesday = next_weekday(1)
    with app.app_context():
        appt = _book(schedule_office, at(tuesday, 9))
        booking.reschedule(appt, start=at(tuesday, 9, 20))
        assert appt.start_at == at(tuesday, 9, 20)
        # The old time is free again, the new one taken.
        other = _book(schedule_office, at(tuesday, 9))
        with pytest.raises(FieldErrors):
            booking.cancel(other, "  ")
        booking.cancel(other, "Patient travelling")
        assert [c.action for c in appt.changes] == ["booked", "moved"]
        assert "to " in appt.changes[1].detail and "09:20" in appt.changes[1].detail
        with pytest.raises(FieldErrors) as early:
            booking.no_show(appt)
        assert "once it has begun" in early.value.errors["status"][0]
        with pytest.raises(FieldErrors):
            booking.reschedule(other, start=at(tuesday, 10))  # cancelled stays cancelled
        db.session.commit()


def test_series_every_8_weeks_across_dst_move_one_and_split(app, schedule_office):
    # From early February: the later dates fall in daylight-saving time.
    first = at(next_weekday(1, weeks_ahead=1), 9)
    with app.app_context():
        booked = series.book_series({"patient_id": schedule_office["patient"],
                                     "provider_id": schedule_office["provider"],
                                     "type_id": schedule_office["follow"], "start": first},
                                    every_weeks=8, times=6)
        assert len(booked) == 6
        assert [a.start_at.astimezone(ZONE).time() for a in booked] == [time(9)] * 6
        assert {a.start_at.astimezone(ZONE).weekday() for a in booked} == {1}
        assert booked[5].start_at.astimezone(ZONE).date() - first.date() == timedelta(weeks=40)
        offsets = {a.start_at.astimezone(ZONE).utcoffset() for a in booked}
        assert len(offsets) == 2  # EST and EDT over 40 weeks, still 9:00 on the wall
        sid = booked[0].series_id
        # Move one occurrence alone; the others stay.
        booking.reschedule(booked[1], start=booked[1].start_at + timedelta(hours=1))
        assert booked[2].start_at.astimezone(ZONE).time() == time(9)
        # Cancel one alone.
        booking.cancel(booked[2], "Away that week")
        # This and following (4th on): moved to 14:00 as a new series.
        moved = series.move_following(booked[3], booked[3].start_at + timedelta(hours=5))
        assert len(moved) == 3
        assert [a.start_at.astimezone(ZONE).time() for a in moved] == [time(14)] * 3
        assert booked[3].series_id != sid and booked[3].series_index == 1
        old = db.session.get(type(booked[0].series), sid)
        assert "COUNT=3" in old.rule and "COUNT=3" in booked[3].series.rule
        assert series.every_weeks_label(booked[3].series.rule) == "every 8 weeks, 3 times"
        cancelled = series.cancel_following(booked[4], "Moved away")
        assert [a.status for a in cancelled] == ["cancelled", "cancelled"]
        assert booked[0].status == "booked" and booked[3].status == "booked"


def test_series_with_a_conflict_is_refused_whole(app, schedule_office):
    first = at(next_weekday(1), 9)
    with app.app_context():
        _book(schedule_office, first + timedelta(weeks=2))
        with pytest.raises(FieldErrors) as refused:
            series.book_series({"patient_id": schedule_office["patient"], "provider_id": schedule_office["provider"],
                                "type_id": schedule_office["follow"], "start": first},
                               every_weeks=1, times=4)
        assert "cannot be booked" in refused.value.errors["start"][0]
        assert len(refused.value.errors["start"]) == 2


def test_next_open_slots_match_the_naive_way(app, schedule_office, create_provider):
    with app.app_context():
        other = create_provider(npi=OTHER_NPI, family_name="Okafor")
    monday = next_weekday(0)
    with app.app_context():
        setup_week(other)
        _book(schedule_office, at(monday, 9))
        _book(schedule_office, at(monday, 9, 40))
        after = at(monday, 8)
        fast = finding.next_open_slots(schedule_office["follow"], after=after, limit=20)
        slow = finding.naive_open_slots(schedule_office["follow"], after=after, limit=20)
        assert fast == slow and len(fast) == 20
        mine = finding.next_open_slots(schedule_office["follow"], provider_id=schedule_office["provider"], after=after,
                                       limit=3)
        assert [s.start.astimezone(ZONE).time() for s in mine] == [time(9, 20), time(10), time(10, 20)]
        assert all(s.provider_id == schedule_office["provider"] for s in mine)


def test_a_cancelled_slot_is_offered_to_the_waitlist(app, schedule_office, create_patient):
    waiting = create_patient(family_name="Okafor", given_name="Ada", phone_mobile="+13125550177")
    tuesday = next_weekday(1)
    with app.app_context():
        morning = waitlist.add({"patient_id": waiting, "type_id": schedule_office["follow"],
                                "weekdays": "12", "part_of_day": "am"})
        waitlist.add({"patient_id": waiting, "type_id": schedule_office["follow"], "part_of_day": "pm"})
        appt = _book(schedule_office, at(tuesday, 10))
        booking.cancel(appt, "Feeling better")
        assert [e.id for e in waitlist.offers_for(appt)] == [morning.id]


def test_arrival_turns_the_appointment_into_the_visit_and_the_board_is_in_time_order(
        app, schedule_office, create_patient, create_visit):
    walk_in = create_patient(family_name="Okafor", given_name="Ada", phone_mobile="+13125550177")
    now = datetime.now(timezone.utc).astimezone(ZONE)
    with app.app_context():
        dr = db.session.get(Provider, schedule_office["provider"])
        hours.save_template(dr, today(), [
            {"weekday": now.weekday(), "starts": time(0), "ends": time(23, 55)}])
        base = now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
        late = _book(schedule_office, base - timedelta(minutes=30))
        later = _book(schedule_office, base + timedelta(minutes=20) if base.hour < 23 else base,
                      overbook_reason="test")
        visit = booking.arrive(late)
        assert (visit.date_of_service, visit.provider_id, visit.place_of_service,
                visit.state) == (today(), schedule_office["provider"], "11", "arrived")
        assert late.status == "arrived" and late.visit_id == visit.id
        assert "min late" in late.changes[-1].detail
        late_id, later_id = late.id, later.id
        db.session.commit()
    create_visit(walk_in)
    with app.app_context():
        rows = board.day_board(today())
        assert [r.appointment_id for r in rows if r.appointment_id] == [late_id, later_id]
        assert [r.status for r in rows if r.appointment_id] == ["arrived", "booked"]
        first = rows[0] if rows[0].appointment_id else rows[1]
        assert first.late_minutes >= 30 and first.waiting_minutes == 0
        assert any(r.appointment_id is None and r.patient == "Okafor, Ada" for r in rows)
        with pytest.raises(FieldErrors):
            booking.arrive(db.session.get(Appointment, late_id))


def test_two_desks_booking_one_time_at_once_get_one_booking(app, schedule_office):
    """Eight threads, each its own session and transaction, book the same
    time: exactly one wins, the others are told in words, nothing fails."""
    start = at(next_weekday(3), 11)
    barrier = threading.Barrier(8)
    results: list[str] = []

    def desk() -> None:
        with app.app_context():
            try:
                barrier.wait()
                _book(schedule_office, start)
                db.session.commit()
                results.append("booked")
            except FieldErrors as exc:
                db.session.rollback()
                text = " ".join(exc.errors["start"])
                results.append("told" if ("overlaps" in text or "another desk" in text)
                               else text)
            except Exception as exc:  # noqa: BLE001 - the test counts them
                results.append(f"error {type(exc).__name__}: {exc}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=desk) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == ["booked"] + ["told"] * 7, results
    with app.app_context():
        assert db.session.execute(db.select(db.func.count(Appointment.id))).scalar() == 1
        assert db.session.execute(db.select(db.func.count()).select_from(AppointmentCell)).scalar() == 4
        assert db.session.get(Patient, schedule_office["patient"]) is not None


def test_a_full_day_is_skipped_and_the_search_still_matches_the_naive_way(app, schedule_office):
    monday = next_weekday(0)
    with app.app_context():
        for minute in [*range(9 * 60, 12 * 60, 20), *range(13 * 60, 17 * 60, 20)]:
            _book(schedule_office, at(monday, minute // 60, minute % 60))
        # The next morning starts late (a half day): the first open time is after it.
        dr = db.session.get(Provider, schedule_office["provider"])
        hours.add_exception(dr, monday + timedelta(days=1), "half_day", starts=time(9),
                            ends=time(10))
        after = at(monday, 7)
        fast = finding.next_open_slots(schedule_office["follow"], provider_id=schedule_office["provider"],
                                       after=after, limit=5)
        assert fast == finding.naive_open_slots(schedule_office["follow"], provider_id=schedule_office["provider"],
                                                after=after, limit=5)
        assert fast[0].start == at(monday + timedelta(days=1), 10)
