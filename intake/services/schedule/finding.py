"""Finding time: the next open slots for a type, with one provider or any.

Slots sit on each hours block's own grid (block start + k x the type's
length), as the desk reads them ("10:40"). The search walks day by day,
counts each day's taken 5-minute cells per provider (the double-booking
guard's own rows) to skip providers whose day is full, reads the bookings
of the others only, and stops as soon as it has enough, instead of
expanding every template into every slot first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import and_, func, or_

from intake.extensions import db
from intake.models import Appointment, AppointmentCell, AppointmentType, Provider, ScheduleTemplate
from intake.services import FieldErrors
from intake.services.clock import practice_zone
from intake.services.schedule.booking import ACTIVE, cells
from intake.services.schedule.hours import Opening, Week


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
    """Booked intervals per provider in time order, for bookings starting in
    [start - 12 h, end): every booking that can overlap the range."""
    rows = db.session.execute(
        db.select(Appointment.provider_id, Appointment.start_at, Appointment.minutes)
        .where(Appointment.provider_id.in_(provider_ids), Appointment.status.in_(ACTIVE),
               Appointment.start_at < end, Appointment.start_at >= start - timedelta(hours=12))
        .order_by(Appointment.start_at))
    out: dict[int, list[tuple]] = {}
    for pid, at, minutes in rows:
        out.setdefault(pid, []).append((at, at + timedelta(minutes=minutes)))
    return out


def _with_room(openings: dict[int, list[Opening]]) -> list[int]:
    """The providers with at least one untaken 5-minute cell in their
    openings, from one count of taken cells per provider (cells are unique
    per provider, so the count is exact). Providers sharing the same hours
    share one condition, so the statement stays small."""
    ranges = {pid: tuple((cells(o.start, 0).start, cells(o.end, 0).start) for o in ops)
              for pid, ops in openings.items() if ops}
    if not ranges:
        return []
    alike: dict[tuple, list[int]] = {}
    for pid, spans in ranges.items():
        alike.setdefault(spans, []).append(pid)
    cell, provider = AppointmentCell.cell, AppointmentCell.provider_id
    counts = dict(db.session.execute(
        db.select(provider, func.count())
        # The outer bounds let the primary key's index do the range scan.
        .where(provider.in_(list(ranges)),
               cell >= min(a for spans in alike for a, _ in spans),
               cell < max(b for spans in alike for _, b in spans),
               or_(*(and_(provider.in_(pids), or_(*(and_(cell >= a, cell < b) for a, b in spans)))
                     for spans, pids in alike.items())))
        .group_by(provider)).all())
    return [pid for pid, spans in ranges.items()
            if counts.get(pid, 0) < sum(b - a for a, b in spans)]


def _range(after: datetime | None, days: int) -> tuple[datetime, date, date]:
    after = after or datetime.now(timezone.utc)
    first = after.astimezone(practice_zone()).date()
    return after, first, first + timedelta(days=days - 1)


def _type(type_id: int) -> AppointmentType:
    kind = db.session.get(AppointmentType, type_id)
    if kind is None or not kind.active:
        raise FieldErrors({"type_id": ["Choose an appointment type."]})
    return kind


def next_open_slots(type_id: int, *, provider_id: int | None = None,
                    after: datetime | None = None, days: int = 90, limit: int = 20) -> list[Slot]:
    kind = _type(type_id)
    zone = practice_zone()
    after, first, last = _range(after, days)
    providers = _providers(provider_id)
    week = Week(providers, first, last, zone)
    length = timedelta(minutes=kind.minutes)
    found: list[Slot] = []
    day = first
    while day <= last and len(found) < limit:
        openings = {pid: [o for o in week.openings(pid, day) if o.takes(type_id)]
                    for pid in providers}
        # Providers whose open time that day is all taken are skipped after
        # a count; bookings are read only for the others.
        free = _with_room(openings)
        busy = _busy(free, datetime.combine(day, time.min, zone),
                     datetime.combine(day + timedelta(days=1), time.min, zone)) if free else {}
        todays: list[Slot] = []
        for pid in free:
            booked, i = busy.get(pid, ()), 0
            for opening in openings[pid]:
                at = opening.start
                while at + length <= opening.end:
                    # Walk the day's bookings once: skip those ended by `at`.
                    while i < len(booked) and booked[i][1] <= at:
                        i += 1
                    clash, j = False, i
                    while j < len(booked) and booked[j][0] < at + length:
                        if booked[j][1] > at:
                            clash = True
                            break
                        j += 1
                    if at >= after and not clash:
                        todays.append(Slot(at, pid, kind.minutes))
                    at += length
        found += sorted(todays)
        day += timedelta(days=1)
    return found[:limit]


def naive_open_slots(type_id: int, *, provider_id: int | None = None,
                     after: datetime | None = None, days: int = 90, limit: int = 20) -> list[Slot]:
    """The plain way, kept for the benchmark and as the tests' oracle: expand
    every template into every slot of the whole range, then subtract all
    bookings."""
    kind = _type(type_id)
    zone = practice_zone()
    after, first, last = _range(after, days)
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
    for pid, intervals in _busy(providers, datetime.combine(first, time.min, zone),
                                datetime.combine(last + timedelta(days=1), time.min,
                                                 zone)).items():
        for b_start, b_end in intervals:
            taken.update((pid, c) for c in cells(b_start, (b_end - b_start).seconds // 60))
    open_slots = [s for s in every if s.start >= after and not any(
        (s.provider_id, c) in taken for c in cells(s.start, s.minutes))]
    return sorted(open_slots)[:limit]


def day_span(day: date) -> tuple[datetime, datetime]:
    zone = practice_zone()
    return (datetime.combine(day, time.min, zone),
            datetime.combine(day + timedelta(days=1), time.min, zone))
