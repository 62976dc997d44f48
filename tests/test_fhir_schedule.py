"""FHIR Schedule, Slot and Appointment through the API and the bulk export,
each resource checked by the R4 JSON schema."""

from __future__ import annotations

import io

import orjson

from intake.extensions import db
from intake.services.schedule import booking
from tests.fhir import r4_validators as V
from tests.test_fhir_api import _kickoff
from tests.test_schedule import at, next_weekday


def _booked(app, o):
    tuesday = next_weekday(1)
    with app.app_context():
        kept = booking.book({"patient_id": o["patient"], "provider_id": o["provider"],
                             "type_id": o["follow"], "start": at(tuesday, 10, 40),
                             "reason": "Blood pressure"})
        gone = booking.book({"patient_id": o["patient"], "provider_id": o["provider"],
                             "type_id": o["follow"], "start": at(tuesday, 11)})
        booking.cancel(gone, "Feeling better")
        db.session.commit()
        return kept.id, gone.id


def test_read_and_search_schedule_slot_appointment(app, api, schedule_office):
    kept, gone = _booked(app, schedule_office)
    appt = api.get(f"/fhir/Appointment/{kept}").json
    assert V.schema_errors(appt) == []
    assert appt["status"] == "booked" and appt["minutesDuration"] == 20
    assert appt["appointmentType"]["coding"][0]["code"] == "FOLLOWUP"
    assert appt["serviceType"] == [{"text": "Follow-up"}]
    assert [p["actor"]["reference"] for p in appt["participant"]] == [
        f"Patient/{schedule_office['patient']}", f"Practitioner/{schedule_office['provider']}"]
    assert appt["start"].endswith("Z") and appt["slot"] == [{"reference": f"Slot/{kept}"}]
    cancelled = api.get(f"/fhir/Appointment/{gone}").json
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancelationReason"] == {"text": "Feeling better"}
    found = api.get(f"/fhir/Appointment?patient=Patient/{schedule_office['patient']}&status=cancelled").json
    assert [e["resource"]["id"] for e in found["entry"]] == [str(gone)]
    slots = api.get(f"/fhir/Slot?schedule=Schedule/{schedule_office['provider']}").json
    assert [e["resource"]["id"] for e in slots["entry"]] == [str(kept)]  # the cancelled one is free
    assert slots["entry"][0]["resource"]["status"] == "busy"
    schedule = api.get(f"/fhir/Schedule/{schedule_office['provider']}").json
    assert V.schema_errors(schedule) == []
    assert schedule["actor"][0]["reference"] == f"Practitioner/{schedule_office['provider']}"
    meta = api.get("/fhir/metadata").json
    served = {r["type"] for r in meta["rest"][0]["resource"]}
    assert {"Schedule", "Slot", "Appointment"} <= served


def test_bulk_export_carries_the_schedule(app, api, schedule_office):
    _booked(app, schedule_office)
    response = _kickoff(api)
    status = api.get(response.headers["Content-Location"].split("localhost", 1)[1]).json
    by_type = {o["type"]: o for o in status["output"]}
    assert by_type["Appointment"]["count"] == 2
    assert by_type["Slot"]["count"] == 1 and by_type["Schedule"]["count"] == 1
    file = api.get(by_type["Appointment"]["url"].split("localhost", 1)[1])
    lines = [orjson.loads(line) for line in io.BytesIO(file.data).read().splitlines()]
    file.close()
    assert all(V.schema_errors(r) == [] for r in lines)
    assert sorted(r["status"] for r in lines) == ["booked", "cancelled"]
