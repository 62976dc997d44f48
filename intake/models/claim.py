"""A claim as billed: the record that leaves the building.

Frozen when a visit's charges are locked and the visit is checked out: the
payers in force on the date of service (in their order on that day), the
diagnoses, the lines and the amounts. Later chart edits never rewrite it; a
correction is a new row (``version`` + 1, ``replaces_id`` the row it
replaces) and both stay readable. The FHIR Claim and the X12 837P are both
written from this row alone.

Shape of the frozen JSON columns (plain dicts, ISO dates as strings):

- ``payers``: ``[{"order": 1, "coverage_id", "payer_id", "payer_name",
  "payer_code", "payer_kind", "member_id", "group_number", "plan_name",
  "relationship_code", "subscriber_family", "subscriber_given",
  "subscriber_birth_date", "effective_date", "end_date"}]``, primary first;
  self-pay "coverages" are never listed (a visit with only those is ``self_pay``).
- ``rendering_provider``: ``{"provider_id", "npi", "family_name", "given_name",
  "credentials", "taxonomy"}`` as on the billing day.
- ``diagnoses``: ``[{"sequence": 1, "code": "E11.9", "display"}]``
- ``lines``: ``[{"line_no": 1, "code", "system": "cpt"|"hcpcs", "display",
  "modifiers": ["25"], "units", "unit_price_cents", "pointers": [1, 2]}]``
  where pointers are diagnosis sequences.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from intake.extensions import db
from intake.vocab import patient_control_number  # noqa: F401  (re-exported)
from intake.models.base import IdReprMixin, TimestampMixin, UTCDateTime, utcnow

if TYPE_CHECKING:
    from intake.models.visit import Visit


class BilledClaim(IdReprMixin, TimestampMixin, db.Model):
    __tablename__ = "billed_claims"
    __table_args__ = (UniqueConstraint("visit_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    version: Mapped[int] = mapped_column(default=1)  # 1 = original, 2.. = corrections
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("billed_claims.id"))
    # CLM01 of the 837P and the FHIR Claim/Encounter business identifier:
    # one per visit, the same for every version of its claim.
    patient_control_number: Mapped[str] = mapped_column(String(20), index=True)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | entered-in-error
    billed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    billed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    date_of_service: Mapped[date] = mapped_column(Date)
    place_of_service: Mapped[str] = mapped_column(String(2))
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    total_cents: Mapped[int]
    self_pay: Mapped[bool] = mapped_column(default=False)
    payers: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    rendering_provider: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    diagnoses: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    visit: Mapped[Visit] = relationship()
    replaces: Mapped[BilledClaim | None] = relationship(remote_side=[id])

    @property
    def fhir_id(self) -> str:
        return fhir_claim_id(self.visit_id, self.version)

    @property
    def primary(self) -> dict[str, Any] | None:
        return self.payers[0] if self.payers else None


def fhir_claim_id(visit_id: int, version: int) -> str:
    """Claim/<visit id> for the original, Claim/<visit id>-<version> for corrections."""
    return str(visit_id) if version == 1 else f"{visit_id}-{version}"
