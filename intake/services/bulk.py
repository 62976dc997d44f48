"""FHIR Bulk Data $export jobs: start, run (in the worker), report, cancel,
expire. Rows are read in batches and written as NDJSON with orjson, so
memory stays flat however many patients there are."""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from intake import private
from intake.extensions import db
from intake.models import ApiToken, BulkExport
from intake.services import audit
from intake.services.fhir_api import SearchError, base_query, is_id, organization_rows

BATCH = 1000
PATIENT_TYPES = ["Patient", "Coverage", "RelatedPerson", "Encounter", "Condition", "Claim",
                 "Consent", "Appointment"]
SYSTEM_TYPES = PATIENT_TYPES + ["Organization", "Practitioner", "Schedule", "Slot"]
OUTPUT_FORMATS = {"application/fhir+ndjson", "application/ndjson", "ndjson"}


def _since(resource_type: str, stmt: Any, since: datetime) -> Any:
    """Only what changed since `since`, for every type: a diagnosis changes
    with its visit, a billed claim when it is billed (or voided), a consent
    when it is signed (it never changes after)."""
    from intake.models import (Appointment, BilledClaim, Coverage, Patient, Provider, SignedConsent,
                               Visit, VisitDiagnosis)

    column = {"Patient": Patient.updated_at, "Coverage": Coverage.updated_at,
              "RelatedPerson": Coverage.updated_at, "Encounter": Visit.updated_at,
              "Claim": BilledClaim.updated_at, "Practitioner": Provider.updated_at,
              "Consent": SignedConsent.signed_at, "Schedule": Provider.updated_at,
              "Slot": Appointment.updated_at,
              "Appointment": Appointment.updated_at}.get(resource_type)
    if column is not None:
        return stmt.where(column >= since)
    if resource_type == "Condition":
        return stmt.where(VisitDiagnosis.visit_id.in_(
            db.select(Visit.id).where(Visit.updated_at >= since)))
    raise ValueError(f"no _since rule for {resource_type}")


def export_dir(job_id: str) -> Path:
    return Path(current_app.instance_path) / "exports" / job_id


class TooManyExports(Exception):
    """This token already has its limit of exports queued or running: 429."""


def _patient_ids(references: list[str]) -> list[int]:
    ids = []
    for ref in references:
        raw = ref.removeprefix("Patient/")
        if not is_id(raw):
            raise SearchError(f"patient '{ref}' is not a reference like Patient/12.")
        ids.append(int(raw))
    return ids


def start(level: str, types: list[str] | None, since: datetime | None, output_format: str | None,
          token: ApiToken | None, request_url: str, *, patients: list[str] | None = None,
          not_applied: list[str] | None = None, in_flight_limit: int | None = None) -> BulkExport:
    """Record a job; the caller queues it for the worker once this commits
    (`tasks.run_bulk_export`).
    ``patients``: Patient/$export's ``patient`` references (only their data);
    ``not_applied``: parameters accepted leniently, reported in the error file."""
    if in_flight_limit is not None and token is not None:
        busy = db.session.scalar(db.select(db.func.count()).select_from(BulkExport).where(
            BulkExport.token_id == token.id, BulkExport.status.in_(("queued", "running"))))
        if busy >= in_flight_limit:
            raise TooManyExports(f"{busy} exports of this token are still in flight (limit "
                                 f"{in_flight_limit}); wait for one to finish or cancel one.")
    patient_ids = _patient_ids(patients) if patients else None
    allowed = PATIENT_TYPES if level == "patient" else SYSTEM_TYPES
    wanted = types or allowed
    unknown = [t for t in wanted if t not in allowed]
    if unknown:
        raise SearchError(f"_type {', '.join(unknown)} is not exported at the {level} level; "
                          f"available: {', '.join(allowed)}.")
    if output_format and output_format not in OUTPUT_FORMATS:
        raise SearchError(f"_outputFormat {output_format} is not supported; use application/fhir+ndjson.")
    job = BulkExport(id=str(uuid.uuid4()), level=level, types=list(dict.fromkeys(wanted)),
                     since=since, token_id=token.id if token else None, patients=patient_ids,
                     not_applied=not_applied or None,
                     request_url=request_url[:500], status="queued")
    db.session.add(job)
    db.session.flush()
    audit.record("fhir.export_start", object_type="bulk_export", detail=f"types={','.join(job.types)}")
    return job


def get(job_id: str, token: ApiToken | None) -> BulkExport | None:
    """A job, only for the token that started it."""
    job = db.session.get(BulkExport, job_id)
    if job is None or (token is not None and job.token_id != token.id):
        return None
    return job


def cancel(job: BulkExport) -> None:
    job.status = "cancelled"
    shutil.rmtree(export_dir(job.id), ignore_errors=True)
    audit.record("fhir.export_cancel", object_type="bulk_export")


def file_path(job: BulkExport, filename: str) -> Path | None:
    """One of the job's files for download, audited (it carries PHI); None
    for a name the job did not write (no path is taken from the client)."""
    entry = next((o for o in job.output if o["file"] == filename), None)
    if entry is None:
        return None
    audit.record("fhir.export_download", object_type="bulk_export",
                 detail=f"job={job.id} type={entry['type']} resources={entry['count']}")
    return export_dir(job.id) / entry["file"]


def is_expired(job: BulkExport) -> bool:
    return job.expires_at is not None and job.expires_at < datetime.now(timezone.utc)


def _for_patients(resource_type: str, stmt: Any, patients: list[int]) -> Any:
    """Only the data of these patients (Patient/$export?patient=...)."""
    from intake.models import (Appointment, BilledClaim, Coverage, Patient, SignedConsent, Visit,
                               VisitDiagnosis)

    column = {"Patient": Patient.id, "Coverage": Coverage.patient_id,
              "RelatedPerson": Coverage.patient_id, "Encounter": Visit.patient_id,
              "Claim": BilledClaim.patient_id, "Consent": SignedConsent.patient_id,
              "Appointment": Appointment.patient_id}.get(resource_type)
    if column is not None:
        return stmt.where(column.in_(patients))
    if resource_type == "Condition":
        return stmt.where(VisitDiagnosis.visit_id.in_(
            db.select(Visit.id).where(Visit.patient_id.in_(patients))))
    raise ValueError(f"{resource_type} is not exported per patient")


def _query(resource_type: str, since: datetime | None, patients: list[int] | None) -> tuple[Any, Any]:
    stmt, id_column = base_query(resource_type)
    if since is not None:
        stmt = _since(resource_type, stmt, since)
    if patients is not None:
        stmt = _for_patients(resource_type, stmt, patients)
    return stmt, id_column


def _organizations(reader: Session, since: datetime | None) -> list[Any]:
    """The practice and payers, only those changed since `since` when given."""
    rows = organization_rows(reader)
    if since is None:
        return rows
    return [r for r in rows if r.updated_at is None or r.updated_at >= since]


def _rows(reader: Session, resource_type: str, since: datetime | None,
          patients: list[int] | None = None) -> Iterator[Any]:
    """Stream a type's rows in id order, one batch at a time (keyset paging:
    no OFFSET scans, and no ORM identity map growing with the export)."""
    if resource_type == "Organization":
        yield from _organizations(reader, since)
        return
    stmt, id_column = _query(resource_type, since, patients)
    last = 0
    while True:
        batch = list(reader.execute(
            stmt.where(id_column > last).order_by(id_column).limit(BATCH)).scalars())
        if not batch:
            return
        yield from batch
        last = batch[-1].id
        reader.expunge_all()


def _count(reader: Session, resource_type: str, since: datetime | None,
           patients: list[int] | None = None) -> int:
    if resource_type == "Organization":
        return len(_organizations(reader, since))
    stmt, _ = _query(resource_type, since, patients)
    return reader.scalar(db.select(db.func.count()).select_from(stmt.subquery())) or 0


def write_files(folder: Path, types: list[str], since: datetime | None,
                on_progress: Callable[[int, int], bool], patients: list[int] | None = None,
                not_applied: list[str] | None = None) -> list[dict[str, Any]]:
    """Write one NDJSON file per type into `folder`; `on_progress(done, total)`
    is called every batch and stops the export when it returns True.
    Returns [{type, file, count}] for the files that have resources.

    The rows are read on a connection of their own without a transaction
    (AUTOCOMMIT): on SQLite a transaction holds the write lock, and the
    front desk must not wait for an export."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection, \
            Session(bind=connection) as reader:
        return _write_files(reader, folder, types, since, on_progress, patients, not_applied)


def _write_files(reader: Session, folder: Path, types: list[str], since: datetime | None,
                 on_progress: Callable[[int, int], bool], patients: list[int] | None,
                 not_applied: list[str] | None) -> list[dict[str, Any]]:
    from intake.fhir import FhirSettings, write_ndjson
    from intake.fhir.api import resource_for

    settings = FhirSettings.from_config(current_app.config)
    total = sum(_count(reader, t, since, patients) for t in types) or 1
    done = 0
    output = []
    private.make_dir(folder)
    for resource_type in types:
        path = folder / f"{resource_type}.ndjson"
        cancelled = False

        def resources(resource_type: str) -> Iterator[dict[str, Any]]:
            nonlocal done, cancelled
            for row in _rows(reader, resource_type, since, patients):
                resource = resource_for(resource_type, row, settings)
                if resource is not None:
                    yield resource
                done += 1
                if done % BATCH == 0 and on_progress(done, total):
                    cancelled = True
                    return

        with path.open("wb") as fh:
            written = write_ndjson(resources(resource_type), fh)
        if cancelled:
            return output
        if written:
            output.append({"type": resource_type, "file": path.name, "count": written})
        else:
            path.unlink()
    if not_applied:
        output.append(_not_applied_file(folder, not_applied))
    on_progress(total, total)
    return output


def _not_applied_file(folder: Path, names: list[str]) -> dict[str, Any]:
    """The manifest's error file: one OperationOutcome per parameter accepted
    leniently but not applied."""
    from intake.fhir import write_ndjson
    from intake.fhir.api import operation_outcome

    path = folder / "not-applied.ndjson"
    with path.open("wb") as fh:
        count = write_ndjson((operation_outcome(
            "not-supported", f"Kick-off parameter {name} was not applied (Prefer: handling=lenient).",
            severity="warning") for name in names), fh)
    return {"type": "OperationOutcome", "file": path.name, "count": count, "error": True}


def _job_for_update(job_id: str) -> BulkExport | None:
    """The job's row as it is now (a client may have cancelled it)."""
    return db.session.get(BulkExport, job_id, populate_existing=True, with_for_update=True)


def run_export(job_id: str) -> None:
    """The worker's part: write the files, report progress, stop early when
    the client cancels."""
    job = _job_for_update(job_id)
    if job is None or job.status != "queued":
        return
    job.status = "running"
    job.transaction_time = datetime.now(timezone.utc)
    since, types = job.since, list(job.types)
    patients, not_applied = job.patients, job.not_applied
    db.session.commit()
    try:
        output = write_files(export_dir(job_id), types, since, _throttled(job_id),
                             patients=patients, not_applied=not_applied)
        job = _job_for_update(job_id)
        if job.status == "cancelled":
            return
        job.status = "complete"
        job.progress = 100
        job.output = output
        job.completed_at = datetime.now(timezone.utc)
        job.expires_at = job.completed_at + timedelta(
            hours=current_app.config["INTAKE_EXPORT_TTL_HOURS"])
        audit.record("fhir.export_complete", object_type="bulk_export",
                     detail=f"files={len(output)} resources={sum(o['count'] for o in output)}")
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        job = _job_for_update(job_id)
        job.status = "failed"
        job.error = type(exc).__name__  # no message: it could carry data
        db.session.commit()
        raise


PROGRESS_EVERY_SECONDS = 1.0


def _throttled(job_id: str) -> Callable[[int, int], bool]:
    """Progress (and the check for a cancel) at most once a second: each is a
    commit, and a commit per batch cost more than the export itself."""
    last = [time.monotonic()]

    def progress(done: int, total: int) -> bool:
        now = time.monotonic()
        if now - last[0] < PROGRESS_EVERY_SECONDS:
            return False
        last[0] = now
        return _progress(job_id, done * 100 // total)
    return progress


def _progress(job_id: str, percent: int) -> bool:
    """Store progress; True when the job was cancelled meanwhile."""
    job = _job_for_update(job_id)
    if job.status == "cancelled":
        shutil.rmtree(export_dir(job_id), ignore_errors=True)
        return True
    job.progress = min(percent, 99)
    db.session.commit()
    return False


def purge_expired() -> int:
    """Delete the files of expired jobs (their rows stay, as history)."""
    now = datetime.now(timezone.utc)
    jobs = db.session.execute(db.select(BulkExport).where(
        BulkExport.expires_at < now, BulkExport.status == "complete")).scalars().all()
    for job in jobs:
        shutil.rmtree(export_dir(job.id), ignore_errors=True)
        job.status = "expired"
    return len(jobs)
