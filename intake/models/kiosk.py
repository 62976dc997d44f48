"""The patient kiosk: enrolled devices, server-side drafts, submissions
waiting for review, and the signed consents kept once a submission is
accepted into a chart."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from intake.extensions import db
from intake.models.base import IdReprMixin, UTCDateTime, utcnow


class KioskDevice(IdReprMixin, db.Model):
    """A tablet in the waiting room. Enrolled with a one-time code (stored
    hashed, short-lived); the device then holds a signed cookie naming it and
    a random token whose hash is kept here. Revoking ends it at the next request."""

    __tablename__ = "kiosk_devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    enroll_code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    enroll_code_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    @property
    def status(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.token_hash:
            return "enrolled"
        return "waiting for enrollment"


class KioskDraft(IdReprMixin, db.Model):
    """What a patient has typed so far. The kiosk session holds a random key;
    only its hash is stored. Expires on its own (idle and absolute limits)."""

    __tablename__ = "kiosk_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("kiosk_devices.id"), index=True)
    language: Mapped[str] = mapped_column(String(5), default="en")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class KioskSubmission(IdReprMixin, db.Model):
    """A finished intake waiting for the front desk. `data` holds what the
    patient entered until it is reviewed; reviewing empties it (the chart
    then holds what was accepted)."""

    __tablename__ = "kiosk_submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("kiosk_devices.id"), index=True)
    language: Mapped[str] = mapped_column(String(5))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    reject_reason: Mapped[str | None] = mapped_column(String(500))


class SignedConsent(IdReprMixin, db.Model):
    """A consent as signed: the exact text shown (and its version and
    language), who signed, how, when, and the drawn signature if any."""

    __tablename__ = "signed_consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("kiosk_submissions.id"),
                                                      index=True)
    kind: Mapped[str] = mapped_column(String(30))  # treatment | privacy | financial | communication
    text_version: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(5))
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    text_sha256: Mapped[str] = mapped_column(String(64))
    signer_name: Mapped[str] = mapped_column(String(200))
    signer_relationship: Mapped[str] = mapped_column(String(20))
    signature_method: Mapped[str] = mapped_column(String(10))  # drawn | typed
    signature_png: Mapped[bytes | None] = mapped_column(LargeBinary)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    choices: Mapped[dict[str, Any] | None] = mapped_column(JSON)
