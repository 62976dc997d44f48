"""Insurance: adding, editing, ending and ordering a patient's coverages,
and the card images that go with them."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import IO, Any


from intake import images, private
from intake.extensions import db
from intake.models import CardImage, Coverage, Patient, Payer
from intake.models.coverage import PayerKind
from intake.normalize import clean_text, is_valid_mbi, normalize_mbi
from intake.services import FieldErrors, NotFound, audit, clock

MAX_ACTIVE = 3
COVERAGE_FIELDS = (
    "payer_id", "member_id", "group_number", "plan_name", "effective_date", "end_date",
    "copay_cents", "relationship_code", "subscriber_family", "subscriber_given",
    "subscriber_birth_date", "medicare_secondary_type",
)
CARD_FORMATS = {"JPEG", "PNG", "WEBP"}
CARD_MAX_SIDE = 2000


def active_payers() -> list[Payer]:
    return list(db.session.execute(
        db.select(Payer).where(Payer.active).order_by(Payer.name)).scalars())


def _active(patient: Patient) -> list[Coverage]:
    """The patient's active coverages by rank, read afresh under a lock on the
    patient's row: two desks changing the same patient's insurance at once
    then queue (FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE already
    serialises writers) instead of both computing "rank 2" from a stale list
    and the second failing on the (patient_id, rank) unique constraint.
    FOR NO KEY UPDATE (key_share): the request has already inserted audit
    rows pointing at this patient, which hold FOR KEY SHARE on the row; a
    plain FOR UPDATE would conflict with the other desk's and deadlock."""
    db.session.execute(db.select(Patient.id).where(Patient.id == patient.id)
                       .with_for_update(key_share=True))
    db.session.expire(patient, ["coverages"])
    fresh = db.session.execute(
        db.select(Coverage).where(Coverage.patient_id == patient.id)
        .execution_options(populate_existing=True)).scalars()
    return sorted((c for c in fresh if c.is_active), key=lambda c: c.rank or 9)


def _assign_ranks(ordered: list[Coverage]) -> None:
    """Give active coverages ranks 1..n. Ranks are unique per patient, so
    clear them first and flush, then set: no moment with two primaries."""
    for c in ordered:
        c.rank = None
    db.session.flush()
    for i, c in enumerate(ordered, start=1):
        c.rank = i
    db.session.flush()


def _check(data: Mapping[str, Any]) -> dict[str, Any]:
    """Rules that need the payer table; single-field checks are in the form."""
    errors: dict[str, list[str]] = {}
    payer = db.session.get(Payer, data.get("payer_id") or 0)
    if payer is None or not payer.active:
        errors["payer_id"] = ["Choose a payer from the list."]
    values = {k: (clean_text(v) if isinstance(v, str) else v) for k, v in data.items()
              if k in COVERAGE_FIELDS}
    if "medicare_secondary_type" in values:
        values["medicare_secondary_type"] = values["medicare_secondary_type"] or None
    member = values.get("member_id")
    if payer is not None and payer.kind != PayerKind.SELF_PAY and not member:
        errors["member_id"] = ["Enter the member id from the card."]
    if values.get("medicare_secondary_type") and (payer is None or payer.kind != PayerKind.MEDICARE):
        errors["medicare_secondary_type"] = ["Only a Medicare coverage has a reason Medicare pays second."]
    if payer is not None and payer.kind == PayerKind.MEDICARE and member:
        if not is_valid_mbi(member):
            errors["member_id"] = ["A Medicare member id is an 11-character MBI, "
                                   "for example 1EG4-TE5-MK73."]
        else:
            values["member_id"] = normalize_mbi(member)
    start, end = values.get("effective_date"), values.get("end_date")
    if start and end and end < start:
        errors["end_date"] = ["The end date is before the effective date."]
    if values.get("relationship_code", "self") == "self":
        values.update(subscriber_family=None, subscriber_given=None, subscriber_birth_date=None)
    if errors:
        raise FieldErrors(errors)
    return values


def add_coverage(patient: Patient, data: Mapping[str, Any], rank: int | None = None) -> Coverage:
    values = _check(data)
    active = _active(patient)
    if len(active) >= MAX_ACTIVE:
        raise FieldErrors({"rank": ["This patient already has primary, secondary and "
                                    "tertiary coverage; end one first."]})
    coverage = Coverage(patient=patient, status="active", **values)
    db.session.add(coverage)
    position = min(max(rank or len(active) + 1, 1), len(active) + 1)
    active.insert(position - 1, coverage)
    _assign_ranks(active)
    audit.record("coverage.create", patient_id=patient.id, object_type="coverage",
                 object_id=coverage.id, detail=f"rank={coverage.rank}")
    return coverage


def update_coverage(coverage: Coverage, data: Mapping[str, Any]) -> list[str]:
    values = _check(data)
    changed = [k for k, v in values.items() if getattr(coverage, k) != v]
    for k in changed:
        setattr(coverage, k, values[k])
    if changed:
        db.session.flush()
        audit.record("coverage.update", patient_id=coverage.patient_id, object_type="coverage",
                     object_id=coverage.id, detail="fields=" + ",".join(changed))
    return changed


def end_coverage(coverage: Coverage, end_date: date | None = None) -> None:
    if not coverage.is_active:
        raise FieldErrors({"end_date": ["This coverage has already ended."]})
    end_date = end_date or clock.today()
    if coverage.effective_date and end_date < coverage.effective_date:
        raise FieldErrors({"end_date": ["The end date is before the effective date."]})
    patient = coverage.patient
    remaining = [c for c in _active(patient) if c is not coverage]
    coverage.status = "ended"
    coverage.end_date = end_date
    coverage.last_rank = coverage.rank
    coverage.rank = None
    _assign_ranks(remaining)
    audit.record("coverage.end", patient_id=patient.id, object_type="coverage",
                 object_id=coverage.id)


def move_coverage(coverage: Coverage, direction: int) -> None:
    """Move up (-1: towards primary) or down (+1) among the active coverages."""
    if not coverage.is_active:
        raise FieldErrors({"rank": ["Only active coverages have an order."]})
    active = _active(coverage.patient)
    i = active.index(coverage)
    j = i + direction
    if not 0 <= j < len(active):
        return
    active[i], active[j] = active[j], active[i]
    _assign_ranks(active)
    audit.record("coverage.reorder", patient_id=coverage.patient_id, object_type="coverage",
                 object_id=coverage.id, detail=f"rank={coverage.rank}")


def in_force(patient: Patient, on: date) -> list[Coverage]:
    """The patient's active coverages that cover `on` (started, not ended), by rank:
    what the front desk checks at check-in."""
    return sorted((c for c in patient.coverages if c.is_active
                   and (c.effective_date is None or c.effective_date <= on)
                   and (c.end_date is None or c.end_date >= on)),
                  key=lambda c: c.rank or 9)


def get_coverage(patient: Patient, coverage_id: int) -> Coverage:
    """A coverage of this patient only: ids from another chart are not found."""
    for c in patient.coverages:
        if c.id == coverage_id:
            return c
    raise NotFound("coverage")


def _reencode(raw: bytes) -> bytes:
    try:
        return images.reencode_jpeg(raw, formats=CARD_FORMATS, max_side=CARD_MAX_SIDE)
    except images.ImageRefused as exc:
        raise FieldErrors({"image": [str(exc)]}) from None


def save_card(coverage: Coverage, side: str, stream: IO[bytes], *, upload_dir: str,
              max_bytes: int, uploaded_by_id: int | None = None) -> CardImage:
    if side not in ("front", "back"):
        raise FieldErrors({"side": ["Choose front or back."]})
    raw = stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise FieldErrors({"image": [f"The picture is over {max_bytes // (1024 * 1024)} MB."]})
    if not raw:
        raise FieldErrors({"image": ["Choose a picture of the card."]})
    data = _reencode(raw)
    folder = Path(upload_dir) / "cards"
    private.make_dir(folder)
    name = f"{uuid.uuid4().hex}.jpg"
    (folder / name).write_bytes(data)
    card = CardImage(coverage=coverage, side=side, stored_name=name, content_type="image/jpeg",
                     size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest(),
                     uploaded_by_id=uploaded_by_id)
    db.session.add(card)
    db.session.flush()
    audit.record("card.upload", patient_id=coverage.patient_id, object_type="card_image",
                 object_id=card.id, detail=f"side={side}")
    return card


def card_path(patient: Patient, card_id: int, upload_dir: str) -> Path:
    """The file of a card of this patient's; audited as a chart read."""
    for coverage in patient.coverages:
        for card in coverage.cards:
            if card.id == card_id:
                audit.record("card.view", patient_id=patient.id, object_type="card_image",
                             object_id=card.id)
                # stored_name is generated by us (hex + .jpg), never user input.
                return Path(upload_dir) / "cards" / card.stored_name
    raise NotFound("card")
