from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from intake.extensions import db
from intake.models.base import IdReprMixin, UTCDateTime, utcnow

if TYPE_CHECKING:
    from intake.models.patient import Patient
    from intake.models.user import User
    from intake.models.visit import Visit


class PaymentKind(StrEnum):
    COPAY = "copay"
    COINSURANCE = "coinsurance"
    DEDUCTIBLE = "deductible"
    SELF_PAY = "self_pay"
    PREPAYMENT = "prepayment"


class PaymentMethod(StrEnum):
    CASH = "cash"
    CARD = "card"
    CHECK = "check"
    OTHER = "other"


class Payment(IdReprMixin, db.Model):
    """Money taken at the desk. Never deleted: a mistake is voided, with a reason."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint("method <> 'check' OR check_number IS NOT NULL", name="check_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    method: Mapped[str] = mapped_column(String(8))
    check_number: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(String(120))
    amount_cents: Mapped[int]
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    received_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    void_reason: Mapped[str | None] = mapped_column(String(200))

    patient: Mapped[Patient] = relationship()
    visit: Mapped[Visit | None] = relationship()
    received_by: Mapped[User] = relationship(foreign_keys=[received_by_id])
    voided_by: Mapped[User | None] = relationship(foreign_keys=[voided_by_id])

    @property
    def receipt_number(self) -> str:
        """Sequential and unique by construction: the row id."""
        return f"R{self.id:08d}"

    @property
    def voided(self) -> bool:
        return self.voided_at is not None
