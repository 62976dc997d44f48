"""Likely-duplicate detection for registration and kiosk acceptance.

Candidates are found through indexed blocking keys (date of birth, phone,
family name + first initial, address) and then scored in Python with
rapidfuzz, so the cost does not grow with the number of charts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import current_app, has_app_context
from rapidfuzz import fuzz
from sqlalchemy import or_

from intake.config import Defaults
from intake.extensions import db
from intake.models import Patient
from intake.normalize import address_key, name_key
from intake.services import audit

MAX_BLOCK = 500


@dataclass
class Candidate:
    patient: Patient
    score: int
    reasons: list[str] = field(default_factory=list)


def _swapped(day: date) -> date | None:
    if day.day > 12 or day.day == day.month:
        return None
    try:
        return day.replace(month=day.day, day=day.month)
    except ValueError:
        return None


def score(probe: Mapping[str, Any], patient: Patient) -> Candidate:
    """Weights: name up to 45, date of birth 30 (15 if day and month are
    swapped), phone 15, address 10, email 10; capped at 100."""
    reasons: list[str] = []
    probe_name = f"{name_key(probe.get('given_name'))} {name_key(probe.get('family_name'))}"
    cand_name = f"{patient.given_norm} {patient.family_norm}"
    similarity = fuzz.token_sort_ratio(probe_name, cand_name)
    points = similarity * 0.45
    if similarity >= 99.5:
        reasons.append("same name")
    elif similarity >= 75:
        reasons.append(f"name {similarity:.0f}% similar")

    dob = probe.get("birth_date")
    if dob and dob == patient.birth_date:
        points += 30
        reasons.append("same date of birth")
    elif dob and _swapped(dob) == patient.birth_date:
        points += 15
        reasons.append("date of birth with day and month swapped")

    phones = {p for p in (probe.get("phone_mobile"), probe.get("phone_home")) if p}
    if phones & set(patient.phones):
        points += 15
        reasons.append("same phone number")

    key = address_key(probe.get("address_line1"), probe.get("postal_code"))
    if key and key == patient.address_key:
        points += 10
        reasons.append("same address")

    email = (probe.get("email") or "").strip().casefold()
    if email and patient.email and email == patient.email.casefold():
        points += 10
        reasons.append("same email")
    return Candidate(patient=patient, score=min(100, round(points)), reasons=reasons)


def _blocking_query(probe: Mapping[str, Any]):
    conditions = []
    dob = probe.get("birth_date")
    if dob:
        conditions.append(Patient.birth_date == dob)
        if swapped := _swapped(dob):
            conditions.append(Patient.birth_date == swapped)
    phones = [p for p in (probe.get("phone_mobile"), probe.get("phone_home")) if p]
    if phones:
        conditions.append(Patient.phone_mobile.in_(phones))
        conditions.append(Patient.phone_home.in_(phones))
    family, given = name_key(probe.get("family_name")), name_key(probe.get("given_name"))
    if family and given:
        conditions.append((Patient.family_norm == family)
                          & Patient.given_norm.startswith(given[0], autoescape=True))
        # Names typed in the wrong boxes.
        conditions.append((Patient.family_norm == given)
                          & Patient.given_norm.startswith(family[0], autoescape=True))
    key = address_key(probe.get("address_line1"), probe.get("postal_code"))
    if key:
        conditions.append(Patient.address_key == key)
    if not conditions:
        return None
    return db.select(Patient).where(or_(*conditions)).limit(MAX_BLOCK)


def find(probe: Mapping[str, Any], *, exclude_id: int | None = None,
         threshold: int | None = None, limit: int = 5) -> list[Candidate]:
    """Charts that are probably the same person as `probe` (a mapping of
    demographic fields), best first."""
    if threshold is None:
        threshold = (current_app.config if has_app_context()
                     else vars(Defaults))["INTAKE_DUPLICATE_THRESHOLD"]
    query = _blocking_query(probe)
    if query is None:
        return []
    scored = [score(probe, p) for p in db.session.execute(query).scalars() if p.id != exclude_id]
    hits = [c for c in scored if c.score >= threshold]
    hits.sort(key=lambda c: (-c.score, c.patient.id))
    return hits[:limit]


def audit_shown(candidates: list[Candidate]) -> None:
    """Showing a candidate shows part of that chart: audit each."""
    for c in candidates:
        audit.record("patient.duplicate_shown", patient_id=c.patient.id,
                     object_type="patient", object_id=c.patient.id, detail=f"score={c.score}")
