"""The waitlist: patients wanting an earlier time, offered when one opens."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from sqlalchemy.orm import selectinload

from intake.extensions import db
from intake.models import Appointment, AppointmentType, Patient, WaitlistEntry
from intake.services import FieldErrors, audit
from intake.services.clock import practice_zone


def add(data: Mapping[str, Any]) -> WaitlistEntry:
    patient = db.session.get(Patient, data.get("patient_id") or 0)
    kind = db.session.get(AppointmentType, data.get("type_id") or 0)
    errors = {}
    if patient is None:
        errors["patient_id"] = ["Choose the patient."]
    if kind is None:
        errors["type_id"] = ["Choose an appointment type."]
    weekdays = "".join(sorted(set(str(d) for d in data.get("weekdays") or "01234")))
    if not weekdays.isdigit() or any(d > "6" for d in weekdays):
        errors["weekdays"] = ["Choose the days that suit the patient."]
    part = data.get("part_of_day") or "any"
    if part not in ("am", "pm", "any"):
        errors["part_of_day"] = ["Choose morning, afternoon or any time."]
    if errors:
        raise FieldErrors(errors)
    entry = WaitlistEntry(patient_id=patient.id, type_id=kind.id,
                          provider_id=data.get("provider_id") or None, weekdays=weekdays,
                          part_of_day=part, note=data.get("note") or None)
    db.session.add(entry)
    db.session.flush()
    audit.record("waitlist.add", patient_id=patient.id, object_type="waitlist",
                 object_id=entry.id)
    return entry


def _suits(entry: WaitlistEntry, provider_id: int, type_id: int, start: datetime) -> bool:
    local = start.astimezone(practice_zone())
    return (entry.type_id == type_id
            and entry.provider_id in (None, provider_id)
            and str(local.weekday()) in entry.weekdays
            and (entry.part_of_day == "any" or (entry.part_of_day == "am") == (local.hour < 12)))


def offers_for(appt: Appointment) -> list[WaitlistEntry]:
    """Who on the waitlist the time a cancelled appointment freed would suit,
    oldest first."""
    if appt.start_at <= datetime.now(timezone.utc):
        return []
    entries = db.session.execute(
        db.select(WaitlistEntry).where(WaitlistEntry.resolved_at.is_(None),
                                       WaitlistEntry.type_id == appt.type_id)
        .options(selectinload(WaitlistEntry.patient))
        .order_by(WaitlistEntry.created_at, WaitlistEntry.id)).scalars()
    return [e for e in entries if _suits(e, appt.provider_id, appt.type_id, appt.start_at)]


def resolve(entry: WaitlistEntry) -> None:
    entry.resolved_at = datetime.now(timezone.utc)
    db.session.flush()
