"""Booking, moving, cancelling and marking no-shows. Conflicts are refused
in words unless the desk overbooks with a reason; the appointment_cells
primary key backs the check, so two desks booking one time get one booking."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from intake.extensions import db
from intake.models import (Appointment, AppointmentCell, AppointmentChange, AppointmentType,
                           Patient, Provider, Visit, VisitEvent)
from intake.models.schedule import CELL_MINUTES, AppointmentStatus as A
from intake.models.visit import VisitState
from intake.services import FieldErrors, NotFound, audit
from intake.services.clock import practice_zone, today
from intake.services.schedule.hours import Week

ACTIVE = (A.BOOKED, A.ARRIVED)
TAKEN_MESSAGE = "That time was booked at another desk a moment ago; choose another time."


def _now() -> datetime:
    return datetime.now(timezone.utc)


def cells(start: datetime, minutes: int) -> range:
    first = int(start.timestamp()) // (CELL_MINUTES * 60)
    return range(first, first + minutes // CELL_MINUTES)


def local_time(at: datetime) -> str:
    return at.astimezone(practice_zone()).strftime("%H:%M")


def _change(appt: Appointment, action: str, detail: str | None = None) -> None:
    appt.changes.append(AppointmentChange(action=action, detail=detail,
                                          user_id=audit.current_user_id()))


def get_appointment(appointment_id: int, *, purpose: str = "view") -> Appointment:
    appt = db.session.execute(
        db.select(Appointment).where(Appointment.id == appointment_id)
        .options(selectinload(Appointment.changes).selectinload(AppointmentChange.user))
    ).scalar_one_or_none()
    if appt is None:
        raise NotFound("appointment")
    audit.record(f"appointment.{purpose}", patient_id=appt.patient_id,
                 object_type="appointment", object_id=appt.id)
    return appt


def conflicts(provider: Provider, type_id: int, start: datetime, minutes: int,
              *, ignore_id: int | None = None) -> list[str]:
    """Why this time cannot be booked, in words; empty when it can."""
    end = start + timedelta(minutes=minutes)
    zone = practice_zone()
    day = start.astimezone(zone).date()
    week = Week([provider.id], day, day, zone)
    problems = []
    for closed in week.closed(provider.id, day):
        if closed.start < end and start < closed.end:
            problems.append(f"{provider.display_name} has {closed.why} from "
                            f"{local_time(closed.start)} to {local_time(closed.end)}.")
    inside = any(o.start <= start and end <= o.end for o in week.openings(provider.id, day))
    if not problems and not inside:
        problems.append(f"{local_time(start)}–{local_time(end)} is outside "
                        f"{provider.display_name}'s hours on {day:%A}.")
    elif inside and not any(o.start <= start and end <= o.end and o.takes(type_id)
                            for o in week.openings(provider.id, day)):
        problems.append(f"{provider.display_name}'s hours at that time do not take this type.")
    clashing = db.session.execute(
        db.select(Appointment.start_at, Appointment.minutes).where(
            Appointment.provider_id == provider.id, Appointment.status.in_(ACTIVE),
            Appointment.start_at < end,
            Appointment.start_at >= start - timedelta(hours=12),
            Appointment.id != (ignore_id or 0))).all()
    for other_start, other_minutes in clashing:
        other_end = other_start + timedelta(minutes=other_minutes)
        if other_end > start:
            problems.append(f"It overlaps another booking with {provider.display_name} "
                            f"from {local_time(other_start)} to {local_time(other_end)}.")
    return problems


def _hold(appt: Appointment) -> None:
    """Take the appointment's cells; the database refuses a cell already taken."""
    try:
        with db.session.begin_nested():
            db.session.add_all(AppointmentCell(provider_id=appt.provider_id, cell=c,
                                               appointment_id=appt.id)
                               for c in cells(appt.start_at, appt.minutes))
    except IntegrityError:
        raise FieldErrors({"start": [TAKEN_MESSAGE]}) from None


def _release(appt: Appointment) -> None:
    db.session.execute(delete(AppointmentCell).where(AppointmentCell.appointment_id == appt.id))


def _check(provider: Provider, type_id: int, start: datetime, minutes: int,
           overbook_reason: str | None, ignore_id: int | None = None) -> None:
    if start.tzinfo is None:
        raise FieldErrors({"start": ["A start time needs the practice's time zone."]})
    if int(start.timestamp()) % (CELL_MINUTES * 60) or minutes <= 0 or minutes % CELL_MINUTES:
        raise FieldErrors({"start": [f"Times and lengths go in steps of {CELL_MINUTES} minutes."]})
    if overbook_reason:
        return
    problems = conflicts(provider, type_id, start, minutes, ignore_id=ignore_id)
    if problems:
        raise FieldErrors({"start": problems + [
            "To book it anyway, overbook and give the reason."]})


def book(data: Mapping[str, Any], *, series_id: int | None = None,
         series_index: int | None = None) -> Appointment:
    """data: patient_id, provider_id, type_id, start (aware), minutes
    (default: the type's), reason, note, overbook_reason."""
    patient = db.session.get(Patient, data.get("patient_id") or 0)
    provider = db.session.get(Provider, data.get("provider_id") or 0)
    kind = db.session.get(AppointmentType, data.get("type_id") or 0)
    errors = {}
    if patient is None:
        errors["patient_id"] = ["Choose the patient."]
    if provider is None or not provider.active:
        errors["provider_id"] = ["Choose a provider."]
    if kind is None or not kind.active:
        errors["type_id"] = ["Choose an appointment type."]
    if data.get("start") is None:
        errors["start"] = ["Give the date and time."]
    if errors:
        raise FieldErrors(errors)
    minutes = int(data.get("minutes") or kind.minutes)
    overbook = (data.get("overbook_reason") or "").strip() or None
    _check(provider, kind.id, data["start"], minutes, overbook)
    appt = Appointment(patient_id=patient.id, provider_id=provider.id, type_id=kind.id,
                       start_at=data["start"], minutes=minutes,
                       reason=data.get("reason") or None, note=data.get("note") or None,
                       status=A.BOOKED, overbooked_reason=overbook,
                       series_id=series_id, series_index=series_index)
    db.session.add(appt)
    _change(appt, "booked", f"{_when(appt)}" + (f"; overbooked: {overbook}" if overbook else ""))
    db.session.flush()
    if not overbook:
        _hold(appt)
    audit.record("appointment.book", patient_id=patient.id, object_type="appointment",
                 object_id=appt.id)
    return appt


def _when(appt: Appointment) -> str:
    local = appt.start_at.astimezone(practice_zone())
    return f"{local:%Y-%m-%d %H:%M} for {appt.minutes} min with provider {appt.provider_id}"


def _is_open(appt: Appointment) -> None:
    if appt.status != A.BOOKED:
        raise FieldErrors({"status": [f"This appointment is {appt.status.replace('_', '-')}; "
                                      "it can no longer be changed."]})


def reschedule(appt: Appointment, *, start: datetime, provider_id: int | None = None,
               minutes: int | None = None, overbook_reason: str | None = None) -> Appointment:
    _is_open(appt)
    provider = db.session.get(Provider, provider_id or appt.provider_id)
    if provider is None or not provider.active:
        raise FieldErrors({"provider_id": ["Choose a provider."]})
    minutes = minutes or appt.minutes
    overbook = (overbook_reason or "").strip() or None
    _check(provider, appt.type_id, start, minutes, overbook, ignore_id=appt.id)
    before = _when(appt)
    _release(appt)
    appt.start_at, appt.provider_id, appt.minutes = start, provider.id, minutes
    appt.overbooked_reason = overbook
    _change(appt, "moved", f"from {before} to {_when(appt)}")
    db.session.flush()
    if not overbook:
        _hold(appt)
    audit.record("appointment.move", patient_id=appt.patient_id, object_type="appointment",
                 object_id=appt.id)
    return appt


def cancel(appt: Appointment, reason: str) -> Appointment:
    _is_open(appt)
    if not (reason or "").strip():
        raise FieldErrors({"reason": ["Say why it is cancelled."]})
    _release(appt)
    appt.status, appt.cancel_reason = A.CANCELLED, reason.strip()
    _change(appt, "cancelled", reason.strip())
    db.session.flush()
    audit.record("appointment.cancel", patient_id=appt.patient_id, object_type="appointment",
                 object_id=appt.id)
    return appt


def no_show(appt: Appointment) -> Appointment:
    _is_open(appt)
    if appt.start_at > _now():
        raise FieldErrors({"status": ["A patient can only miss an appointment once it has begun."]})
    _release(appt)
    appt.status = A.NO_SHOW
    _change(appt, "no-show")
    db.session.flush()
    audit.record("appointment.no_show", patient_id=appt.patient_id, object_type="appointment",
                 object_id=appt.id)
    return appt


def arrive(appt: Appointment, *, place_of_service: str | None = None) -> Visit:
    """The patient is here: the appointment becomes today's visit (date of
    service, provider, place of service), already marked arrived."""
    from intake.services.practice import get_practice

    if appt.status == A.NO_SHOW:  # a late patient marked no-show can still be seen
        appt.status = A.BOOKED
    _is_open(appt)
    day = appt.start_at.astimezone(practice_zone()).date()
    if day != today():
        raise FieldErrors({"status": ["Only today's appointments can be marked as arrived."]})
    now = _now()
    visit = Visit(patient_id=appt.patient_id, provider_id=appt.provider_id, date_of_service=day,
                  place_of_service=place_of_service or get_practice().default_pos,
                  reason=appt.reason or appt.type.name, state=VisitState.ARRIVED, arrived_at=now)
    db.session.add(visit)
    db.session.flush()
    db.session.add(VisitEvent(visit=visit, from_state=None, to_state=VisitState.ARRIVED,
                              user_id=audit.current_user_id(), note="from the appointment"))
    appt.status, appt.visit_id = A.ARRIVED, visit.id
    late = int((now - appt.start_at).total_seconds() // 60)
    _change(appt, "arrived", f"{late} min late" if late > 0 else None)
    db.session.flush()
    audit.record("appointment.arrive", patient_id=appt.patient_id, object_type="visit",
                 object_id=visit.id)
    return visit


def appointments_for_patient(patient_id: int) -> list[Appointment]:
    return list(db.session.execute(
        db.select(Appointment).where(Appointment.patient_id == patient_id)
        .options(selectinload(Appointment.provider), selectinload(Appointment.type))
        .order_by(Appointment.start_at.desc())).scalars())


def day_of(appt: Appointment) -> date:
    return appt.start_at.astimezone(practice_zone()).date()


def local_start(day: date, at: Any) -> datetime:
    """The aware instant of a wall-clock time on a day in the practice's zone."""
    return datetime.combine(day, at, practice_zone())


def list_types(active_only: bool = True) -> list[AppointmentType]:
    query = db.select(AppointmentType).order_by(AppointmentType.name)
    if active_only:
        query = query.where(AppointmentType.active.is_(True))
    return list(db.session.execute(query).scalars())


def mark_reminder(appt: Appointment, outcome: str) -> Appointment:
    if outcome not in ("reached", "message", "no_answer"):
        raise FieldErrors({"outcome": ["Choose reached, left message or no answer."]})
    appt.reminder_outcome, appt.reminder_at = outcome, _now()
    _change(appt, "reminder", outcome)
    db.session.flush()
    audit.record("appointment.remind", patient_id=appt.patient_id, object_type="appointment",
                 object_id=appt.id)
    return appt


def reminder_list(day: date) -> list[Appointment]:
    """The day's booked appointments to call about, in time order."""
    from intake.services.schedule.finding import day_span

    start, end = day_span(day)
    appts = list(db.session.execute(
        db.select(Appointment).where(Appointment.start_at >= start, Appointment.start_at < end,
                                     Appointment.status == A.BOOKED)
        .options(selectinload(Appointment.patient), selectinload(Appointment.provider),
                 selectinload(Appointment.type))
        .order_by(Appointment.start_at)).scalars())
    audit.record("appointment.reminders", object_type="reminders", detail=f"rows={len(appts)}")
    return appts
