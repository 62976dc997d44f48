"""FHIR R4 Schedule, Slot and Appointment from the schedule's rows. Pure
functions from models to dicts, like intake.fhir.mappers.

- Schedule: one per provider with a weekly template (actor: the
  Practitioner and the practice's Location-less Organization is not an
  actor, so the Practitioner only), serviceType = the types the hours take.
- Slot: the time each active booking takes (status busy); its id is the
  appointment's. Free time is computed, not stored, and is found through
  the desk's search, so it is not served as Slot rows.
- Appointment: R4 status from the booking and, once arrived, the visit's
  state; participants (Patient, Practitioner) with their participation
  status; appointmentType from v2-0276; serviceType = the practice's type.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from intake.fhir.mappers import instant

Resource = dict[str, Any]
V2_0276 = "http://terminology.hl7.org/CodeSystem/v2-0276"
# What the office's appointment type says, as HL7 v2 table 0276 codes.
_APPOINTMENT_REASON = {"WALKIN": "A previously unscheduled walk-in visit",
                       "FOLLOWUP": "A follow up visit from a previous appointment",
                       "ROUTINE": "Routine appointment - default if not valued",
                       "CHECKUP": "A routine check-up, such as an annual physical"}

# Booking status, then the visit's state once arrived -> R4 Appointment.status.
APPOINTMENT_STATUS = {"booked": "booked", "cancelled": "cancelled", "no_show": "noshow",
                      "arrived": "arrived", "checked_in": "checked-in",
                      "with_provider": "checked-in", "checked_out": "fulfilled"}


def _meta(row: Any) -> dict[str, str] | None:
    updated = getattr(row, "updated_at", None)
    return {"lastUpdated": instant(updated)} if updated is not None else None


def _service_type(kind: Any) -> dict[str, Any]:
    return {"text": kind.name}


def appointment_type_code(kind_name: str, walk_in: bool) -> str:
    name = kind_name.lower()
    if walk_in:
        return "WALKIN"
    if "follow" in name:
        return "FOLLOWUP"
    if "physical" in name or "check" in name or "annual" in name:
        return "CHECKUP"
    return "ROUTINE"


def schedule_resource(provider: Any, types: list[Any]) -> Resource:
    resource: Resource = {"resourceType": "Schedule", "id": str(provider.id)}
    if meta := _meta(provider):
        resource["meta"] = meta
    resource["active"] = bool(provider.active)
    if types:
        resource["serviceType"] = [_service_type(t) for t in types]
    resource["actor"] = [{"reference": f"Practitioner/{provider.id}",
                          "display": provider.display_name}]
    return resource


def slot_resource(appt: Any) -> Resource:
    resource: Resource = {"resourceType": "Slot", "id": str(appt.id)}
    if meta := _meta(appt):
        resource["meta"] = meta
    resource["serviceType"] = [_service_type(appt.type)]
    resource["schedule"] = {"reference": f"Schedule/{appt.provider_id}"}
    resource["status"] = "busy" if appt.status in ("booked", "arrived") else "free"
    resource["start"] = instant(appt.start_at)
    resource["end"] = instant(appt.start_at + timedelta(minutes=appt.minutes))
    if appt.overbooked_reason:
        resource["overbooked"] = True
    return resource


def appointment_status(appt: Any) -> str:
    if appt.status == "arrived" and appt.visit is not None:
        return APPOINTMENT_STATUS.get(appt.visit.state, "arrived")
    return APPOINTMENT_STATUS.get(appt.status, "booked")


def appointment_resource(appt: Any) -> Resource:
    status = appointment_status(appt)
    resource: Resource = {"resourceType": "Appointment", "id": str(appt.id)}
    if meta := _meta(appt):
        resource["meta"] = meta
    resource["status"] = status
    if status == "cancelled" and appt.cancel_reason:
        resource["cancelationReason"] = {"text": appt.cancel_reason}
    resource["serviceType"] = [_service_type(appt.type)]
    code = appointment_type_code(appt.type.name, appt.overbooked_reason == "Walk-in")
    resource["appointmentType"] = {"coding": [{"system": V2_0276, "code": code,
                                               "display": _APPOINTMENT_REASON[code]}],
                                   "text": appt.type.name}
    if appt.reason:
        resource["reasonCode"] = [{"text": appt.reason}]
    resource["start"] = instant(appt.start_at)
    resource["end"] = instant(appt.start_at + timedelta(minutes=appt.minutes))
    resource["minutesDuration"] = appt.minutes
    if status in ("booked", "arrived", "checked-in", "fulfilled"):
        resource["slot"] = [{"reference": f"Slot/{appt.id}"}]
    if appt.created_at is not None:
        resource["created"] = instant(appt.created_at)
    if appt.note:
        resource["comment"] = appt.note
    who = "declined" if status == "cancelled" else "accepted"
    resource["participant"] = [
        {"actor": {"reference": f"Patient/{appt.patient_id}"}, "required": "required",
         "status": who},
        {"actor": {"reference": f"Practitioner/{appt.provider_id}"}, "required": "required",
         "status": "accepted"},
    ]
    return resource
