from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from intake.extensions import db
from intake.models.base import IdReprMixin, TimestampMixin, UTCDateTime, utcnow

if TYPE_CHECKING:
    from intake.models.patient import Patient


class PayerKind(StrEnum):
    MEDICARE = "medicare"
    MEDICAID = "medicaid"
    COMMERCIAL = "commercial"
    SELF_PAY = "self_pay"


class Payer(IdReprMixin, db.Model):
    __tablename__ = "payers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    payer_code: Mapped[str] = mapped_column(String(20), unique=True)  # electronic payer id
    kind: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Coverage(IdReprMixin, TimestampMixin, db.Model):
    """One insurance policy of a patient. `rank` 1/2/3 is primary/secondary/
    tertiary while the coverage is active; an ended coverage has no rank."""

    __tablename__ = "coverages"
    __table_args__ = (
        UniqueConstraint("patient_id", "rank"),
        CheckConstraint("rank IS NULL OR rank BETWEEN 1 AND 3", name="rank_range"),
        CheckConstraint("copay_cents IS NULL OR copay_cents >= 0", name="copay_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    payer_id: Mapped[int] = mapped_column(ForeignKey("payers.id"))
    rank: Mapped[int | None]
    # The rank it held when it ended: its order on the days it was in force.
    last_rank: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(12), default="active")  # active | ended | in_error
    member_id: Mapped[str | None] = mapped_column(String(40))  # none for self-pay
    group_number: Mapped[str | None] = mapped_column(String(40))
    plan_name: Mapped[str | None] = mapped_column(String(120))
    effective_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    copay_cents: Mapped[int | None]
    # FHIR subscriber-relationship code; subscriber fields only when not "self".
    relationship_code: Mapped[str] = mapped_column(String(12), default="self")
    subscriber_family: Mapped[str | None] = mapped_column(String(100))
    subscriber_given: Mapped[str | None] = mapped_column(String(100))
    subscriber_birth_date: Mapped[date | None] = mapped_column(Date)
    # Medicare only, when it pays second: why (837P SBR05; vocab.MEDICARE_SECONDARY_TYPES).
    medicare_secondary_type: Mapped[str | None] = mapped_column(String(2))

    patient: Mapped[Patient] = relationship(back_populates="coverages")
    payer: Mapped[Payer] = relationship()
    cards: Mapped[list[CardImage]] = relationship(
        back_populates="coverage", order_by="CardImage.id"
    )

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    def card(self, side: str) -> CardImage | None:
        """The latest card image of that side."""
        found = [c for c in self.cards if c.side == side]
        return found[-1] if found else None


class CardImage(IdReprMixin, db.Model):
    """An insurance card photo. The file lives under the instance folder with a
    generated name, re-encoded without metadata; only staff routes serve it."""

    __tablename__ = "card_images"

    id: Mapped[int] = mapped_column(primary_key=True)
    coverage_id: Mapped[int] = mapped_column(ForeignKey("coverages.id"), index=True)
    side: Mapped[str] = mapped_column(String(5))  # front | back
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(40))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    coverage: Mapped[Coverage] = relationship(back_populates="cards")
