"""The superbill: diagnoses and procedure lines of a visit, checked against
the code tables for the visit's date of service."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from flask import current_app

from intake.codes import CheckResult, CodeEngine, System, load_engine
from intake.extensions import db
from intake.models import ChargeLine, Visit, VisitDiagnosis
from intake.models.visit import VisitState
from intake.services import FieldErrors, audit, claims, clock
from intake.services.practice import fee_for

SEEN_STATES = (VisitState.CHECKED_IN, VisitState.WITH_PROVIDER, VisitState.CHECKED_OUT)
MAX_DIAGNOSES = 12
MAX_POINTERS = 4
MAX_MODIFIERS = 4


def engine() -> CodeEngine:
    return load_engine(Path(current_app.instance_path))


PROVISIONAL_NOTE = ("Billing holds this visit until that code table is imported; "
                    "the practice administrator has been told.")


def _explain(result: CheckResult) -> str:
    text = result.reason
    if result.children:
        shown = ", ".join(c.code for c in result.children[:6])
        more = f" and {result.children_total - 6} more" if result.children_total > 6 else ""
        text += f" Billable codes under it: {shown}{more}."
    return text


def _editable(visit: Visit) -> None:
    if visit.locked:
        raise FieldErrors({"code": ["The charges are locked for billing; unlock them to edit."]})
    if visit.state in (VisitState.CANCELLED, VisitState.NO_SHOW):
        raise FieldErrors({"code": ["A cancelled or no-show visit has no charges."]})


def add_diagnosis(visit: Visit, code: str) -> VisitDiagnosis:
    _editable(visit)
    result = engine().check(code, System.ICD10CM, visit.date_of_service)
    if not result.accepted or not result.billable:
        raise FieldErrors({"code": [_explain(result)]})
    if any(d.code == result.code for d in visit.diagnoses):
        raise FieldErrors({"code": [f"{result.code} is already on this visit."]})
    if len(visit.diagnoses) >= MAX_DIAGNOSES:
        raise FieldErrors({"code": [f"A claim carries at most {MAX_DIAGNOSES} diagnoses."]})
    diagnosis = VisitDiagnosis(visit=visit, sequence=len(visit.diagnoses) + 1,
                               code=result.code, display=result.display[:250])
    db.session.add(diagnosis)
    db.session.flush()
    audit.record("charges.diagnosis_add", patient_id=visit.patient_id, object_type="visit",
                 object_id=visit.id)
    return diagnosis


def remove_diagnosis(visit: Visit, diagnosis_id: int) -> None:
    _editable(visit)
    diagnosis = next((d for d in visit.diagnoses if d.id == diagnosis_id), None)
    if diagnosis is None:
        raise FieldErrors({"code": ["That diagnosis is not on this visit."]})
    users = [line.line_no for line in visit.lines if diagnosis in line.pointers]
    if users:
        raise FieldErrors({"code": [
            f"Line {', '.join(map(str, users))} points to {diagnosis.code}; "
            "change its pointers first."]})
    remaining = [d for d in _in_order(visit) if d is not diagnosis]
    db.session.delete(diagnosis)
    db.session.flush()
    visit.diagnoses.remove(diagnosis)
    _renumber(remaining)
    audit.record("charges.diagnosis_remove", patient_id=visit.patient_id, object_type="visit",
                 object_id=visit.id)


def move_diagnosis(visit: Visit, diagnosis_id: int, direction: int) -> None:
    _editable(visit)
    ordered = _in_order(visit)
    index = next((i for i, d in enumerate(ordered) if d.id == diagnosis_id), None)
    if index is None:
        raise FieldErrors({"code": ["That diagnosis is not on this visit."]})
    other = index + direction
    if not 0 <= other < len(ordered):
        return
    ordered[index], ordered[other] = ordered[other], ordered[index]
    _renumber(ordered)
    audit.record("charges.diagnosis_move", patient_id=visit.patient_id, object_type="visit",
                 object_id=visit.id)


def _in_order(visit: Visit) -> list[VisitDiagnosis]:
    """The visit's diagnoses by sequence (the loaded list keeps load order)."""
    return sorted(visit.diagnoses, key=lambda d: d.sequence)


def _renumber(ordered: list[VisitDiagnosis]) -> None:
    """Give diagnoses sequences 1..n in this order. (visit, sequence) is
    unique, so first park every row above the range, flush, then set."""
    for d in ordered:
        d.sequence += 100
    db.session.flush()
    for i, d in enumerate(ordered, start=1):
        d.sequence = i
    db.session.flush()


def _pointers(visit: Visit, numbers: list[int]) -> list[VisitDiagnosis]:
    by_sequence = {d.sequence: d for d in visit.diagnoses}
    numbers = [n for n in numbers if n]
    errors = []
    if not numbers:
        errors.append("Point the line to at least one diagnosis (1 to 4 pointers).")
    if len(numbers) > MAX_POINTERS:
        errors.append("At most 4 diagnosis pointers per line.")
    if len(set(numbers)) != len(numbers):
        errors.append("A pointer is repeated.")
    missing = [n for n in numbers if n not in by_sequence]
    if missing:
        errors.append(f"There is no diagnosis {', '.join(map(str, missing))} on this visit.")
    if errors:
        raise FieldErrors({"pointers": errors})
    return [by_sequence[n] for n in numbers]


def check_procedure(code: str, day: date | None = None) -> CheckResult:
    """A procedure code checked as CPT or HCPCS only (never ICD-10-CM: G0008 is not G00.08)."""
    code = code.strip().upper()
    return engine().check(code, System.HCPCS if code[:1].isalpha() else System.CPT,
                          day or clock.today())


def _procedure(visit: Visit, code: str) -> CheckResult:
    result = check_procedure(code, visit.date_of_service)
    if not result.accepted:
        raise FieldErrors({"code": [_explain(result)]})
    return result


def _modifiers(visit: Visit, modifiers: list[str]) -> list[str]:
    cleaned = [m.strip().upper() for m in modifiers if m and m.strip()]
    errors = []
    if len(cleaned) > MAX_MODIFIERS:
        errors.append("At most 4 modifiers per line.")
    for m in cleaned:
        result = engine().check(m, System.MODIFIER, visit.date_of_service)
        if not result.accepted:
            errors.append(f"{m}: {result.reason}")
    if errors:
        raise FieldErrors({"modifiers": errors})
    return cleaned


def save_line(visit: Visit, data: Mapping[str, Any], line: ChargeLine | None = None) -> ChargeLine:
    """Add or change a procedure line. Amount left empty takes the fee
    schedule's price; a code with no fee needs an amount."""
    _editable(visit)
    code = (data.get("code") or "").strip().upper()
    result = _procedure(visit, code)
    modifiers = _modifiers(visit, data.get("modifiers") or [])
    pointers = _pointers(visit, data.get("pointers") or [])
    units = data.get("units") or 1
    price = data.get("unit_price_cents")
    if price is None:
        fee = fee_for(result.code)
        if fee is None:
            raise FieldErrors({"amount": [f"There is no fee for {result.code} in the fee "
                                          "schedule; enter the amount."]})
        price = fee.price_cents
    if line is None:
        line = ChargeLine(visit=visit, line_no=max((x.line_no for x in visit.lines), default=0) + 1)
        db.session.add(line)
    line.code = result.code
    line.system = str(result.system)
    line.verified = result.verified
    line.display = (result.display or "")[:250]
    line.modifier1, line.modifier2, line.modifier3, line.modifier4 = (modifiers + [None] * 4)[:4]
    line.units = units
    line.unit_price_cents = price
    line.pointer1, line.pointer2, line.pointer3, line.pointer4 = (pointers + [None] * 4)[:4]
    db.session.flush()
    audit.record("charges.line_save", patient_id=visit.patient_id, object_type="visit",
                 object_id=visit.id, detail=f"line={line.line_no}")
    return line


def remove_line(visit: Visit, line_id: int) -> None:
    _editable(visit)
    line = next((x for x in visit.lines if x.id == line_id), None)
    if line is None:
        raise FieldErrors({"code": ["That line is not on this visit."]})
    visit.lines.remove(line)
    db.session.delete(line)
    db.session.flush()
    audit.record("charges.line_remove", patient_id=visit.patient_id, object_type="visit",
                 object_id=visit.id)


def lock(visit: Visit) -> None:
    """Mark the charges ready for billing, after re-checking every code for the
    date of service (a table imported since may have changed the answer).
    Provisional codes may be locked: the claim scrubber holds the visit."""
    errors = []
    if visit.locked:
        errors.append("The charges are already locked.")
    if visit.state not in SEEN_STATES:
        errors.append("Charges can be locked only once the visit is checked in "
                      "(a scheduled, no-show or cancelled visit has nothing to bill).")
    if not visit.lines:
        errors.append("Add at least one procedure line.")
    if not visit.diagnoses:
        errors.append("Add at least one diagnosis.")
    eng = engine()
    for d in visit.diagnoses:
        result = eng.check(d.code, System.ICD10CM, visit.date_of_service)
        if not (result.accepted and result.billable):
            errors.append(f"Diagnosis {d.sequence} ({d.code}): {result.reason}")
    for line in visit.lines:
        result = eng.check(line.code, line.system, visit.date_of_service)
        if not result.accepted:
            errors.append(f"Line {line.line_no} ({line.code}): {result.reason}")
        if not line.pointers:
            errors.append(f"Line {line.line_no} points to no diagnosis.")
    if errors:
        raise FieldErrors({"lock": errors})
    visit.charges_locked_at = datetime.now(timezone.utc)
    visit.charges_locked_by_id = audit.current_user_id()
    db.session.flush()
    audit.record("charges.lock", patient_id=visit.patient_id, object_type="visit",
                 object_id=visit.id)
    claims.bill(visit)  # frozen now if the visit is already checked out


def provisional_codes(visit: Visit) -> dict[str, str]:
    """Codes on the visit checked only against the nearest loaded release: code -> note in plain words."""
    eng, day = engine(), visit.date_of_service
    checks = [eng.check(d.code, System.ICD10CM, day) for d in visit.diagnoses]
    for line in visit.lines:
        checks.append(eng.check(line.code, line.system, day))
        checks += [eng.check(m, System.MODIFIER, day) for m in line.modifiers]
    return {r.code: f"{r.reason[:1].upper()}{r.reason[1:]}. {PROVISIONAL_NOTE}" for r in checks if r.provisional}


def unlock(visit: Visit) -> None:
    if not visit.locked:
        return
    visit.charges_locked_at = None
    visit.charges_locked_by_id = None
    db.session.flush()
    audit.record("charges.unlock", patient_id=visit.patient_id, object_type="visit",
                 object_id=visit.id)


def search_codes(text: str, system: str, day: Any) -> list[Any]:
    """Search-as-you-type: 'icd10cm' for diagnoses, 'procedure' for CPT and HCPCS, 'modifier'.
    Only the field's own systems answer: the procedure field never offers ICD-10-CM codes."""
    text = text.strip()
    if len(text) < 2:
        return []
    eng = engine()
    day = day or clock.today()
    if system == "procedure":
        hits = eng.search(text, System.HCPCS, limit=10, date_of_service=day)
        hits += eng.search(text, System.CPT, limit=10, date_of_service=day)
        return hits[:15]
    if system in {s.value for s in System}:
        return eng.search(text, System(system), limit=15, date_of_service=day)
    return []


def place_of_service_choices() -> list[tuple[str, str]]:
    """Every place-of-service code in the bundled table, 'code · name'."""
    table = engine().table_for(System.POS, clock.today())
    if table is None:
        return [("11", "11 · Office")]
    return [(row.code, f"{row.code} · {row.description}") for row in table.rows()]
