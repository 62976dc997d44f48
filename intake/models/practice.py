from __future__ import annotations

from sqlalchemy import CheckConstraint, String
from sqlalchemy import false as sa_false
from sqlalchemy import true as sa_true
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
    # 837P (X12) submission: the practice as billing provider and as submitter,
    # and the clearinghouse that receives the files.
    taxonomy: Mapped[str | None] = mapped_column(String(10))
    submitter_name: Mapped[str | None] = mapped_column(String(60))  # defaults to the practice name
    submitter_etin: Mapped[str | None] = mapped_column(String(80))
    billing_contact_name: Mapped[str | None] = mapped_column(String(60))
    billing_contact_phone: Mapped[str | None] = mapped_column(String(20))
    billing_contact_email: Mapped[str | None] = mapped_column(String(80))
    receiver_name: Mapped[str | None] = mapped_column(String(60))
    receiver_etin: Mapped[str | None] = mapped_column(String(80))
    x12_sender_qualifier: Mapped[str] = mapped_column(String(2), default="ZZ", server_default="ZZ")
    x12_sender_id: Mapped[str | None] = mapped_column(String(15))
    x12_receiver_qualifier: Mapped[str] = mapped_column(String(2), default="ZZ", server_default="ZZ")
    x12_receiver_id: Mapped[str | None] = mapped_column(String(15))
    x12_test_mode: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    accepts_assignment: Mapped[bool] = mapped_column(default=True, server_default=sa_true())


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
