"""Registering, editing, finding and reading patients."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_
from sqlalchemy.orm import selectinload

from intake.extensions import db
from intake.models import Coverage, Patient
from intake.normalize import address_key, clean_text, luhn_check_digit, name_key, parse_phone
from intake.services import NotFound, audit, duplicates

# The demographic fields a form may set; everything else is derived.
PATIENT_FIELDS = (
    "family_name", "given_name", "middle_name", "suffix", "preferred_name",
    "birth_date", "sex", "gender_identity",
    "address_line1", "address_line2", "city", "state", "postal_code",
    "phone_mobile", "phone_home", "email", "preferred_language",
    "races", "ethnicity", "marital_status",
    "emergency_name", "emergency_relationship", "emergency_phone",
)
MRN_LENGTH = 10


class PossibleDuplicates(Exception):
    """Registration stopped to show likely matches; confirm to go on."""

    def __init__(self, candidates: list[duplicates.Candidate]):
        super().__init__(f"{len(candidates)} possible duplicates")
        self.candidates = candidates


def is_valid_mrn(value: str) -> bool:
    return (len(value) == MRN_LENGTH and value.isdigit()
            and luhn_check_digit(value[:-1]) == value[-1])


def new_mrn() -> str:
    """Random (not sequential, so not guessable) with a Luhn check digit that
    catches a mistyped digit; the unique constraint backs the existence check."""
    while True:
        body = str(secrets.randbelow(9 * 10 ** (MRN_LENGTH - 2)) + 10 ** (MRN_LENGTH - 2))
        mrn = body + luhn_check_digit(body)
        if not db.session.execute(db.select(Patient.id).filter_by(mrn=mrn)).first():
            return mrn


def _apply(patient: Patient, data: Mapping[str, Any]) -> list[str]:
    """Set demographic fields; return the names of those that changed."""
    changed = []
    for field in PATIENT_FIELDS:
        if field not in data:
            continue
        value = data[field]
        if isinstance(value, str):
            value = clean_text(value)
        if field == "races":
            value = sorted(set(value or []))
        if field in ("preferred_language",) and not value:
            value = "en"
        if getattr(patient, field) != value:
            setattr(patient, field, value)
            changed.append(field)
    patient.family_norm = name_key(patient.family_name)
    patient.given_norm = name_key(patient.given_name)
    patient.address_key = address_key(patient.address_line1, patient.postal_code)
    return changed


def register_patient(data: Mapping[str, Any], *, confirm_new: bool = False) -> Patient:
    """Create a chart. Unless the receptionist confirmed a new patient, likely
    duplicates stop the registration (PossibleDuplicates)."""
    if not confirm_new:
        candidates = duplicates.find(data)
        if candidates:
            duplicates.audit_shown(candidates)
            raise PossibleDuplicates(candidates)
    patient = Patient(mrn=new_mrn())
    _apply(patient, data)
    db.session.add(patient)
    db.session.flush()
    audit.record("patient.create", patient_id=patient.id, object_type="patient",
                 object_id=patient.id, detail="confirmed new over duplicates" if confirm_new else None)
    return patient


def update_patient(patient: Patient, data: Mapping[str, Any]) -> list[str]:
    changed = _apply(patient, data)
    if changed:
        db.session.flush()
        audit.record("patient.update", patient_id=patient.id, object_type="patient",
                     object_id=patient.id, detail="fields=" + ",".join(changed))
    return changed


def get_patient(patient_id: int, *, purpose: str = "view") -> Patient:
    """Load a chart and audit the read."""
    patient = db.session.execute(
        db.select(Patient).where(Patient.id == patient_id).options(
            selectinload(Patient.coverages).selectinload(Coverage.payer),
            selectinload(Patient.coverages).selectinload(Coverage.cards),
        )
    ).scalar_one_or_none()
    if patient is None:
        raise NotFound("patient")
    audit.record(f"patient.{purpose}", patient_id=patient.id, object_type="patient",
                 object_id=patient.id)
    return patient


_DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d", "%m-%d-%Y", "%m/%d/%y", "%m%d%Y")


def _parse_date(token: str) -> date | None:
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(token, fmt).date()
        except ValueError:
            continue
        if fmt == "%m/%d/%y" and parsed > date.today():
            parsed = parsed.replace(year=parsed.year - 100)
        return parsed
    return None


_PHONE_RUN = re.compile(r"\+?\(?\d[\d\s().-]{5,}\d")


def classify_query(query: str) -> dict[str, Any]:
    """Split a search box entry into MRN, date of birth, phone and name words:
    'wojcik 3/14/1980' finds by name and DOB together."""
    terms: dict[str, Any] = {"names": []}
    rest = []
    for raw in re.split(r"[\s,]+", query.strip()):
        when = _parse_date(raw) if raw and (re.search(r"[/-]", raw) or len(raw) == 8) else None
        if when:
            terms["birth_date"] = when
        elif raw.isdigit() and len(raw) == MRN_LENGTH and is_valid_mrn(raw):
            terms["mrn"] = raw
        elif raw:
            rest.append(raw)
    remainder = " ".join(rest)
    for run in _PHONE_RUN.findall(remainder):
        if len(re.sub(r"\D", "", run)) >= 7:
            try:
                terms["phone"] = parse_phone(run)
            except ValueError:
                continue
            remainder = remainder.replace(run, " ")
    terms["names"] = [key for word in remainder.split() if (key := name_key(word))]
    return terms


def search_patients(query: str, limit: int = 50) -> tuple[list[Patient], str]:
    """Find charts by name, date of birth, phone or MRN (combinable).
    Returns the patients and a short non-PHI description of the search kind."""
    terms = classify_query(query)
    stmt = db.select(Patient)
    kinds = []
    if "mrn" in terms:
        stmt = stmt.where(Patient.mrn == terms["mrn"])
        kinds.append("mrn")
    if "birth_date" in terms:
        stmt = stmt.where(Patient.birth_date == terms["birth_date"])
        kinds.append("dob")
    if "phone" in terms:
        stmt = stmt.where(or_(Patient.phone_mobile == terms["phone"],
                              Patient.phone_home == terms["phone"]))
        kinds.append("phone")
    names = terms["names"][:3]
    if names:
        kinds.append("name")
        if len(names) == 1:
            (word,) = names
            stmt = stmt.where(or_(Patient.family_norm.startswith(word, autoescape=True),
                                  Patient.given_norm.startswith(word, autoescape=True)))
        else:
            # "family given" or "given family": either order, prefixes.
            first, second = names[0], names[-1]
            stmt = stmt.where(or_(
                Patient.family_norm.startswith(first, autoescape=True)
                & Patient.given_norm.startswith(second, autoescape=True),
                Patient.given_norm.startswith(first, autoescape=True)
                & Patient.family_norm.startswith(second, autoescape=True),
            ))
    if not kinds:
        return [], "empty"
    stmt = stmt.order_by(Patient.family_norm, Patient.given_norm, Patient.id).limit(limit)
    found = list(db.session.execute(stmt).scalars())
    audit.record("patient.search", object_type="patient",
                 detail=f"by={'+'.join(kinds)} results={len(found)}")
    return found, "+".join(kinds)
