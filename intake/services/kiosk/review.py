"""The front desk's review of kiosk submissions: accept into a new chart,
merge into an existing one field by field, or reject. Acceptance reuses the
registration and coverage services, so the same rules and audit rows apply
as at the front desk."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import current_app

from intake.extensions import db
from intake.models import KioskSubmission, Patient, SignedConsent
from intake.models.base import utcnow
from intake.services import FieldErrors, NotFound, audit, clock, coverages, duplicates, patients
from intake.services.kiosk import pictures
from intake.services.kiosk.submission import FIELD_LABELS, KIOSK_PATIENT_FIELDS

def pending_submissions() -> list[KioskSubmission]:
    subs = list(db.session.execute(
        db.select(KioskSubmission).filter_by(status="pending")
        .order_by(KioskSubmission.submitted_at, KioskSubmission.id)).scalars())
    audit.record("kiosk.queue_view", object_type="kiosk_submission", detail=f"count={len(subs)}")
    return subs


def get_submission(submission_id: int, *, pending: bool = True) -> KioskSubmission:
    sub = db.session.get(KioskSubmission, submission_id)
    if sub is None or (pending and sub.status != "pending"):
        raise NotFound("kiosk submission")
    audit.record("kiosk.submission_view", object_type="kiosk_submission", object_id=sub.id)
    return sub


def patient_data(sub: KioskSubmission) -> dict[str, Any]:
    """The submission's demographics with dates as dates, ready for the services."""
    out = dict((sub.data or {}).get("patient") or {})
    if out.get("birth_date"):
        out["birth_date"] = date.fromisoformat(out["birth_date"])
    out["races"] = list(out.get("races") or [])
    return out


def coverage_data(sub: KioskSubmission) -> list[dict[str, Any]]:
    out = []
    for cov in (sub.data or {}).get("coverages") or []:
        item = dict(cov)
        if item.get("subscriber_birth_date"):
            item["subscriber_birth_date"] = date.fromisoformat(item["subscriber_birth_date"])
        out.append(item)
    return out


def candidates(sub: KioskSubmission) -> list[duplicates.Candidate]:
    found = duplicates.find(patient_data(sub))
    duplicates.audit_shown(found)
    return found


def submission_picture(sub: KioskSubmission, key: str) -> tuple[bytes, str]:
    """A card photo ('card-<n>-<side>') or signature ('sig-<kind>') of a pending submission."""
    data = sub.data or {}
    if key.startswith("sig-"):
        for consent in data.get("consents") or []:
            if consent["kind"] == key[4:] and consent.get("signature_png"):
                audit.record("kiosk.picture_view", object_type="kiosk_submission",
                             object_id=sub.id, detail=f"picture={key}")
                return base64.b64decode(consent["signature_png"]), "image/png"
    elif key.startswith("card-"):
        try:
            _, index, side = key.split("-")
            name = data["coverages"][int(index)]["cards"][side]
        except (ValueError, KeyError, IndexError):
            raise NotFound("picture") from None
        path = pictures.kiosk_dir() / name
        if path.is_file():
            audit.record("kiosk.picture_view", object_type="kiosk_submission",
                         object_id=sub.id, detail=f"picture={key}")
            return path.read_bytes(), "image/jpeg"
    raise NotFound("picture")


def _finish(sub: KioskSubmission, status: str, patient: Patient | None) -> None:
    sub.status = status
    sub.patient_id = patient.id if patient else None
    sub.reviewed_at = utcnow()
    sub.reviewed_by_id = audit.current_user_id()
    # The chart now holds what was accepted; the kiosk copy goes (its pictures
    # are swept from disk once nothing names them).
    sub.data = {}
    db.session.flush()


def _same_coverage(patient: Patient, cov: Mapping[str, Any]) -> bool:
    member = (cov.get("member_id") or "").replace("-", "").replace(" ", "").upper()
    return any(c.is_active and c.payer_id == cov.get("payer_id")
               and (c.member_id or "").replace("-", "").replace(" ", "").upper() == member
               for c in patient.coverages)


def _attach(sub: KioskSubmission, patient: Patient,
            ranks: Mapping[int, int] | None = None) -> tuple[int, int]:
    """Add the submission's coverages (with card photos) and signed consents to a
    chart. `ranks`: where each new plan goes (by its index in the submission),
    1 = primary; by default after the chart's plans, in the kiosk's order."""
    added = 0
    upload_dir = current_app.config["INTAKE_UPLOAD_DIR"]
    max_bytes = int(current_app.config["INTAKE_CARD_MAX_BYTES"])
    new = [(i, cov) for i, cov in enumerate(coverage_data(sub)) if not _same_coverage(patient, cov)]
    # Highest rank first would shift the others; place them in the order of their ranks.
    new.sort(key=lambda item: (ranks or {}).get(item[0], 99))
    for index, cov in new:
        values = {k: v for k, v in cov.items() if k in coverages.COVERAGE_FIELDS}
        try:
            coverage = coverages.add_coverage(patient, values, rank=(ranks or {}).get(index))
        except FieldErrors as exc:
            raise FieldErrors({"coverage": [
                f"Coverage {added + 1}: " + " ".join(m for ms in exc.errors.values() for m in ms)
            ]}) from exc
        added += 1
        for side, name in (cov.get("cards") or {}).items():
            path = pictures.kiosk_dir() / name
            if path.is_file():
                with path.open("rb") as stream:
                    coverages.save_card(coverage, side, stream, upload_dir=upload_dir,
                                        max_bytes=max_bytes,
                                        uploaded_by_id=audit.current_user_id())
    signer = (sub.data or {}).get("signer") or {}
    consents = 0
    for consent in (sub.data or {}).get("consents") or []:
        png = consent.get("signature_png")
        record = SignedConsent(
            patient_id=patient.id, submission_id=sub.id, kind=consent["kind"],
            text_version=consent["version"], language=consent["language"],
            title=consent["title"], text=consent["text"], text_sha256=consent["text_sha256"],
            signer_name=consent.get("signer_name") or signer.get("name") or "",
            signer_relationship=signer.get("relationship") or "self",
            signature_method=consent["method"],
            signature_png=base64.b64decode(png) if png else None,
            signed_at=datetime.fromisoformat(consent["signed_at"]),
            choices=consent.get("choices"))
        db.session.add(record)
        consents += 1
    db.session.flush()
    for record in db.session.execute(
            db.select(SignedConsent).filter_by(submission_id=sub.id)).scalars():
        audit.record("consent.create", patient_id=patient.id, object_type="signed_consent",
                     object_id=record.id, detail=f"kind={record.kind} version={record.text_version}")
    return added, consents


def accept_new(sub: KioskSubmission, *, confirm_new: bool) -> Patient:
    """A new chart from the submission: patient, coverages, card pictures and
    signed consents in the request's one transaction. Likely duplicates stop
    it (patients.PossibleDuplicates) until the receptionist confirms."""
    patient = patients.register_patient(patient_data(sub), confirm_new=confirm_new)
    added, consents = _attach(sub, patient)
    _finish(sub, "accepted", patient)
    audit.record("kiosk.accept", patient_id=patient.id, object_type="kiosk_submission",
                 object_id=sub.id, detail=f"new chart coverages={added} consents={consents}")
    return patient


@dataclass
class MergeRow:
    field: str
    label: str
    chart: Any
    kiosk: Any
    differs: bool


def merge_rows(sub: KioskSubmission, patient: Patient) -> list[MergeRow]:
    kiosk = patient_data(sub)
    rows = []
    for field in KIOSK_PATIENT_FIELDS:
        theirs, ours = kiosk.get(field), getattr(patient, field)
        if field == "races":
            theirs, ours = sorted(theirs or []), sorted(ours or [])
        differs = (theirs or None) != (ours or None)
        rows.append(MergeRow(field, FIELD_LABELS[field], ours, theirs, differs))
    return rows


def new_coverages(sub: KioskSubmission, patient: Patient) -> list[tuple[int, dict[str, Any]]]:
    """The submission's plans not already on the chart, with their index."""
    return [(i, cov) for i, cov in enumerate(coverage_data(sub))
            if not _same_coverage(patient, cov)]


def merge(sub: KioskSubmission, patient: Patient, take_from_kiosk: Iterable[str], *,
          ranks: Mapping[int, int] | None = None, end: Iterable[int] = ()) -> list[str]:
    """Merge into an existing chart: the fields the receptionist chose take
    the kiosk's value, the rest keep the chart's; the chart plans in `end`
    (ids) end today, replaced; coverages not on file yet go where `ranks`
    puts them (1 = primary) and the signed consents are added, all in one
    transaction. Returns the changed field names."""
    kiosk = patient_data(sub)
    chosen = [f for f in take_from_kiosk if f in KIOSK_PATIENT_FIELDS]
    changed = patients.update_patient(patient, {f: kiosk.get(f) for f in chosen})
    ending = set(end)
    for coverage in [c for c in patient.coverages if c.is_active and c.id in ending]:
        coverages.end_coverage(coverage, clock.today())
    added, consents = _attach(sub, patient, ranks)
    _finish(sub, "merged", patient)
    audit.record("kiosk.merge", patient_id=patient.id, object_type="kiosk_submission",
                 object_id=sub.id, detail=f"fields={','.join(changed) or '-'} "
                                          f"coverages={added} consents={consents}")
    return changed


def reject(sub: KioskSubmission, reason: str) -> None:
    reason = " ".join((reason or "").split())
    if not reason:
        raise FieldErrors({"reason": ["Say why the submission is rejected."]})
    sub.reject_reason = reason[:500]
    _finish(sub, "rejected", None)
    audit.record("kiosk.reject", object_type="kiosk_submission", object_id=sub.id)


def find_chart_by_mrn(mrn: str) -> Patient:
    """For 'merge into chart MRN …' when the matching did not list the chart."""
    mrn = "".join(ch for ch in (mrn or "") if ch.isdigit())
    patient = db.session.execute(db.select(Patient).filter_by(mrn=mrn)).scalar_one_or_none()
    if patient is None:
        raise FieldErrors({"mrn": ["No chart has that MRN."]})
    return patient
