from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from intake.extensions import db
from intake.models.base import IdReprMixin, TimestampMixin

if TYPE_CHECKING:
    from intake.models.coverage import Coverage


class Patient(IdReprMixin, TimestampMixin, db.Model):
    __tablename__ = "patients"
    __table_args__ = (
        Index("ix_patients_family_norm_given_norm", "family_norm", "given_norm"),
        # Name search: a given-name prefix, filtered by the family name and
        # sorted by name, answered from the index (see patients.search_patients).
        Index("ix_patients_given_norm_family_norm", "given_norm", "family_norm"),
        # One chart per person: the same name, date of birth and mobile phone
        # is the same person (see patients.register_patient). NULL phones are
        # distinct in SQLite and PostgreSQL alike, so charts without a mobile
        # phone are not constrained.
        Index("uq_patients_identity", "family_norm", "given_norm", "birth_date",
              "phone_mobile", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Bumped on every update: a desk saving a form loaded before another
    # desk's save is told so instead of overwriting it.
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    mrn: Mapped[str] = mapped_column(String(16), unique=True)

    family_name: Mapped[str] = mapped_column(String(100))
    given_name: Mapped[str] = mapped_column(String(100))
    middle_name: Mapped[str | None] = mapped_column(String(100))
    suffix: Mapped[str | None] = mapped_column(String(20))
    preferred_name: Mapped[str | None] = mapped_column(String(100))
    # Search keys: casefolded ASCII transliterations (Łukasz -> lukasz).
    family_norm: Mapped[str] = mapped_column(String(100))
    given_norm: Mapped[str] = mapped_column(String(100))

    birth_date: Mapped[date] = mapped_column(Date, index=True)
    sex: Mapped[str] = mapped_column(String(10))  # FHIR administrative gender
    gender_identity: Mapped[str | None] = mapped_column(String(40))

    address_line1: Mapped[str | None] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(2))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    address_key: Mapped[str | None] = mapped_column(String(220), index=True)

    phone_mobile: Mapped[str | None] = mapped_column(String(20), index=True)  # E.164
    phone_home: Mapped[str | None] = mapped_column(String(20), index=True)
    email: Mapped[str | None] = mapped_column(String(254))

    preferred_language: Mapped[str] = mapped_column(String(10), default="en")
    races: Mapped[list[str]] = mapped_column(JSON, default=list)  # OMB codes
    ethnicity: Mapped[str | None] = mapped_column(String(10))
    marital_status: Mapped[str | None] = mapped_column(String(5))

    emergency_name: Mapped[str | None] = mapped_column(String(200))
    emergency_relationship: Mapped[str | None] = mapped_column(String(50))
    emergency_phone: Mapped[str | None] = mapped_column(String(20))

    # Set when this chart was merged into another (services/merge.py): the
    # chart is retired, its MRN found as an alias of the survivor's.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)

    # The charts merged into this one (their MRNs are this chart's aliases).
    merged_charts: Mapped[list[Patient]] = relationship(
        foreign_keys=[merged_into_id], order_by="Patient.id", viewonly=True)

    coverages: Mapped[list[Coverage]] = relationship(
        back_populates="patient", order_by="Coverage.id"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def phones(self) -> list[str]:
        return [p for p in (self.phone_mobile, self.phone_home) if p]
