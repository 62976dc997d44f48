"""The payers table: who coverages are billed to."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from intake.extensions import db
from intake.models import Payer
from intake.normalize import clean_text
from intake.services import FieldErrors, audit

# Public electronic payer ids, so a fresh install can register insurance at once.
STARTER_PAYERS = [
    ("Medicare Part B", "MCRB", "medicare"),
    ("State Medicaid", "MCAID", "medicaid"),
    ("Aetna", "60054", "commercial"),
    ("Blue Cross Blue Shield", "BCBS", "commercial"),
    ("Cigna", "62308", "commercial"),
    ("Humana", "61101", "commercial"),
    ("UnitedHealthcare", "87726", "commercial"),
    ("Self-pay", "SELFPAY", "self_pay"),
]


def seed_payers() -> int:
    """Add the starter payers that are missing; returns how many were added."""
    have = set(db.session.execute(db.select(Payer.payer_code)).scalars())
    added = 0
    for name, code, kind in STARTER_PAYERS:
        if code not in have:
            db.session.add(Payer(name=name, payer_code=code, kind=kind))
            added += 1
    db.session.flush()
    return added


def get_payer(payer_id: int) -> Payer | None:
    return db.session.get(Payer, payer_id)


def list_payers() -> list[Payer]:
    return list(db.session.execute(db.select(Payer).order_by(Payer.name)).scalars())


def save_payer(payer: Payer | None, data: Mapping[str, Any]) -> Payer:
    code = clean_text(data.get("payer_code")) or ""
    clash = db.session.execute(
        db.select(Payer.id).filter_by(payer_code=code)).scalar_one_or_none()
    if clash is not None and (payer is None or clash != payer.id):
        raise FieldErrors({"payer_code": ["Another payer has this payer id."]})
    if payer is None:
        payer = Payer()
        db.session.add(payer)
    payer.name = clean_text(data.get("name")) or ""
    payer.payer_code = code
    payer.kind = data["kind"]
    payer.active = bool(data.get("active", True))
    db.session.flush()
    audit.record("payer.save", object_type="payer", object_id=payer.id)
    return payer
