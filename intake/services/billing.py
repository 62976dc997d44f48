"""The billing workspace: what is ready to bill and why not, and the files
that go to the billing back office (with a record of each)."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import current_app
from sqlalchemy.orm import selectinload, undefer

from intake.extensions import db
from intake.fhir import FhirSettings, collection_bundle, dumps, transaction_bundle, visit_resources
from intake.fhir.ndjson import dumps_pretty
from intake.models import BilledClaim, BillingExport, Coverage, ExportedVisit, Patient, Visit
from intake.services import FieldErrors, NotFound, audit, charges, claims, practice
from intake.services.scrubber import Finding, scrub_visit, signed_consents


@dataclass
class BillingRow:
    visit: Visit
    findings: list[Finding]
    last_exported_at: datetime | None
    claim: BilledClaim | None = None
    last_export_id: int | None = None

    @property
    def ready(self) -> bool:
        return not self.findings

    @property
    def primary_payer(self) -> str | None:
        """The payer the claim goes to: the frozen one, else the one in force."""
        if self.claim is not None:
            return self.claim.payers[0]["payer_name"] if self.claim.payers else None
        payers, _ = claims.claim_payers(self.visit.patient.coverages, self.visit.date_of_service)
        return payers[0]["payer_name"] if payers else None

    @property
    def in_progress(self) -> bool:
        """Not seen yet or still in the office: nothing to bill, nothing to fix yet."""
        return self.visit.state != "checked_out" and not self.visit.locked


def _visits_query(date_from: date, date_to: date, payer_id: int | None) -> Any:
    stmt = (db.select(Visit)
            .where(Visit.date_of_service >= date_from, Visit.date_of_service <= date_to,
                   Visit.state.not_in(["cancelled", "no_show"]))
            .options(selectinload(Visit.lines), selectinload(Visit.provider),
                     selectinload(Visit.diagnoses),
                     selectinload(Visit.patient).selectinload(Patient.coverages)
                     .selectinload(Coverage.payer))
            .order_by(Visit.date_of_service, Visit.id))
    if payer_id:
        # The payer on the claim: the primary in force on the date of service.
        stmt = stmt.where(Visit.patient_id.in_(
            db.select(Coverage.patient_id).where(Coverage.payer_id == payer_id,
                                                 Coverage.status != claims.VOID_STATUS)))
    return stmt


def _primary_payer_id(row: BillingRow) -> int | None:
    if row.claim is not None:
        return row.claim.payers[0]["payer_id"] if row.claim.payers else None
    payers, _ = claims.claim_payers(row.visit.patient.coverages, row.visit.date_of_service)
    return payers[0]["payer_id"] if payers else None


def worklist(date_from: date, date_to: date, payer_id: int | None = None) -> list[BillingRow]:
    """Visits of the period with the scrubber's findings, their billed claim
    and the last export each went in. Billed visits without findings are
    ready to bill."""
    visits = list(db.session.execute(_visits_query(date_from, date_to, payer_id)).scalars())
    office, engine = practice.get_practice(), charges.engine()
    ids = [v.id for v in visits]
    exported: dict[int, tuple[datetime, int]] = {}
    if ids:
        for visit_id, created_at, export_id in db.session.execute(
                db.select(ExportedVisit.visit_id, BillingExport.created_at, BillingExport.id)
                .join(BillingExport, BillingExport.id == ExportedVisit.export_id)
                .where(ExportedVisit.visit_id.in_(ids)).order_by(BillingExport.id)):
            exported[visit_id] = (created_at, export_id)
    billed = claims.latest_for(ids)
    rows = []
    for v in visits:
        claim = billed.get(v.id) if v.locked else None
        last = exported.get(v.id)
        rows.append(BillingRow(v, scrub_visit(v, practice=office, engine=engine, claim=claim),
                               last[0] if last else None, claim, last[1] if last else None))
    if payer_id:
        rows = [r for r in rows if _primary_payer_id(r) == payer_id]
    audit.record("billing.worklist", object_type="visit", detail=f"visits={len(rows)}")
    return rows


def _claim_for(visit: Visit) -> BilledClaim | None:
    return claims.latest(visit.id) if visit.locked else None


def _resources(visit: Visit, claim: BilledClaim | None, office: Any, settings: FhirSettings) -> list:
    return visit_resources(visit, practice=office, coverages=claims.coverages_to_send(visit, claim),
                           claim=claim,
                           consents=signed_consents(visit.patient_id), settings=settings)


def visit_bundle(visit: Visit) -> tuple[dict, list[Finding]]:
    """One visit's transaction Bundle (the preview: nothing is recorded as
    exported), or the findings that stop it."""
    office = practice.get_practice()
    claim = _claim_for(visit)
    findings = scrub_visit(visit, practice=office, engine=charges.engine(), claim=claim)
    if findings:
        return {}, findings
    settings = FhirSettings.from_config(current_app.config)
    entries = _resources(visit, claim, office, settings)
    audit.record("billing.preview", patient_id=visit.patient_id, object_type="visit",
                 object_id=visit.id)
    return transaction_bundle(entries, bundle_id=f"visit-{visit.id}"), []


def _record(user_id: int, date_from: date, date_to: date, file_format: str, data: bytes,
            visits: Iterable[Visit]) -> BillingExport:
    visits = list(visits)
    record = BillingExport(user_id=user_id, date_from=date_from, date_to=date_to,
                           file_format=file_format, sha256=hashlib.sha256(data).hexdigest(),
                           size_bytes=len(data), visit_count=len(visits), content=data)
    db.session.add(record)
    db.session.flush()
    for v in visits:
        db.session.add(ExportedVisit(export_id=record.id, visit_id=v.id))
        audit.record("billing.export_visit", patient_id=v.patient_id, object_type="visit",
                     object_id=v.id, detail=f"export={record.id}")
    db.session.flush()
    return record


def export_visit(visit: Visit, user_id: int) -> tuple[bytes, BillingExport]:
    """Send one visit: its bundle as a recorded export."""
    bundle, findings = visit_bundle(visit)
    if findings:
        raise FieldErrors({"visit": [f.words for f in findings]})
    data = dumps_pretty(bundle)
    return data, _record(user_id, visit.date_of_service, visit.date_of_service, "bundle", data,
                         [visit])


def export_range(date_from: date, date_to: date, file_format: str, user_id: int,
                 payer_id: int | None = None, include_exported: bool = False
                 ) -> tuple[bytes, BillingExport, list[BillingRow]]:
    """Every ready visit of the period as one zip of NDJSON files (one per
    resource type) or one collection Bundle. Visits with findings are left
    out and returned so the page can list them."""
    if date_to < date_from:
        raise FieldErrors({"date_to": ["The end is before the start."]})
    rows = worklist(date_from, date_to, payer_id)
    ready = [r for r in rows if r.ready and (include_exported or r.last_exported_at is None)]
    held = [r for r in rows if not r.ready]
    if not ready:
        raise FieldErrors({"date_from": ["No visit in this period is ready to export."]})
    office = practice.get_practice()
    settings = FhirSettings.from_config(current_app.config)
    per_visit = [_resources(r.visit, r.claim, office, settings) for r in ready]
    if file_format == "bundle":
        data = dumps_pretty(collection_bundle(per_visit))
    else:
        data = _zip_ndjson(per_visit)
    return data, _record(user_id, date_from, date_to, file_format, data,
                         [r.visit for r in ready]), held


def _zip_ndjson(per_visit: list[list]) -> bytes:
    """One NDJSON file per resource type, each resource once (a payer or the
    practice appears in many visits), with references as Type/id."""
    by_type: dict[str, dict[str, bytes]] = {}
    for entries in per_visit:
        for resource, _ in entries:
            by_type.setdefault(resource["resourceType"], {})[resource["id"]] = dumps(resource)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for resource_type, lines in sorted(by_type.items()):
            # A fixed timestamp: the same visits give the same bytes.
            info = zipfile.ZipInfo(f"{resource_type}.ndjson", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, b"\n".join(lines.values()) + b"\n")
    return buffer.getvalue()


def history(limit: int = 100) -> list[BillingExport]:
    """The latest exports, each with its visits (and their patients) loaded."""
    return list(db.session.execute(
        db.select(BillingExport).options(
            selectinload(BillingExport.user),
            selectinload(BillingExport.visits).selectinload(ExportedVisit.visit)
            .selectinload(Visit.patient))
        .order_by(BillingExport.id.desc()).limit(limit)).scalars())


def export_file(export_id: int) -> BillingExport:
    """An earlier export's file, as sent (for downloading it again), audited
    per visit: it carries their charts."""
    record = db.session.get(BillingExport, export_id, options=[undefer(BillingExport.content)])
    if record is None or record.content is None:
        raise NotFound("export")
    for link in record.visits:
        audit.record("billing.export_redownload", patient_id=link.visit.patient_id,
                     object_type="visit", object_id=link.visit_id, detail=f"export={record.id}")
    return record
