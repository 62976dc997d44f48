"""A believable schedule for `intake demo`: appointment types, the
providers' weeks, a practice holiday, and appointments from two weeks back
to three weeks ahead (past ones checked out or missed, today's moving
through the board, future ones booked). Through the same rules as the desk."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta, timezone

from intake.extensions import db
from intake.models import AppointmentType, Patient, Provider
from intake.services import FieldErrors, visits
from intake.services.clock import practice_zone, today
from intake.services.schedule import booking, hours

DEMO_TYPES = [("Follow-up", 20, "#198754", False), ("New patient", 40, "#0d6efd", True),
              ("Annual physical", 40, "#6f42c1", False), ("Sick visit", 20, "#fd7e14", True)]


def ensure_types() -> list[AppointmentType]:
    kinds = booking.list_types()
    if kinds:
        return kinds
    kinds = [AppointmentType(name=n, minutes=m, colour=c, new_patients=new)
             for n, m, c, new in DEMO_TYPES]
    db.session.add_all(kinds)
    db.session.flush()
    return kinds


def _week(off_wednesday_afternoon: bool) -> list[dict]:
    # Saturday mornings for one provider, so a weekend demo has a day too.
    blocks = [] if off_wednesday_afternoon else [
        {"weekday": 5, "starts": time(8), "ends": time(12)}]
    for wd in range(5):
        end = time(12) if off_wednesday_afternoon and wd == 2 else time(17)
        blocks.append({"weekday": wd, "starts": time(8), "ends": end})
        if end > time(13):
            blocks.append({"weekday": wd, "starts": time(12), "ends": time(13), "kind": "break"})
    return blocks


def create_demo_schedule(seed: int | None = None, *, back: int = 14, ahead: int = 21,
                         fill: float = 0.55) -> int:
    """Returns how many appointments were booked."""
    rng = random.Random(seed)
    zone = practice_zone()
    kinds = ensure_types()
    providers = list(db.session.execute(db.select(Provider).where(Provider.active.is_(True))
                                        .order_by(Provider.id)).scalars())
    patient_ids = list(db.session.execute(db.select(Patient.id)).scalars())
    if not providers or not patient_ids:
        return 0
    first = today() - timedelta(days=back)
    for n, provider in enumerate(providers):
        hours.save_template(provider, first - timedelta(days=first.weekday()), _week(n % 2 == 1))
    holiday = today() + timedelta(days=ahead - 3)
    hours.add_exception(None, holiday, "holiday", note="Practice closed (demo)")
    now = datetime.now(timezone.utc)
    booked = 0
    for offset in range(back + ahead + 1):
        day = first + timedelta(days=offset)
        if day.weekday() == 6 or day == holiday:
            continue
        for provider in providers:
            at = datetime.combine(day, time(8), zone)
            end = datetime.combine(day, time(17), zone)
            while at < end:
                kind = rng.choices(kinds, weights=[6, 2, 2, 3][:len(kinds)])[0]
                if rng.random() < fill:
                    try:
                        appt = booking.book({"patient_id": rng.choice(patient_ids),
                                             "provider_id": provider.id, "type_id": kind.id,
                                             "start": at, "reason": kind.name})
                    except FieldErrors:
                        appt = None
                    if appt is not None:
                        booked += 1
                        _play(appt, day, now, rng)
                at += timedelta(minutes=kind.minutes if rng.random() < 0.7 else 20)
    db.session.flush()
    return booked


def _play(appt, day: date, now: datetime, rng: random.Random) -> None:
    """What happened to a booking, by when it is."""
    roll = rng.random()
    if day > today():
        if roll < 0.05:
            booking.cancel(appt, rng.choice(["Patient called to cancel", "Feeling better"]))
        return
    if appt.start_at > now:
        return  # later today: still booked
    if roll < 0.08:
        booking.no_show(appt)
        return
    if roll < 0.12:
        booking.cancel(appt, "Cancelled the same day")
        return
    if day == today():
        visit = booking.arrive(appt)
        # The earlier in the day, the further along the board.
        path = ["checked_in", "with_provider", "checked_out"]
        steps = min(3, int((now - appt.start_at).total_seconds() // 1200))
        for state in path[:steps]:
            visits.move(visit, state, demographics_reviewed=True, insurance_reviewed=True,
                        note="demo")
        return
    visit = visits.create_visit(appt.patient, {"provider_id": appt.provider_id,
                                               "date_of_service": day, "place_of_service": "11",
                                               "reason": appt.reason})
    late = rng.randint(-10, 15)
    arrived = appt.start_at + timedelta(minutes=late)
    times = {"arrived": arrived, "checked_in": arrived + timedelta(minutes=rng.randint(2, 8)),
             "with_provider": arrived + timedelta(minutes=rng.randint(10, 25)),
             "checked_out": arrived + timedelta(minutes=rng.randint(30, 50))}
    visits.record_past_day(visit, times, note="demo history")
    appt.status, appt.visit_id = "arrived", visit.id
