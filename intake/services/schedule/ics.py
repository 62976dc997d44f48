"""An appointment as an iCalendar file for the patient (RFC 5545, with the
practice's time zone). Pure: no Flask, no database."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone


def appointment_ics(appt: Any, office: Any, zone: ZoneInfo) -> bytes:
    start = appt.start_at.astimezone(zone)
    cal = Calendar()
    cal.add("prodid", "-//intake//schedule//EN")
    cal.add("version", "2.0")
    cal.add_component(Timezone.from_tzinfo(zone, first_date=start.date() - timedelta(days=366),
                                           last_date=start.date() + timedelta(days=366)))
    event = Event()
    event.add("uid", f"appointment-{appt.id}@intake")
    event.add("dtstamp", datetime.now(timezone.utc))
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=appt.minutes))
    name = office.name or "the practice"
    # The patient's own calendar: the practice, the provider and the type; no chart data.
    event.add("summary", f"{appt.type.name} at {name}")
    event.add("description", f"With {appt.provider.display_name}. "
                             f"Please arrive 10 minutes early and bring your insurance card."
                             + (f" Questions: {office.phone}." if office.phone else ""))
    address = ", ".join(x for x in (office.address_line1, office.city, office.state) if x)
    if address:
        event.add("location", address)
    event.add("status", "CANCELLED" if appt.status == "cancelled" else "CONFIRMED")
    cal.add_component(event)
    return cal.to_ical()
