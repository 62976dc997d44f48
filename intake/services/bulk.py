"""FHIR Bulk Data $export jobs: start, run (in the worker), report, cancel,
expire. Rows are read in batches and written as NDJSON with orjson, so
memory stays flat however many patients there are."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from flask import current_app

from intake import database
from intake.extensions import db
from intake.models import ApiToken, BulkExport
from intake.services import audit
from intake.services.fhir_api import SearchError, base_query, organization_rows

BATCH = 1000
PATIENT_TYPES = ["Patient", "Coverage", "RelatedPerson", "Encounter", "Condition", "Claim",
                 "Consent"]
SYSTEM_TYPES = PATIENT_TYPES + ["Organization", "Practitioner"]
OUTPUT_FORMATS = {"application/fhir+ndjson", "application/ndjson", "ndjson"}


def _since(resource_type: str, stmt: Any, since: datetime) -> Any:
    """Only what changed since `since`, for every type: a diagnosis changes
    with its visit, a billed claim when it is billed (or voided), a consent
    when it is signed (it never changes after)."""
    from intake.models import BilledClaim, Coverage, Patient, Provider, SignedConsent, Visit, VisitDiagnosis

    column = {"Patient": Patient.updated_at, "Coverage": Coverage.updated_at,
              "RelatedPerson": Coverage.updated_at, "Encounter": Visit.updated_at,
              "Claim": BilledClaim.updated_at, "Practitioner": Provider.updated_at,
              "Consent": SignedConsent.signed_at}.get(resource_type)
    if column is not None:
        return stmt.where(column >= since)
    if resource_type == "Condition":
        return stmt.where(VisitDiagnosis.visit_id.in_(
            db.select(Visit.id).where(Visit.updated_at >= since)))
    raise ValueError(f"no _since rule for {resource_type}")


def export_dir(job_id: str) -> Path:
    return Path(current_app.instance_path) / "exports" / job_id


def start(level: str, types: list[str] | None, since: datetime | None, output_format: str | None,
          token: ApiToken | None, request_url: str) -> BulkExport:
    """Record a job and queue it for the worker once this transaction commits."""
    allowed = PATIENT_TYPES if level == "patient" else SYSTEM_TYPES
    wanted = types or allowed
    unknown = [t for t in wanted if t not in allowed]
    if unknown:
        raise SearchError(f"_type {', '.join(unknown)} is not exported at the {level} level; "
                          f"available: {', '.join(allowed)}.")
    if output_format and output_format not in OUTPUT_FORMATS:
        raise SearchError(f"_outputFormat {output_format} is not supported; use application/fhir+ndjson.")
    job = BulkExport(id=str(uuid.uuid4()), level=level, types=list(dict.fromkeys(wanted)),
                     since=since, token_id=token.id if token else None,
                     request_url=request_url[:500], status="queued")
    db.session.add(job)
    db.session.flush()
    audit.record("fhir.export_start", object_type="bulk_export", detail=f"types={','.join(job.types)}")

    def enqueue() -> None:
        from intake.tasks import run_bulk_export

        run_bulk_export(job.id)

    database.on_commit(enqueue)
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


def _organizations(since: datetime | None) -> list[Any]:
    """The practice and payers, only those changed since `since` when given."""
    rows = organization_rows()
    if since is None:
        return rows
    return [r for r in rows if r.updated_at is None or r.updated_at >= since]


def _rows(resource_type: str, since: datetime | None) -> Iterator[Any]:
    """Stream a type's rows in id order, one batch at a time (keyset paging:
    no OFFSET scans, and no ORM identity map growing with the export)."""
    if resource_type == "Organization":
        yield from _organizations(since)
        return
    stmt, id_column = base_query(resource_type)
    if since is not None:
        stmt = _since(resource_type, stmt, since)
    last = 0
    while True:
        batch = list(db.session.execute(
            stmt.where(id_column > last).order_by(id_column).limit(BATCH)).scalars())
        if not batch:
            return
        yield from batch
        last = batch[-1].id
        db.session.expunge_all()


def _count(resource_type: str, since: datetime | None) -> int:
    if resource_type == "Organization":
        return len(_organizations(since))
    stmt, _ = base_query(resource_type)
    if since is not None:
        stmt = _since(resource_type, stmt, since)
    return db.session.scalar(db.select(db.func.count()).select_from(stmt.subquery())) or 0


def write_files(folder: Path, types: list[str], since: datetime | None,
                on_progress: Callable[[int, int], bool]) -> list[dict[str, Any]]:
    """Write one NDJSON file per type into `folder`; `on_progress(done, total)`
    is called every batch and stops the export when it returns True.
    Returns [{type, file, count}] for the files that have resources."""
    from intake.fhir import FhirSettings, write_ndjson
    from intake.fhir.api import resource_for

    settings = FhirSettings.from_config(current_app.config)
    total = sum(_count(t, since) for t in types) or 1
    done = 0
    output = []
    folder.mkdir(parents=True, exist_ok=True)
    for resource_type in types:
        path = folder / f"{resource_type}.ndjson"
        cancelled = False

        def resources() -> Iterator[dict[str, Any]]:
            nonlocal done, cancelled
            for row in _rows(resource_type, since):
                resource = resource_for(resource_type, row, settings)
                if resource is not None:
                    yield resource
                done += 1
                if done % BATCH == 0 and on_progress(done, total):
                    cancelled = True
                    return

        with path.open("wb") as fh:
            written = write_ndjson(resources(), fh)
        if cancelled:
            return output
        if written:
            output.append({"type": resource_type, "file": path.name, "count": written})
        else:
            path.unlink()
    on_progress(total, total)
    return output


def _job_for_update(job_id: str) -> BulkExport | None:
    """The job's row as it is now, read under the write lock: the export
    reads its rows without the lock, so the front desk's writes never wait
    for an export, and only these updates of the job take it."""
    database.lock_for_write(db.session)
    return db.session.get(BulkExport, job_id, populate_existing=True)


def run_export(job_id: str) -> None:
    """The worker's part: write the files, report progress, stop early when
    the client cancels."""
    database.start_reads_first()
    job = _job_for_update(job_id)
    if job is None or job.status != "queued":
        return
    job.status = "running"
    job.transaction_time = datetime.now(timezone.utc)
    since, types = job.since, list(job.types)
    db.session.commit()
    try:
        output = write_files(export_dir(job_id), types, since,
                             lambda done, total: _progress(job_id, done * 100 // total))
        job = _job_for_update(job_id)
        if job.status == "cancelled":
            return
        job.status = "complete"
        job.progress = 100
        job.output = output
        job.completed_at = datetime.now(timezone.utc)
        job.expires_at = job.completed_at + timedelta(
            hours=current_app.config.get("INTAKE_EXPORT_TTL_HOURS", 24))
        audit.record("fhir.export_complete", object_type="bulk_export",
                     detail=f"files={len(output)} resources={sum(o['count'] for o in output)}",
                     actor="worker")
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        job = _job_for_update(job_id)
        job.status = "failed"
        job.error = type(exc).__name__  # no message: it could carry data
        db.session.commit()
        raise


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
