from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from typing import TYPE_CHECKING

from sqlalchemy.orm import Mapped, mapped_column, relationship

from intake.extensions import db
from intake.models.base import IdReprMixin, UTCDateTime, utcnow

if TYPE_CHECKING:
    from intake.models.patient import Patient

GENESIS_HASH = "0" * 64


class AuditEvent(IdReprMixin, db.Model):
    """Who did what to which chart, when, from where. `detail` never holds PHI:
    field names and counts, not values.

    Append-only and hash-chained: `seq` is the row's place in the chain (1, 2,
    ...), `prev_hash` the `row_hash` of row seq-1, and `row_hash` the SHA-256
    of this row's fields with `prev_hash` (services.audit.row_hash). Rows are
    written only at commit, under a lock (services.audit); database triggers
    refuse UPDATE and DELETE (migration 0005_audit_chain)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(60), index=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[int | None]
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(String(500))
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))

    patient: Mapped[Patient | None] = relationship(lazy="joined", viewonly=True)
