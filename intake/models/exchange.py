"""What leaves the building: API tokens, bulk exports, billing exports."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Date, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from intake.extensions import db
from intake.models.base import IdReprMixin, UTCDateTime, utcnow

if TYPE_CHECKING:
    from intake.models.user import User
    from intake.models.visit import Visit


class ApiToken(IdReprMixin, db.Model):
    """A back-office system's bearer token: shown once, stored as a SHA-256
    hash (the token is 256 random bits, so no slow hash is needed)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    # SMART-style, space-separated: "system/*.read" or "system/Patient.read
    # system/Coverage.read", and "bulk" when it may start bulk exports.
    scope: Mapped[str] = mapped_column(String(400), default="system/*.read bulk")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def resource_types(self) -> frozenset[str] | None:
        """The resource types it may read; None: all of them."""
        found = {part.removeprefix("system/").removesuffix(".read")
                 for part in self.scope.split() if part.startswith("system/")}
        return None if "*" in found else frozenset(found)

    @property
    def bulk(self) -> bool:
        return "bulk" in self.scope.split()

    def allows(self, resource_type: str) -> bool:
        types = self.resource_types
        return types is None or resource_type in types


class BulkExport(db.Model):
    """A FHIR Bulk Data $export job, run by the task worker."""

    __tablename__ = "bulk_exports"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # uuid4: the status URL
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))
    level: Mapped[str] = mapped_column(String(10))  # system | patient
    types: Mapped[list[str]] = mapped_column(JSON)
    since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(12), default="queued")
    progress: Mapped[int] = mapped_column(default=0)  # percent
    request_url: Mapped[str] = mapped_column(String(500))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    transaction_time: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(String(500))
    output: Mapped[list[dict]] = mapped_column(JSON, default=list)  # [{type, file, count}]
    patients: Mapped[list[int] | None] = mapped_column(JSON)  # Patient/$export?patient=
    # Kick-off parameters not applied (Prefer: handling=lenient): the manifest's error file.
    not_applied: Mapped[list[str] | None] = mapped_column(JSON)

    def __repr__(self) -> str:
        return f"<BulkExport id={self.id}>"


class SavedSearch(db.Model):
    """The terms of a FHIR search that came in a POST body, kept for a while
    so its paging links can name them by an opaque id instead of repeating
    names and birth dates in a URL. Only the token that searched can use it."""

    __tablename__ = "fhir_saved_searches"

    id: Mapped[str] = mapped_column(String(43), primary_key=True)  # secrets.token_urlsafe(32)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id"))
    resource_type: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict[str, list[str]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)

    def __repr__(self) -> str:
        return f"<SavedSearch token_id={self.token_id}>"  # the id is a capability: not in logs


class BillingExport(IdReprMixin, db.Model):
    """A billing clerk's download of visits: who, when, which, and the file's checksum."""

    __tablename__ = "billing_exports"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    date_from: Mapped[date] = mapped_column(Date)
    date_to: Mapped[date] = mapped_column(Date)
    file_format: Mapped[str] = mapped_column(String(12))  # ndjson-zip | bundle
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int]
    visit_count: Mapped[int]
    # The file as it was sent, so it can be downloaded again byte for byte.
    content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)

    user: Mapped[User] = relationship()
    visits: Mapped[list[ExportedVisit]] = relationship(back_populates="export",
                                                       order_by="ExportedVisit.visit_id")


class ExportedVisit(db.Model):
    """A visit sent in a billing export; one row per export, so re-exports show."""

    __tablename__ = "exported_visits"

    export_id: Mapped[int] = mapped_column(ForeignKey("billing_exports.id"), primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), primary_key=True, index=True)

    export: Mapped[BillingExport] = relationship(back_populates="visits")
    visit: Mapped[Visit] = relationship()
