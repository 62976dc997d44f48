"""Billed claims: which coverages were in force on the date of service, and
freezing a visit's claim when it is billed (charges locked on a checked-out
visit). The pure functions at the top read loaded objects only; `bill`
writes. See intake.models.claim for the frozen record's shape."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timezone
from typing import Any

from intake.models.claim import BilledClaim, patient_control_number

BILLABLE_STATE = "checked_out"
VOID_STATUS = "in_error"  # a coverage entered in error: never in force

# -- pure: coverages in force and the frozen record -------------------------


def in_force(coverages: Iterable[Any], day: date) -> list[Any]:
    """The coverages in force on `day`, in their order on that day (an ended
    coverage keeps the rank it had while it was in force)."""
    found = [c for c in coverages
             if c.status != VOID_STATUS
             and (c.effective_date is None or c.effective_date <= day)
             and (c.end_date is None or c.end_date >= day)
             and (c.status == "active" or c.end_date is not None)]
    return sorted(found, key=lambda c: (_order_of(c), c.id))


def _order_of(coverage: Any) -> int:
    rank = coverage.rank if coverage.rank is not None else getattr(coverage, "last_rank", None)
    return rank or 9


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def payer_entry(coverage: Any, order: int) -> dict[str, Any]:
    """One frozen payer of a claim (see intake.models.claim)."""
    c, payer = coverage, coverage.payer
    return {"order": order, "coverage_id": c.id, "payer_id": payer.id, "payer_name": payer.name,
            "payer_code": payer.payer_code, "payer_kind": payer.kind, "member_id": c.member_id,
            "group_number": c.group_number, "plan_name": c.plan_name,
            "relationship_code": c.relationship_code, "subscriber_family": c.subscriber_family,
            "subscriber_given": c.subscriber_given,
            "subscriber_birth_date": _iso(c.subscriber_birth_date),
            "effective_date": _iso(c.effective_date), "end_date": _iso(c.end_date)}


def claim_payers(coverages: Iterable[Any], day: date) -> tuple[list[dict[str, Any]], bool]:
    """The claim's payers on `day` (self-pay left out) and whether the visit
    is self-pay (only a self-pay coverage in force)."""
    current = in_force(coverages, day)
    insurers = [c for c in current if c.payer.kind != "self_pay"]
    payers = [payer_entry(c, n) for n, c in enumerate(insurers, start=1)]
    return payers, bool(current) and not insurers


def freeze(visit: Any, coverages: Iterable[Any] | None = None, *, version: int = 1,
           billed_at: datetime | None = None, billed_by_id: int | None = None) -> BilledClaim:
    """The claim of a loaded visit as it stands now (not added to a session)."""
    v = visit
    payers, self_pay = claim_payers(v.patient.coverages if coverages is None else coverages,
                                    v.date_of_service)
    diagnoses = sorted(v.diagnoses, key=lambda d: d.sequence)
    sequence_of = {d.id: d.sequence for d in diagnoses}
    lines = []
    for line in sorted(v.lines, key=lambda x: x.line_no):
        pointers = [sequence_of[p] for p in (line.pointer1_id, line.pointer2_id, line.pointer3_id,
                                              line.pointer4_id) if p is not None and p in sequence_of]
        lines.append({"line_no": line.line_no, "code": line.code, "system": line.system,
                      "display": line.display or "",
                      "modifiers": [m for m in (line.modifier1, line.modifier2, line.modifier3,
                                                line.modifier4) if m],
                      "units": line.units, "unit_price_cents": line.unit_price_cents,
                      "pointers": pointers})
    return BilledClaim(
        visit_id=v.id, patient_id=v.patient_id, version=version,
        patient_control_number=patient_control_number(v.id), status="active",
        billed_at=billed_at or datetime.now(timezone.utc), billed_by_id=billed_by_id,
        date_of_service=v.date_of_service, place_of_service=v.place_of_service,
        provider_id=v.provider_id,
        total_cents=sum(x["unit_price_cents"] * x["units"] for x in lines), self_pay=self_pay,
        payers=payers, rendering_provider=_rendering(v.provider),
        diagnoses=[{"sequence": d.sequence, "code": d.code, "display": d.display} for d in diagnoses],
        lines=lines)


def _rendering(provider: Any) -> dict[str, Any] | None:
    if provider is None:
        return None
    return {"provider_id": provider.id, "npi": provider.npi, "family_name": provider.family_name,
            "given_name": provider.given_name, "credentials": provider.credentials,
            "taxonomy": provider.taxonomy}


FROZEN_FIELDS = ("date_of_service", "place_of_service", "provider_id", "total_cents", "self_pay",
                 "payers", "rendering_provider", "diagnoses", "lines")


def same_claim(a: BilledClaim, b: BilledClaim) -> bool:
    return all(getattr(a, f) == getattr(b, f) for f in FROZEN_FIELDS)


def coverages_to_send(visit: Any, claim: BilledClaim | None) -> list[Any]:
    """The coverage rows a visit's bundle carries: the billed claim's payers
    in their frozen order, else those in force on the date of service."""
    rows = visit.patient.coverages
    if claim is None:
        return in_force(rows, visit.date_of_service)
    by_id = {c.id: c for c in rows}
    return [by_id[p["coverage_id"]] for p in claim.payers if p["coverage_id"] in by_id]


def is_billable(visit: Any) -> bool:
    return visit.state == BILLABLE_STATE and visit.charges_locked_at is not None


# -- the database side -------------------------------------------------------


def latest(visit_id: int) -> BilledClaim | None:
    from intake.extensions import db

    return db.session.execute(
        db.select(BilledClaim).where(BilledClaim.visit_id == visit_id)
        .order_by(BilledClaim.version.desc()).limit(1)).scalar_one_or_none()


def latest_for(visit_ids: Iterable[int]) -> dict[int, BilledClaim]:
    """The current claim of each visit that has one."""
    from intake.extensions import db

    ids = list(visit_ids)
    if not ids:
        return {}
    newest = (db.select(BilledClaim.visit_id, db.func.max(BilledClaim.version).label("v"))
              .where(BilledClaim.visit_id.in_(ids)).group_by(BilledClaim.visit_id).subquery())
    rows = db.session.execute(db.select(BilledClaim).join(
        newest, (BilledClaim.visit_id == newest.c.visit_id) & (BilledClaim.version == newest.c.v)))
    return {c.visit_id: c for c in rows.scalars()}


def bill(visit: Any) -> BilledClaim | None:
    """Freeze the visit's claim once it is billable (charges locked, visit
    checked out). The same claim again is a no-op; a different one is a
    correction: a new version that replaces the last. None when not billable."""
    from intake.extensions import db
    from intake.services import audit

    if not is_billable(visit):
        return None
    current = latest(visit.id)
    claim = freeze(visit, version=(current.version + 1) if current else 1,
                   billed_by_id=audit.current_user_id())
    if current is not None and same_claim(current, claim):
        return current
    claim.replaces_id = current.id if current else None
    db.session.add(claim)
    db.session.flush()
    audit.record("claim.bill", patient_id=visit.patient_id, object_type="visit", object_id=visit.id,
                 detail=f"claim={claim.id} version={claim.version}")
    return claim
