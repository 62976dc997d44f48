"""The day's board built from the day's appointments, in time order, with
the visits that came without one (walk-ins). Rows are plain values read by
one column query each, so a 500-appointment day costs little more per row
than the HTML it prints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from sqlalchemy.orm import aliased

from intake.extensions import db
from intake.models import Appointment, AppointmentType, Patient, Provider, Visit
from intake.models.schedule import AppointmentStatus as A
from intake.services import audit
from intake.services.clock import practice_zone
from intake.services.schedule.finding import day_span

LATE_AFTER = timedelta(minutes=10)
STATUS_LABELS = {A.BOOKED: "Scheduled", A.CANCELLED: "Cancelled", A.NO_SHOW: "No-show"}


@dataclass(slots=True)
class Row:
    time: str
    start: datetime
    patient: str
    patient_id: int
    born: str
    provider: str
    provider_id: int
    kind: str
    colour: str
    status: str  # a visit state once arrived, else the appointment's status
    appointment_id: int | None
    visit_id: int | None
    visit_version: int | None
    late_minutes: int | None  # late now (not yet here) or late on arrival
    waiting_minutes: int | None
    minutes: int | None = None


def _name(family: str, given: str) -> str:
    return f"{family}, {given}"


def _provider(given: str, family: str, credentials: str | None) -> str:
    return f"{given} {family}, {credentials}" if credentials else f"{given} {family}"


def day_board(day: date) -> list[Row]:
    zone = practice_zone()
    start, end = day_span(day)
    now = datetime.now(timezone.utc)
    rows: list[Row] = []
    v = aliased(Visit)
    query = (db.select(Appointment.id, Appointment.start_at, Appointment.minutes,
                       Appointment.status, Appointment.visit_id, Patient.id, Patient.family_name,
                       Patient.given_name, Patient.birth_date, Provider.id, Provider.given_name,
                       Provider.family_name, Provider.credentials, AppointmentType.name,
                       AppointmentType.colour, v.state, v.version, v.arrived_at)
             .join(Patient, Patient.id == Appointment.patient_id)
             .join(Provider, Provider.id == Appointment.provider_id)
             .join(AppointmentType, AppointmentType.id == Appointment.type_id)
             .outerjoin(v, v.id == Appointment.visit_id)
             .where(Appointment.start_at >= start, Appointment.start_at < end)
             .order_by(Appointment.start_at, Appointment.id))
    for (aid, at, minutes, status, vid, pid, family, given, born, prov, pg, pf, pc, kind, colour,
         state, version, arrived) in db.session.execute(query):
        late = None
        if status == A.BOOKED and now > at + LATE_AFTER:
            late = int((now - at).total_seconds() // 60)
        elif arrived is not None and arrived > at + LATE_AFTER:
            late = int((arrived - at).total_seconds() // 60)
        waiting = (int((now - arrived).total_seconds() // 60)
                   if state in ("arrived", "checked_in") and arrived else None)
        rows.append(Row(at.astimezone(zone).strftime("%H:%M"), at, _name(family, given), pid,
                        born.strftime("%m/%d/%Y"), _provider(pg, pf, pc), prov, kind, colour,
                        state or status, aid, vid, version, late, waiting, minutes))
    # Visits without an appointment: walk-ins and visits created by hand.
    booked_visits = db.select(Appointment.visit_id).where(Appointment.visit_id.is_not(None))
    walk_ins = (db.select(Visit.id, Visit.state, Visit.version, Visit.arrived_at, Visit.created_at,
                          Patient.id, Patient.family_name, Patient.given_name, Patient.birth_date,
                          Provider.id, Provider.given_name, Provider.family_name, Provider.credentials,
                          Visit.reason)
                .join(Patient, Patient.id == Visit.patient_id)
                .join(Provider, Provider.id == Visit.provider_id)
                .where(Visit.date_of_service == day, Visit.id.not_in(booked_visits)))
    for (vid, state, version, arrived, created, pid, family, given, born, prov, pg, pf, pc,
         reason) in db.session.execute(walk_ins):
        at = arrived or created
        waiting = (int((now - arrived).total_seconds() // 60)
                   if state in ("arrived", "checked_in") and arrived else None)
        rows.append(Row(at.astimezone(zone).strftime("%H:%M"), at, _name(family, given), pid,
                        born.strftime("%m/%d/%Y"), _provider(pg, pf, pc), prov,
                        reason or "Walk-in", "#6c757d", state, None, vid, version, None, waiting))
    rows.sort(key=lambda r: r.start)
    audit.record("board.view", object_type="board", detail=f"rows={len(rows)}")
    return rows


def status_labels() -> dict[str, str]:
    from intake.services.visits import STATE_LABELS

    return {**STATE_LABELS, **STATUS_LABELS}


def week(monday: date, provider_id: int | None = None) -> list[tuple[date, list[Row]]]:
    """Seven days of board rows (one provider's, or everyone's)."""
    out = []
    for n in range(7):
        day = monday + timedelta(days=n)
        rows = day_board(day)
        out.append((day, [r for r in rows if provider_id in (None, r.provider_id)]))
    return out
