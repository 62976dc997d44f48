"""The practice's calendar: its time zone, today, and a day's UTC bounds.
The server may run in UTC; the desk's "today" is the practice's."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import current_app


def practice_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["INTAKE_TIMEZONE"])


def today() -> date:
    return datetime.now(practice_zone()).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants at which the practice's day starts and ends."""
    zone = practice_zone()
    start = datetime.combine(day, time.min, zone)
    end = datetime.combine(day + timedelta(days=1), time.min, zone)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)
