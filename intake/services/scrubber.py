"""The claim scrubber: what stops a visit from being billed, in words.

A pure function over a loaded visit (with its patient's coverages and their
payers, diagnoses and lines), the practice row and the code engine: no
queries, no Flask. A visit with any finding gets no Claim in its bundle and
is not exported.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from intake.codes import CodeEngine, System
from intake.normalize import is_valid_mbi, is_valid_npi
from intake.services.claims import claim_payers


@dataclass(frozen=True, slots=True)
class Finding:
    """One reason the claim cannot go out: a stable code and the words for staff."""

    code: str
    words: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "words": self.words}


NOT_SEEN_STATES = {"cancelled", "no_show"}


def scrub_visit(visit: Any, *, practice: Any, engine: CodeEngine,
                coverages: Iterable[Any] | None = None, claim: Any = None) -> list[Finding]:
    """Every finding for one visit, in the order a biller would fix them.

    The payers checked are the billed ``claim``'s (frozen) when there is one,
    else those in force on the date of service among ``coverages`` (default
    ``visit.patient.coverages``).
    """
    findings: list[Finding] = []
    add = findings.append
    if visit.state in NOT_SEEN_STATES:
        add(Finding("visit_not_seen", f"The visit is {visit.state.replace('_', '-')}: there is nothing to bill."))
    elif visit.state != "checked_out":
        add(Finding("not_checked_out", f"The visit is {visit.state.replace('_', ' ')}, not checked out: "
                                       "only a visit that happened can be billed."))
    if visit.charges_locked_at is None:
        add(Finding("not_locked", "The charges are not locked: not ready for billing."))
    if claim is not None:
        payers, self_pay = claim.payers, claim.self_pay
    else:
        payers, self_pay = claim_payers(visit.patient.coverages if coverages is None else coverages,
                                        visit.date_of_service)
    _coverage_findings(visit.date_of_service, payers, self_pay, add)
    _npi_findings(practice, visit.provider, add)
    _code_findings(visit, engine, add)
    return findings


def _coverage_findings(day: Any, payers: list[dict[str, Any]], self_pay: bool, add: Any) -> None:
    if self_pay:
        add(Finding("self_pay", f"The patient was self-pay on {day.isoformat()} (the date of service): "
                                "no claim goes to a payer; collect from the patient."))
        return
    if not payers:
        add(Finding("no_coverage", f"No coverage was in force on {day.isoformat()} (the date of "
                                   "service): add the insurance with its dates (or a self-pay "
                                   "coverage) before billing."))
        return
    for p in payers:
        name = f"{_RANK.get(p['order'], 'A')} coverage ({p['payer_name']})"
        if not p["member_id"]:
            add(Finding("member_id_missing", f"{name} has no member id."))
        if p["payer_kind"] == "medicare" and p["member_id"] and not is_valid_mbi(p["member_id"]):
            add(Finding("medicare_not_mbi", f"{name}: the Medicare member id is not an MBI "
                                            "(11 characters, like 1EG4-TE5-MK73)."))
        if p["relationship_code"] != "self":
            missing = [label for label, key in (("family name", "subscriber_family"),
                                                ("given name", "subscriber_given"),
                                                ("date of birth", "subscriber_birth_date"))
                       if not p[key]]
            if missing:
                add(Finding("subscriber_missing", f"{name}: the patient is not the subscriber, "
                                                  f"and the subscriber's {', '.join(missing)} "
                                                  f"{'is' if len(missing) == 1 else 'are'} missing."))


_RANK = {1: "Primary", 2: "Secondary", 3: "Tertiary"}


def _npi_findings(practice: Any, provider: Any, add: Any) -> None:
    if practice is None or not practice.npi:
        add(Finding("practice_npi_missing", "The practice has no NPI: enter it in the practice settings."))
    elif not is_valid_npi(practice.npi):
        add(Finding("practice_npi_invalid", "The practice NPI fails its check digit."))
    if provider is None or not provider.npi:
        add(Finding("provider_npi_missing", "The rendering provider has no NPI."))
    elif not is_valid_npi(provider.npi):
        add(Finding("provider_npi_invalid", "The rendering provider's NPI fails its check digit."))


def _code_findings(visit: Any, engine: CodeEngine, add: Any) -> None:
    day = visit.date_of_service
    diagnoses = list(visit.diagnoses)
    lines = list(visit.lines)
    if not diagnoses:
        add(Finding("no_diagnoses", "The visit has no diagnosis."))
    if not lines:
        add(Finding("no_lines", "The visit has no procedure line."))
    on_visit = {d.id for d in diagnoses}
    for d in sorted(diagnoses, key=lambda d: d.sequence):
        result = engine.check(d.code, System.ICD10CM, day)
        if not (result.valid and result.billable):
            add(Finding(f"diagnosis_{result.status}", f"Diagnosis {d.sequence} ({d.code}): {_sentence(result.reason)}"))
    for line in sorted(lines, key=lambda x: x.line_no):
        result = engine.check(line.code, line.system, day)
        if not result.valid:
            add(Finding(f"procedure_{result.status}", f"Line {line.line_no} ({line.code}): {_sentence(result.reason)}"))
        for m in (line.modifier1, line.modifier2, line.modifier3, line.modifier4):
            if m and not (check := engine.check(m, System.MODIFIER, day)).valid:
                add(Finding(f"modifier_{check.status}", f"Line {line.line_no} modifier {m}: {_sentence(check.reason)}"))
        pointers = [p for p in (line.pointer1_id, line.pointer2_id, line.pointer3_id, line.pointer4_id)
                    if p is not None]
        if not pointers:
            add(Finding("no_pointers", f"Line {line.line_no} ({line.code}) points to no diagnosis."))
        elif any(p not in on_visit for p in pointers):
            add(Finding("pointer_missing", f"Line {line.line_no} ({line.code}) points to a diagnosis "
                                           "that is not on this visit."))


def _sentence(text: str) -> str:
    text = text if text.endswith(".") else text + "."
    if text.startswith("provisional:"):
        text += " Held from billing until that table is imported; the import re-checks this visit."
    return text


# -- loading (the callers' side: the scrubber and the mappers never query) ----

def load_visit_for_claim(visit_id: int) -> Any:
    """A visit with everything the scrubber and the bundle read, in a few
    queries: patient, its coverages and payers, provider, diagnoses, lines."""
    from sqlalchemy.orm import selectinload

    from intake.extensions import db
    from intake.models import Coverage, Patient, Visit

    return db.session.execute(
        db.select(Visit).where(Visit.id == visit_id).options(
            selectinload(Visit.patient).selectinload(Patient.coverages).selectinload(Coverage.payer),
            selectinload(Visit.provider), selectinload(Visit.diagnoses), selectinload(Visit.lines))
    ).scalar_one_or_none()


def signed_consents(patient_id: int) -> list[Any]:
    """The patient's signed consents, oldest first (none before the kiosk lands)."""
    from intake.extensions import db

    try:
        from intake.models.kiosk import SignedConsent
    except ImportError:  # the kiosk module is not installed yet
        return []
    return list(db.session.execute(db.select(SignedConsent).where(SignedConsent.patient_id == patient_id)
                                   .order_by(SignedConsent.signed_at, SignedConsent.id)).scalars())
