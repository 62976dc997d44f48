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
from sqlalchemy.orm import selectinload

from intake.extensions import db
from intake.fhir import FhirSettings, dumps
from intake.fhir.ndjson import dumps_pretty
from intake.fhir import visit_bundle as fhir_visit_bundle
from intake.fhir.api import collection_bundle, relative_resources
from intake.models import BillingExport, Coverage, ExportedVisit, Patient, Visit
from intake.services import FieldErrors, audit, charges, practice
from intake.services.scrubber import Finding, scrub_visit, signed_consents


@dataclass
class BillingRow:
    visit: Visit
    findings: list[Finding]
    last_exported_at: datetime | None

    @property
    def ready(self) -> bool:
        return not self.findings

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
        stmt = stmt.where(Visit.patient_id.in_(
            db.select(Coverage.patient_id).where(Coverage.payer_id == payer_id,
                                                 Coverage.status == "active", Coverage.rank == 1)))
    return stmt


def worklist(date_from: date, date_to: date, payer_id: int | None = None) -> list[BillingRow]:
    """Visits of the period with the scrubber's findings and when each was
    last exported. Locked visits without findings are ready to bill."""
    visits = list(db.session.execute(_visits_query(date_from, date_to, payer_id)).scalars())
    office, engine = practice.get_practice(), charges.engine()
    exported = dict(db.session.execute(
        db.select(ExportedVisit.visit_id, db.func.max(BillingExport.created_at))
        .join(BillingExport, BillingExport.id == ExportedVisit.export_id)
        .where(ExportedVisit.visit_id.in_([v.id for v in visits]))
        .group_by(ExportedVisit.visit_id)).all()) if visits else {}
    rows = [BillingRow(v, scrub_visit(v, practice=office, engine=engine), exported.get(v.id))
            for v in visits]
    audit.record("billing.worklist", object_type="visit", detail=f"visits={len(rows)}")
    return rows


def visit_bundle(visit: Visit) -> tuple[dict, list[Finding]]:
    """One visit's transaction Bundle, or the findings that stop it."""
    office = practice.get_practice()
    findings = scrub_visit(visit, practice=office, engine=charges.engine())
    if findings:
        return {}, findings
    settings = FhirSettings.from_config(current_app.config)
    return fhir_visit_bundle(visit, practice=office, findings=[], consents=signed_consents(visit.patient_id),
                             settings=settings), []


def _record(user_id: int, date_from: date, date_to: date, file_format: str, data: bytes,
            visits: Iterable[Visit]) -> BillingExport:
    visits = list(visits)
    record = BillingExport(user_id=user_id, date_from=date_from, date_to=date_to,
                           file_format=file_format, sha256=hashlib.sha256(data).hexdigest(),
                           size_bytes=len(data), visit_count=len(visits))
    db.session.add(record)
    db.session.flush()
    for v in visits:
        db.session.add(ExportedVisit(export_id=record.id, visit_id=v.id))
        audit.record("billing.export_visit", patient_id=v.patient_id, object_type="visit",
                     object_id=v.id, detail=f"export={record.id}")
    db.session.flush()
    return record


def export_visit(visit: Visit, user_id: int) -> tuple[bytes, BillingExport]:
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
    ready = [r.visit for r in rows if r.ready and (include_exported or r.last_exported_at is None)]
    held = [r for r in rows if not r.ready]
    if not ready:
        raise FieldErrors({"date_from": ["No visit in this period is ready to export."]})
    office = practice.get_practice()
    settings = FhirSettings.from_config(current_app.config)
    bundles = [fhir_visit_bundle(v, practice=office, findings=[], consents=signed_consents(v.patient_id),
                                 settings=settings) for v in ready]
    if file_format == "bundle":
        data = dumps_pretty(collection_bundle(bundles))
    else:
        data = _zip_ndjson(bundles)
    return data, _record(user_id, date_from, date_to, file_format, data, ready), held


def _zip_ndjson(bundles: list[dict]) -> bytes:
    """One NDJSON file per resource type, each resource once (a payer or the
    practice appears in many bundles), with references as Type/id."""
    by_type: dict[str, dict[str, bytes]] = {}
    for bundle in bundles:
        for resource in relative_resources(bundle):
            by_type.setdefault(resource["resourceType"], {})[resource["id"]] = dumps(resource)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for resource_type, lines in sorted(by_type.items()):
            archive.writestr(f"{resource_type}.ndjson", b"\n".join(lines.values()) + b"\n")
    return buffer.getvalue()


def history(limit: int = 100) -> list[BillingExport]:
    return list(db.session.execute(
        db.select(BillingExport).options(selectinload(BillingExport.user))
        .order_by(BillingExport.id.desc()).limit(limit)).scalars())
