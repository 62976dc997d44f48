from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from typing import TYPE_CHECKING

from sqlalchemy.orm import Mapped, mapped_column, relationship

from intake.extensions import db
from intake.models.base import IdReprMixin, UTCDateTime, utcnow

if TYPE_CHECKING:
    from intake.models.patient import Patient


class AuditEvent(IdReprMixin, db.Model):
    """Who did what to which chart, when, from where. `detail` never holds PHI:
    field names and counts, not values."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(60), index=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[int | None]
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(String(500))

    patient: Mapped[Patient | None] = relationship(lazy="joined", viewonly=True)
