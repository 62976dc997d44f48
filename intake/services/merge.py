"""Chart merge, and its undo.

Everything that points at a patient is listed once, in POINTERS: a merge
moves those rows from the retired chart to the survivor and records each
move (table, row id), so undo moves exactly those rows back. A new table
that points at patients (appointments, claims) is one more line here;
tests/test_merge.py fails until every foreign key to patients.id is either
listed here or in STAYS.

Coverages are deduplicated: a retired chart's coverage with the same payer
and member id as one of the survivor's stays on the retired chart (with
its card images) instead of becoming a second copy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, update

from intake.extensions import db
from intake.models import (Appointment, BilledClaim, ChartMerge, Coverage, DuplicatePair, KioskSubmission,
                           Patient, Payment, SignedConsent, Visit, WaitlistEntry)
from intake.models.base import utcnow
from intake.services import FieldErrors, NotFound, audit


@dataclass(frozen=True)
class Pointer:
    model: Any
    column: str = "patient_id"

    @property
    def table(self) -> str:
        return self.model.__tablename__


POINTERS = (Pointer(Visit), Pointer(Coverage), Pointer(Payment), Pointer(SignedConsent),
            Pointer(KioskSubmission), Pointer(Appointment), Pointer(WaitlistEntry),
            Pointer(BilledClaim))
# Rows that keep pointing at the chart they were written for: the audit
# trail, the merge records and the worklist themselves, the keys (rewritten).
STAYS = {("audit_events", "patient_id"), ("chart_merges", "survivor_id"),
         ("chart_merges", "retired_id"), ("duplicate_pairs", "low_id"),
         ("duplicate_pairs", "high_id"), ("patient_match_keys", "patient_id"),
         ("patients", "merged_into_id")}
# The demographic fields staff choose between, field by field.
FIELDS = ("family_name", "given_name", "middle_name", "suffix", "preferred_name", "birth_date",
          "sex", "gender_identity", "address_line1", "address_line2", "city", "state",
          "postal_code", "phone_mobile", "phone_home", "email", "preferred_language",
          "ethnicity", "marital_status", "emergency_name", "emergency_relationship",
          "emergency_phone")
# Filled from the chosen fields, as registration does.
DERIVED = ("family_norm", "given_norm", "address_key")
UNDO_DAYS = 30


def _snapshot(patient: Patient) -> dict[str, Any]:
    values = {f: getattr(patient, f) for f in FIELDS + DERIVED}
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}


def _restore(patient: Patient, snapshot: Mapping[str, Any]) -> None:
    for name, value in snapshot.items():
        if name == "birth_date" and value:
            value = date.fromisoformat(value)
        setattr(patient, name, value)


def _refuse(message: str) -> FieldErrors:
    return FieldErrors({"merge": [message]})


def _load(patient_id: int) -> Patient:
    patient = db.session.get(Patient, patient_id)
    if patient is None:
        raise NotFound("patient")
    return patient


def merge_charts(survivor_id: int, retired_id: int, choices: Mapping[str, str], *,
                 versions: Mapping[int, int] | None = None, user_id: int | None = None) -> ChartMerge:
    """Merge `retired_id` into `survivor_id`. `choices` maps a field of
    FIELDS to "retired" to take the retired chart's value (the survivor's
    stays otherwise). `versions` are the charts' versions the merge page
    showed: a chart changed since (being edited elsewhere) refuses."""
    from intake.normalize import address_key, name_key

    if survivor_id == retired_id:
        raise _refuse("A chart cannot be merged into itself.")
    survivor, retired = _load(survivor_id), _load(retired_id)
    if survivor.merged_into_id or retired.merged_into_id:
        raise _refuse("One of these charts was already merged into another chart. "
                      "Open the surviving chart instead.")
    for chart in (survivor, retired):
        if versions and versions.get(chart.id) not in (None, chart.version):
            raise _refuse(f"MRN {chart.mrn} was changed by someone else while you were choosing. "
                          "Nothing was merged: look at both charts again.")
    open_visits = db.session.scalar(select(db.func.count(Visit.id)).where(
        Visit.patient_id == retired.id, Visit.state.in_(("arrived", "checked_in", "with_provider"))))
    if open_visits:
        raise _refuse("The chart to retire has a visit in progress (being edited at the desk). "
                      "Check it out first, then merge.")

    before = {"survivor": _snapshot(survivor), "retired": _snapshot(retired)}
    for name, side in choices.items():
        if name in FIELDS and side == "retired":
            setattr(survivor, name, getattr(retired, name))
    survivor.family_norm, survivor.given_norm = name_key(survivor.family_name), name_key(survivor.given_name)
    survivor.address_key = address_key(survivor.address_line1, survivor.postal_code)

    kept = {(c.payer_id, c.member_id) for c in db.session.scalars(
        select(Coverage).where(Coverage.patient_id == survivor.id))}
    moved: list[list[Any]] = []
    for pointer in POINTERS:
        column = getattr(pointer.model, pointer.column)
        stmt = select(pointer.model.id).where(column == retired.id)
        if pointer.model is Coverage:
            ids = [c.id for c in db.session.scalars(select(Coverage).where(Coverage.patient_id == retired.id))
                   if (c.payer_id, c.member_id) not in kept or c.member_id is None]
        else:
            ids = list(db.session.scalars(stmt))
        if ids:
            db.session.execute(update(pointer.model).where(pointer.model.id.in_(ids))
                               .values({pointer.column: survivor.id}).execution_options(synchronize_session="fetch"))
            moved += [[pointer.table, pointer.column, i] for i in ids]
    retired.merged_into_id = survivor.id
    record = ChartMerge(survivor_id=survivor.id, retired_id=retired.id, before=before, moved=moved,
                        merged_by_id=user_id)
    db.session.add(record)
    low, high = sorted((survivor.id, retired.id))
    db.session.execute(update(DuplicatePair).where(DuplicatePair.low_id == low, DuplicatePair.high_id == high)
                       .values(status="merged"))
    db.session.flush()
    for chart in (survivor, retired):
        audit.record("patient.merge", patient_id=chart.id, object_type="chart_merge",
                     object_id=record.id, detail=f"survivor={survivor.id} retired={retired.id} moved={len(moved)}")
    return record


def undo_merge(merge_id: int, *, user_id: int | None = None) -> ChartMerge:
    """Both charts as they were before the merge, within UNDO_DAYS."""
    record = db.session.get(ChartMerge, merge_id)
    if record is None:
        raise NotFound("merge")
    if record.undone_at is not None:
        raise _refuse("This merge was already undone.")
    if utcnow() - record.merged_at > timedelta(days=UNDO_DAYS):
        raise _refuse(f"A merge can be undone within {UNDO_DAYS} days only.")
    survivor, retired = _load(record.survivor_id), _load(record.retired_id)
    models = {p.table: p.model for p in POINTERS}
    for table, column, row_id in record.moved:
        model = models[table]
        db.session.execute(update(model).where(model.id == row_id).values({column: retired.id})
                           .execution_options(synchronize_session="fetch"))
    _restore(survivor, record.before["survivor"])
    _restore(retired, record.before["retired"])
    retired.merged_into_id = None
    record.undone_at, record.undone_by_id = utcnow(), user_id
    low, high = sorted((survivor.id, retired.id))
    db.session.execute(update(DuplicatePair).where(DuplicatePair.low_id == low, DuplicatePair.high_id == high)
                       .values(status="open"))
    db.session.flush()
    for chart in (survivor, retired):
        audit.record("patient.merge_undo", patient_id=chart.id, object_type="chart_merge",
                     object_id=record.id)
    return record


def aliases(patient: Patient) -> list[str]:
    """MRNs of the charts merged into this one: search and FHIR still find them."""
    return list(db.session.scalars(select(Patient.mrn).where(Patient.merged_into_id == patient.id)
                                   .order_by(Patient.id)))


def last_merge(patient_id: int) -> ChartMerge | None:
    return db.session.scalars(select(ChartMerge).where(
        (ChartMerge.survivor_id == patient_id) | (ChartMerge.retired_id == patient_id),
        ChartMerge.undone_at.is_(None)).order_by(ChartMerge.id.desc()).limit(1)).first()



def field_rows(survivor: Patient, retired: Patient) -> list[dict[str, Any]]:
    """What the merge page shows: each field, both values, whether they differ."""
    return [{"field": f, "label": f.replace("_", " ").capitalize(),
             "survivor": getattr(survivor, f), "retired": getattr(retired, f),
             "differs": getattr(survivor, f) != getattr(retired, f)} for f in FIELDS]


def get_merge(merge_id: int) -> ChartMerge:
    record = db.session.get(ChartMerge, merge_id)
    if record is None:
        raise NotFound("merge")
    return record
