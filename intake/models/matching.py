"""Duplicate charts: blocking keys, the fitted match model, the practice-wide
worklist and its scans, and chart merges (with what undo needs)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from intake.extensions import db
from intake.models.base import IdReprMixin, UTCDateTime, utcnow


class PatientMatchKey(IdReprMixin, db.Model):
    """One blocking key of one chart (intake.matching.keys), rewritten on
    every chart write."""

    __tablename__ = "patient_match_keys"
    __table_args__ = (Index("ix_patient_match_keys_key_patient", "key", "patient_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64))


class MatchModel(IdReprMixin, db.Model):
    """m and u per field level and the prior, fitted by EM on the practice's
    charts; the newest row is in force."""

    __tablename__ = "match_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    fitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DuplicateScan(IdReprMixin, db.Model):
    """One run of the practice-wide scan (a worker job), with its progress."""

    __tablename__ = "duplicate_scans"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(12), default="queued")  # queued/running/done/failed
    charts_done: Mapped[int] = mapped_column(default=0)
    charts_total: Mapped[int] = mapped_column(default=0)
    pairs_found: Mapped[int] = mapped_column(default=0)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DuplicatePair(IdReprMixin, db.Model):
    """A likely duplicate pair for review. `status`: open, not_same (staff
    said so: never shown again), merged."""

    __tablename__ = "duplicate_pairs"
    __table_args__ = (UniqueConstraint("low_id", "high_id", name="uq_duplicate_pairs_pair"),
                      Index("ix_duplicate_pairs_status_score", "status", "score"))

    id: Mapped[int] = mapped_column(primary_key=True)
    low_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    high_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    score: Mapped[int]
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(12), default="open")
    found_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ChartMerge(IdReprMixin, db.Model):
    """One chart merged into another. `before` holds both charts' fields as
    they were and `moved` every row moved (table, id, column), so undo
    restores both charts exactly."""

    __tablename__ = "chart_merges"

    id: Mapped[int] = mapped_column(primary_key=True)
    survivor_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    retired_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    before: Mapped[dict[str, Any]] = mapped_column(JSON)
    moved: Mapped[list[list[Any]]] = mapped_column(JSON, default=list)
    merged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    merged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    undone_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
