"""Recurring series: a dateutil rrule plus one Appointment row per
occurrence, so one occurrence moves or cancels alone, and "this and
following" splits the series in two."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from dateutil.rrule import WEEKLY, rrule, rrulestr

from intake.extensions import db
from intake.models import Appointment, AppointmentSeries
from intake.models.schedule import AppointmentStatus as A
from intake.services import FieldErrors
from intake.services.clock import practice_zone
from intake.services.schedule import booking


def _occurrences(first_local: datetime, rule: str) -> list[datetime]:
    # The rule runs on wall-clock time in the practice's zone: 9:00 stays 9:00
    # across a daylight-saving change.
    return list(rrulestr(rule, dtstart=first_local))


def book_series(data: Mapping[str, Any], *, every_weeks: int, times: int) -> list[Appointment]:
    """Book `times` occurrences every `every_weeks` weeks from data["start"].
    Any occurrence in conflict refuses the whole series, naming the dates."""
    if not 1 <= every_weeks <= 52 or not 2 <= times <= 52:
        raise FieldErrors({"repeat": ["Repeat every 1 to 52 weeks, 2 to 52 times."]})
    start = data["start"].astimezone(practice_zone())
    rule = str(rrule(WEEKLY, interval=every_weeks, count=times)).split("\n")[-1]
    rule = rule.removeprefix("RRULE:")
    series = AppointmentSeries(rule=rule, first_start=start)
    db.session.add(series)
    db.session.flush()
    return _book_each(series, data, _occurrences(start, rule), first_index=1)


def _book_each(series: AppointmentSeries, data: Mapping[str, Any], starts: list[datetime],
               first_index: int) -> list[Appointment]:
    booked, refused = [], []
    for n, at in enumerate(starts, first_index):
        try:
            booked.append(booking.book({**data, "start": at}, series_id=series.id, series_index=n))
        except FieldErrors as exc:
            refused.append(f"{at:%a %b %-d, %Y %H:%M}: {exc.errors.get('start', ['taken'])[0]}")
    if refused:
        raise FieldErrors({"start": ["Some dates of the series cannot be booked:"] + refused})
    return booked


def occurrences(series_id: int) -> list[Appointment]:
    return list(db.session.execute(
        db.select(Appointment).where(Appointment.series_id == series_id)
        .order_by(Appointment.series_index)).scalars())


def _split(appt: Appointment) -> tuple[AppointmentSeries, list[Appointment]]:
    """End the old series before `appt`; a new series holds it and the rest."""
    if appt.series_id is None:
        raise FieldErrors({"series": ["This appointment is not part of a series."]})
    old = db.session.get(AppointmentSeries, appt.series_id)
    following = [a for a in occurrences(old.id) if a.series_index >= appt.series_index]
    parts = dict(p.split("=") for p in old.rule.split(";"))
    remaining = int(parts.get("COUNT", len(following) + appt.series_index - 1)) - appt.series_index + 1
    parts["COUNT"] = str(appt.series_index - 1)
    old.rule = ";".join(f"{k}={v}" for k, v in parts.items())
    parts["COUNT"] = str(remaining)
    new = AppointmentSeries(rule=";".join(f"{k}={v}" for k, v in parts.items()),
                            first_start=appt.start_at, split_from_id=old.id)
    db.session.add(new)
    db.session.flush()
    for n, a in enumerate(following, 1):
        a.series_id, a.series_index = new.id, n
    return new, following


def move_following(appt: Appointment, new_start: datetime) -> list[Appointment]:
    """Move this occurrence and every later booked one by the same wall-clock
    shift (days and time of day); they become a series of their own."""
    zone = practice_zone()
    shift = new_start.astimezone(zone).replace(tzinfo=None) - \
        appt.start_at.astimezone(zone).replace(tzinfo=None)
    _, following = _split(appt)
    moved = []
    for a in following:
        if a.status != A.BOOKED:
            continue
        local = a.start_at.astimezone(zone).replace(tzinfo=None) + shift
        moved.append(booking.reschedule(a, start=local.replace(tzinfo=zone)))
    return moved


def cancel_following(appt: Appointment, reason: str) -> list[Appointment]:
    _, following = _split(appt)
    return [booking.cancel(a, reason) for a in following if a.status == A.BOOKED]


def every_weeks_label(rule: str) -> str:
    parts = dict(p.split("=") for p in rule.split(";"))
    weeks = int(parts.get("INTERVAL", 1))
    return f"every {weeks} week{'s' if weeks > 1 else ''}, {parts.get('COUNT', '?')} times"

