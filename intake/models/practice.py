from __future__ import annotations

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from intake.extensions import db
from intake.models.base import IdReprMixin, TimestampMixin


class Practice(IdReprMixin, TimestampMixin, db.Model):
    """The office itself: one row (id 1)."""

    __tablename__ = "practice"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    address_line1: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(2))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    phone: Mapped[str | None] = mapped_column(String(20))
    npi: Mapped[str | None] = mapped_column(String(10))
    tax_id: Mapped[str | None] = mapped_column(String(10))
    default_pos: Mapped[str] = mapped_column(String(2), default="11")


class Provider(IdReprMixin, TimestampMixin, db.Model):
    __tablename__ = "providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    family_name: Mapped[str] = mapped_column(String(100))
    given_name: Mapped[str] = mapped_column(String(100))
    credentials: Mapped[str | None] = mapped_column(String(20))
    npi: Mapped[str] = mapped_column(String(10), unique=True)
    taxonomy: Mapped[str | None] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(default=True)

    @property
    def display_name(self) -> str:
        suffix = f", {self.credentials}" if self.credentials else ""
        return f"{self.given_name} {self.family_name}{suffix}"


class Fee(IdReprMixin, db.Model):
    """The office's price for a procedure code (fee schedule)."""

    __tablename__ = "fees"
    __table_args__ = (CheckConstraint("price_cents >= 0", name="price_nonnegative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(5), unique=True)
    label: Mapped[str | None] = mapped_column(String(120))  # the office's own words
    price_cents: Mapped[int]
