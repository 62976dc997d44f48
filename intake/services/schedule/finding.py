"""Finding time: the next open slots for a type, with one provider or any.

Slots sit on each hours block's own grid (block start + k x the type's
length), as the desk reads them ("10:40"). The search walks day by day,
loads one week of bookings at a time and stops as soon as it has enough,
instead of expanding every template into every slot first."""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from intake.extensions import db
from intake.models import Appointment, AppointmentType, Provider, ScheduleTemplate
from intake.services import FieldErrors
from intake.services.clock import practice_zone
from intake.services.schedule.booking import ACTIVE, cells
from intake.services.schedule.hours import Week


@dataclass(frozen=True, order=True)
class Slot:
    start: datetime
    provider_id: int
    minutes: int

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.minutes)


def _providers(provider_id: int | None) -> list[int]:
    query = db.select(Provider.id).where(Provider.active.is_(True),
                                         Provider.id.in_(db.select(ScheduleTemplate.provider_id)))
    if provider_id:
        query = query.where(Provider.id == provider_id)
    return list(db.session.execute(query.order_by(Provider.id)).scalars())


def _busy(provider_ids: list[int], start: datetime, end: datetime) -> dict[int, list[tuple]]:
    """Booked intervals per provider, sorted by start, overlapping [start, end)."""
    rows = db.session.execute(
        db.select(Appointment.provider_id, Appointment.start_at, Appointment.minutes)
        .where(Appointment.provider_id.in_(provider_ids), Appointment.status.in_(ACTIVE),
               Appointment.start_at < end, Appointment.start_at >= start - timedelta(hours=12))
        .order_by(Appointment.start_at)).all()
    out: dict[int, list[tuple]] = {}
    for pid, at, minutes in rows:
        out.setdefault(pid, []).append((at, at + timedelta(minutes=minutes)))
    return out


def _free(start: datetime, end: datetime, busy: list[tuple], starts: list[datetime]) -> bool:
    # Bookings never span more than a day: look at the few starting before `end`.
    i = bisect_left(starts, end)
    while i > 0:
        i -= 1
        b_start, b_end = busy[i]
        if b_end > start:
            return False
        if b_start < start - timedelta(hours=12):
            break
    return True


def next_open_slots(type_id: int, *, provider_id: int | None = None,
                    after: datetime | None = None, days: int = 90, limit: int = 20) -> list[Slot]:
    kind = db.session.get(AppointmentType, type_id)
    if kind is None or not kind.active:
        raise FieldErrors({"type_id": ["Choose an appointment type."]})
    zone = practice_zone()
    after = after or datetime.now(timezone.utc)
    first = after.astimezone(zone).date()
    last = first + timedelta(days=days - 1)
    providers = _providers(provider_id)
    week = Week(providers, first, last, zone)
    length = timedelta(minutes=kind.minutes)
    found: list[Slot] = []
    day = first
    busy: dict[int, list[tuple]] = {}
    loaded_until = first
    while day <= last and len(found) < limit:
        if day >= loaded_until:  # one query per week of bookings
            loaded_until = min(day + timedelta(days=7), last + timedelta(days=1))
            busy = _busy(providers, datetime.combine(day, datetime.min.time(), zone),
                         datetime.combine(loaded_until, datetime.min.time(), zone))
        todays: list[Slot] = []
        for pid in providers:
            booked = busy.get(pid, [])
            starts = [b[0] for b in booked]
            for opening in week.openings(pid, day):
                if not opening.takes(type_id):
                    continue
                at = opening.start
                while at + length <= opening.end:
                    if at >= after and _free(at, at + length, booked, starts):
                        todays.append(Slot(at, pid, kind.minutes))
                    at += length
        found += sorted(todays)
        day += timedelta(days=1)
    return found[:limit]


def naive_open_slots(type_id: int, *, provider_id: int | None = None,
                     after: datetime | None = None, days: int = 90, limit: int = 20) -> list[Slot]:
    """The plain way, kept for the benchmark and as the test's oracle: expand
    every template into every slot of the whole range, then subtract all
    bookings."""
    kind = db.session.get(AppointmentType, type_id)
    zone = practice_zone()
    after = after or datetime.now(timezone.utc)
    first = after.astimezone(zone).date()
    last = first + timedelta(days=days - 1)
    providers = _providers(provider_id)
    week = Week(providers, first, last, zone)
    length = timedelta(minutes=kind.minutes)
    every: list[Slot] = []
    for pid in providers:
        day = first
        while day <= last:
            for opening in week.openings(pid, day):
                if opening.takes(type_id):
                    at = opening.start
                    while at + length <= opening.end:
                        every.append(Slot(at, pid, kind.minutes))
                        at += length
            day += timedelta(days=1)
    taken: set[tuple[int, int]] = set()
    for pid, intervals in _busy(providers, datetime.combine(first, datetime.min.time(), zone),
                                datetime.combine(last + timedelta(days=1), datetime.min.time(),
                                                 zone)).items():
        for b_start, b_end in intervals:
            taken.update((pid, c) for c in cells(b_start, int((b_end - b_start).seconds // 60)))
    open_slots = [s for s in every if s.start >= after and not any(
        (s.provider_id, c) in taken for c in cells(s.start, s.minutes))]
    return sorted(open_slots)[:limit]


def day_span(day: date) -> tuple[datetime, datetime]:
    zone = practice_zone()
    return (datetime.combine(day, datetime.min.time(), zone),
            datetime.combine(day + timedelta(days=1), datetime.min.time(), zone))
