"""The schedule: appointment types, providers' weekly templates and their
exceptions, appointments (with their history and series) and the waitlist.

Start times are stored in UTC; templates and exceptions are the practice's
wall-clock times, turned into instants per day with zoneinfo (DST-correct).
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import (CheckConstraint, Column, Date, ForeignKey, Index, Integer, String, Table,
                        Text, Time)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from intake.extensions import db
from intake.models.base import IdReprMixin, TimestampMixin, UTCDateTime, utcnow

if TYPE_CHECKING:
    from intake.models.patient import Patient
    from intake.models.practice import Provider
    from intake.models.user import User
    from intake.models.visit import Visit

CELL_MINUTES = 5  # the grid every booking sits on; one row per provider and cell


class AppointmentType(IdReprMixin, db.Model):
    __tablename__ = "appointment_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    minutes: Mapped[int] = mapped_column(default=20)
    colour: Mapped[str] = mapped_column(String(7), default="#0d6efd")
    new_patients: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (CheckConstraint("minutes > 0 AND minutes % 5 = 0", name="minutes_on_grid"),)


block_types = Table(
    "schedule_block_types", db.metadata,
    Column("block_id", Integer, ForeignKey("schedule_blocks.id", ondelete="CASCADE"),
           primary_key=True),
    Column("type_id", Integer, ForeignKey("appointment_types.id"), primary_key=True),
)


class ScheduleTemplate(IdReprMixin, TimestampMixin, db.Model):
    """A provider's week, in force from `effective_from` until the next one."""

    __tablename__ = "schedule_templates"
    __table_args__ = (db.UniqueConstraint("provider_id", "effective_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    effective_from: Mapped[date] = mapped_column(Date)

    provider: Mapped[Provider] = relationship()
    blocks: Mapped[list[ScheduleBlock]] = relationship(
        back_populates="template", cascade="all, delete-orphan",
        order_by="(ScheduleBlock.weekday, ScheduleBlock.starts)")


class BlockKind(StrEnum):
    HOURS = "hours"
    BREAK = "break"


class ScheduleBlock(IdReprMixin, db.Model):
    """Hours (taking the listed types, or any type when none is listed) or a
    break, on one weekday (0 = Monday), in wall-clock time."""

    __tablename__ = "schedule_blocks"
    __table_args__ = (CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
                      CheckConstraint("ends > starts", name="ends_after_starts"))

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(
        ForeignKey("schedule_templates.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int]
    starts: Mapped[time] = mapped_column(Time)
    ends: Mapped[time] = mapped_column(Time)
    kind: Mapped[str] = mapped_column(String(8), default=BlockKind.HOURS)

    template: Mapped[ScheduleTemplate] = relationship(back_populates="blocks")
    types: Mapped[list[AppointmentType]] = relationship(secondary=block_types)


class ExceptionKind(StrEnum):
    DAY_OFF = "day_off"
    HALF_DAY = "half_day"
    HOLIDAY = "holiday"  # the whole practice is closed


class ScheduleException(IdReprMixin, db.Model):
    """Time off a template: a provider's day off or half day (closed from
    `starts` to `ends`), or a practice holiday (provider_id empty)."""

    __tablename__ = "schedule_exceptions"
    __table_args__ = (Index("ix_schedule_exceptions_day", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"))
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(10))
    starts: Mapped[time | None] = mapped_column(Time)  # empty: the whole day
    ends: Mapped[time | None] = mapped_column(Time)
    note: Mapped[str | None] = mapped_column(String(120))


class AppointmentStatus(StrEnum):
    BOOKED = "booked"
    ARRIVED = "arrived"  # it is a visit now: the visit's state tells the rest
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


class AppointmentSeries(IdReprMixin, TimestampMixin, db.Model):
    """A recurring series: the RFC 5545 rule (dateutil rrule) and the first
    start; each occurrence is its own Appointment row."""

    __tablename__ = "appointment_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(String(200))
    first_start: Mapped[datetime] = mapped_column(UTCDateTime())
    # A "this and following" edit ends this series and starts a new one.
    split_from_id: Mapped[int | None] = mapped_column(ForeignKey("appointment_series.id"))


class Appointment(IdReprMixin, TimestampMixin, db.Model):
    __tablename__ = "appointments"
    __table_args__ = (
        Index("ix_appointments_start", "start_at"),
        Index("ix_appointments_provider_start", "provider_id", "start_at"),
        CheckConstraint("minutes > 0 AND minutes % 5 = 0", name="minutes_on_grid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    type_id: Mapped[int] = mapped_column(ForeignKey("appointment_types.id"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    minutes: Mapped[int]
    reason: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(10), default=AppointmentStatus.BOOKED)
    overbooked_reason: Mapped[str | None] = mapped_column(String(200))
    cancel_reason: Mapped[str | None] = mapped_column(String(200))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"), unique=True)
    series_id: Mapped[int | None] = mapped_column(ForeignKey("appointment_series.id"), index=True)
    series_index: Mapped[int | None]  # 1-based occurrence number in its series
    reminder_outcome: Mapped[str | None] = mapped_column(String(12))
    reminder_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminder_emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(default=1)

    patient: Mapped[Patient] = relationship()
    provider: Mapped[Provider] = relationship()
    type: Mapped[AppointmentType] = relationship()
    visit: Mapped[Visit | None] = relationship()
    series: Mapped[AppointmentSeries | None] = relationship()
    changes: Mapped[list[AppointmentChange]] = relationship(
        back_populates="appointment", order_by="AppointmentChange.id",
        cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}


class AppointmentCell(db.Model):
    """One row per provider and 5-minute cell an active booking holds. The
    primary key is the double-booking guard: of two desks booking the same
    time at once, the database accepts exactly one."""

    __tablename__ = "appointment_cells"

    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), primary_key=True)
    cell: Mapped[int] = mapped_column(primary_key=True)  # UTC epoch minutes // 5
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True)

    def __repr__(self) -> str:
        return f"<AppointmentCell provider={self.provider_id} cell={self.cell}>"


class AppointmentChange(IdReprMixin, db.Model):
    """Who did what to an appointment, and when (booked, moved, cancelled...)."""

    __tablename__ = "appointment_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(Text)

    appointment: Mapped[Appointment] = relationship(back_populates="changes")
    user: Mapped[User | None] = relationship()


class WaitlistEntry(IdReprMixin, TimestampMixin, db.Model):
    """A patient waiting for an earlier time: type, preferred provider (or
    any), preferred weekdays and part of day. Offered when a slot opens."""

    __tablename__ = "waitlist"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    type_id: Mapped[int] = mapped_column(ForeignKey("appointment_types.id"))
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"))
    weekdays: Mapped[str] = mapped_column(String(7), default="01234")  # digits, 0 = Monday
    part_of_day: Mapped[str] = mapped_column(String(3), default="any")  # am | pm | any
    note: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    patient: Mapped[Patient] = relationship()
    type: Mapped[AppointmentType] = relationship()
    provider: Mapped[Provider | None] = relationship()
