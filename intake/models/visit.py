from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from intake.extensions import db
from intake.models.base import IdReprMixin, TimestampMixin, UTCDateTime, utcnow

if TYPE_CHECKING:
    from intake.models.patient import Patient
    from intake.models.practice import Provider
    from intake.models.user import User


class VisitState(StrEnum):
    SCHEDULED = "scheduled"
    ARRIVED = "arrived"
    CHECKED_IN = "checked_in"
    WITH_PROVIDER = "with_provider"
    CHECKED_OUT = "checked_out"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


class Visit(IdReprMixin, TimestampMixin, db.Model):
    __tablename__ = "visits"
    __table_args__ = (Index("ix_visits_date_state", "date_of_service", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    date_of_service: Mapped[date] = mapped_column(Date)
    place_of_service: Mapped[str] = mapped_column(String(2))
    reason: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), default=VisitState.SCHEDULED)
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    roomed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    checked_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    demographics_reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    insurance_reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    charges_locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    charges_locked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Bumped on every change of state or charges: two desks acting on the same
    # visit from stale pages are told so instead of overwriting each other.
    version: Mapped[int] = mapped_column(default=1)

    patient: Mapped[Patient] = relationship()
    provider: Mapped[Provider] = relationship()
    events: Mapped[list[VisitEvent]] = relationship(back_populates="visit", order_by="VisitEvent.id")
    diagnoses: Mapped[list[VisitDiagnosis]] = relationship(
        back_populates="visit", order_by="VisitDiagnosis.sequence")
    lines: Mapped[list[ChargeLine]] = relationship(back_populates="visit", order_by="ChargeLine.line_no")

    __mapper_args__ = {"version_id_col": version}

    @property
    def locked(self) -> bool:
        return self.charges_locked_at is not None

    @property
    def total_cents(self) -> int:
        return sum(line.total_cents for line in self.lines)


class VisitEvent(IdReprMixin, db.Model):
    """A move on the board: from, to, who, when."""

    __tablename__ = "visit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(String(200))

    visit: Mapped[Visit] = relationship(back_populates="events")
    user: Mapped[User | None] = relationship()


class VisitDiagnosis(IdReprMixin, db.Model):
    __tablename__ = "visit_diagnoses"
    __table_args__ = (
        UniqueConstraint("visit_id", "sequence"),
        UniqueConstraint("visit_id", "code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    sequence: Mapped[int]  # 1..12, kept by services.charges
    code: Mapped[str] = mapped_column(String(8))
    display: Mapped[str] = mapped_column(String(250))

    visit: Mapped[Visit] = relationship(back_populates="diagnoses")


class ChargeLine(IdReprMixin, db.Model):
    """One procedure line of the superbill. Diagnosis pointers refer to the
    visit's diagnoses by row, so reordering diagnoses keeps them right."""

    __tablename__ = "charge_lines"
    __table_args__ = (
        UniqueConstraint("visit_id", "line_no"),
        CheckConstraint("units BETWEEN 1 AND 999", name="units_range"),
        CheckConstraint("unit_price_cents >= 0", name="price_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    line_no: Mapped[int]
    code: Mapped[str] = mapped_column(String(5))
    system: Mapped[str] = mapped_column(String(8))  # cpt | hcpcs
    verified: Mapped[bool] = mapped_column(default=True)  # False: CPT format only
    display: Mapped[str] = mapped_column(String(250))
    modifier1: Mapped[str | None] = mapped_column(String(2))
    modifier2: Mapped[str | None] = mapped_column(String(2))
    modifier3: Mapped[str | None] = mapped_column(String(2))
    modifier4: Mapped[str | None] = mapped_column(String(2))
    units: Mapped[int] = mapped_column(default=1)
    unit_price_cents: Mapped[int]
    pointer1_id: Mapped[int] = mapped_column(ForeignKey("visit_diagnoses.id"))
    pointer2_id: Mapped[int | None] = mapped_column(ForeignKey("visit_diagnoses.id"))
    pointer3_id: Mapped[int | None] = mapped_column(ForeignKey("visit_diagnoses.id"))
    pointer4_id: Mapped[int | None] = mapped_column(ForeignKey("visit_diagnoses.id"))

    visit: Mapped[Visit] = relationship(back_populates="lines")
    pointer1: Mapped[VisitDiagnosis] = relationship(foreign_keys=[pointer1_id])
    pointer2: Mapped[VisitDiagnosis | None] = relationship(foreign_keys=[pointer2_id])
    pointer3: Mapped[VisitDiagnosis | None] = relationship(foreign_keys=[pointer3_id])
    pointer4: Mapped[VisitDiagnosis | None] = relationship(foreign_keys=[pointer4_id])

    @property
    def modifiers(self) -> list[str]:
        return [m for m in (self.modifier1, self.modifier2, self.modifier3, self.modifier4) if m]

    @property
    def pointers(self) -> list[VisitDiagnosis]:
        return [p for p in (self.pointer1, self.pointer2, self.pointer3, self.pointer4) if p]

    @property
    def total_cents(self) -> int:
        return self.unit_price_cents * self.units
