"""837P interchanges as sent: the control number is the row's id."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column, relationship

from intake.extensions import db
from intake.models.base import IdReprMixin, UTCDateTime, utcnow

if TYPE_CHECKING:
    from intake.models.exchange import BillingExport


class X12Interchange(IdReprMixin, db.Model):
    """One 837P file. Its id is the ISA13/GS06 control number: unique, and
    never reused (AUTOINCREMENT on SQLite, a sequence on PostgreSQL), so a
    clearinghouse never sees the same control number twice."""

    __tablename__ = "x12_interchanges"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    billing_export_id: Mapped[int | None] = mapped_column(ForeignKey("billing_exports.id"),
                                                          index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claim_count: Mapped[int] = mapped_column(default=0)
    content: Mapped[bytes] = mapped_column(LargeBinary, default=b"")  # byte for byte as sent

    billing_export: Mapped[BillingExport | None] = relationship()
