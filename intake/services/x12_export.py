"""837P files from the billing work list: builds ``intake.x12`` claims from
the chart (visits, charges, diagnoses, coverages, consents, practice
settings), holds the claims that cannot go with the reasons, writes the rest,
has pyx12 check the file, and records it like a FHIR export.

What a claim is read from:

- ``vocab.patient_control_number``: CLM01, the same number as the FHIR Claim's
- ``claims.coverages_to_send``: the payers in the billed claim's frozen order
  (the coverages in force on the date of service when it was billed), so a
  later coverage change or a switch to self-pay never moves an old claim
- ``visit.lines`` / ``visit.diagnoses`` / ``visit.provider`` / ``visit.place_of_service``
- the patient's signed ``financial`` consent: assignment of benefits and release (CLM08/CLM09)
- the practice settings: billing provider, submitter, receiver, CLM07
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import selectinload

from intake.codes import System
from intake.extensions import db
from intake.models import (BillingExport, Coverage, ExportedVisit, Patient, Practice, Visit,
                           X12Interchange)
from intake.models.base import utcnow
from intake import vocab
from intake.services import FieldErrors, NotFound, audit, billing, charges, claims, practice
from intake.x12 import (Address, BillingProvider, Claim, InterchangeSettings, OtherPayer, Payer,
                        Person, Problem, RenderingProvider, ServiceLine, claim_problems,
                        interchange_problems, write_837p)
from intake.x12.validate import validate_837p

FILE_FORMAT = "x12-837p"
FILING_INDICATOR = {"medicare": "MB", "medicaid": "MC", "commercial": "CI"}
# FHIR subscriber-relationship -> X12 individual relationship code (SBR02 / PAT01).
RELATIONSHIP = {"self": "18", "spouse": "01", "common": "53", "child": "19", "parent": "G8",
                "injured": "G8", "other": "G8"}
SEX = {"female": "F", "male": "M"}
RESPONSIBILITY = "PST"


@dataclass
class Held:
    """A visit that stays out of the file, and why (in a clerk's words)."""

    visit: Visit
    reasons: list[str]


# ---- what the claim is read from --------------------------------------------

def billed_coverages(visit: Visit) -> list[Coverage]:
    """The coverages the visit's claim bills, primary first: its billed claim's
    frozen payers, or (not billed yet) those in force on the date of service."""
    return claims.coverages_to_send(visit, claims.latest(visit.id))


def interchange_settings(office: Practice) -> tuple[InterchangeSettings, BillingProvider]:
    phone = _ten_digits(office.billing_contact_phone or office.phone)
    settings = InterchangeSettings(
        sender_id=office.x12_sender_id or "", receiver_id=office.x12_receiver_id or "",
        sender_qualifier=office.x12_sender_qualifier or "ZZ",
        receiver_qualifier=office.x12_receiver_qualifier or "ZZ",
        submitter_name=office.submitter_name or office.name or "",
        submitter_etin=office.submitter_etin or "",
        contact_name=office.billing_contact_name or "", contact_phone=phone,
        contact_email=office.billing_contact_email or None,
        receiver_name=office.receiver_name or "", receiver_etin=office.receiver_etin or "",
        production=not office.x12_test_mode)
    provider = BillingProvider(
        name=office.name or "", npi=office.npi or "", tax_id=office.tax_id or "",
        taxonomy=office.taxonomy or None,
        address=Address(office.address_line1 or "", office.city or "", office.state or "",
                        office.postal_code or ""))
    return settings, provider


def claim_for_visit(visit: Visit, office: Practice, consents: Sequence[Any]) -> Claim | list[str]:
    """The visit's 837P claim to its primary payer in force on the date of
    service (other payers in force as COB), or why there can be none."""
    day = visit.date_of_service
    insured = [c for c in billed_coverages(visit) if c.payer.kind != "self_pay"]
    if not insured:
        return [f"No insurance was in force on {day:%m/%d/%Y} (the date of service): check the "
                "coverage dates, or bill the patient; a self-pay visit gets no 837P."]
    primary, others = insured[0], insured[1:3]
    patient = visit.patient
    financial = any(c.kind == "financial" for c in consents)
    order = {d.id: n for n, d in enumerate(sorted(visit.diagnoses, key=lambda d: d.sequence), start=1)}
    lines = tuple(ServiceLine(
        code=line.code, charge_cents=line.total_cents, units=line.units,
        pointers=tuple(order.get(p, 99) for p in (line.pointer1_id, line.pointer2_id,
                                                   line.pointer3_id, line.pointer4_id) if p),
        service_date=day, modifiers=tuple(line.modifiers))
        for line in sorted(visit.lines, key=lambda x: x.line_no))
    provider = visit.provider
    return Claim(
        patient_control_number=vocab.patient_control_number(visit.id),
        payer=Payer(primary.payer.name, primary.payer.payer_code), payer_responsibility="P",
        filing_indicator=FILING_INDICATOR.get(primary.payer.kind, "CI"),
        subscriber=_subscriber(primary, patient),
        relationship=RELATIONSHIP.get(primary.relationship_code, "G8"),
        patient=None if primary.relationship_code == "self" else _person(patient),
        place_of_service=visit.place_of_service,
        diagnoses=tuple(d.code for d in sorted(visit.diagnoses, key=lambda d: d.sequence)),
        lines=lines, total_cents=sum(x.charge_cents for x in lines),
        benefits_assigned=financial, release_signed=financial,
        provider_accepts_assignment=bool(office.accepts_assignment),
        group_number=primary.group_number or None, plan_name=primary.plan_name or None,
        rendering=RenderingProvider(provider.family_name, provider.given_name, provider.npi,
                                    provider.taxonomy or None) if provider else None,
        other_payers=tuple(OtherPayer(
            responsibility=RESPONSIBILITY[n], payer=Payer(c.payer.name, c.payer.payer_code),
            subscriber=_subscriber(c, patient),
            relationship=RELATIONSHIP.get(c.relationship_code, "G8"),
            filing_indicator=FILING_INDICATOR.get(c.payer.kind, "CI"),
            insurance_type=c.medicare_secondary_type or None,
            group_number=c.group_number or None) for n, c in enumerate(others, start=1)))


def _person(patient: Patient) -> Person:
    return Person(patient.family_name, patient.given_name, middle_name=patient.middle_name,
                  suffix=patient.suffix, birth_date=patient.birth_date,
                  sex=SEX.get(patient.sex, "U"), address=_address(patient))


def _subscriber(coverage: Coverage, patient: Patient) -> Person:
    if coverage.relationship_code == "self":
        person = _person(patient)
        return Person(person.family_name, person.given_name, person.middle_name, person.suffix,
                      person.birth_date, person.sex, person.address, coverage.member_id)
    return Person(coverage.subscriber_family or "", coverage.subscriber_given or "",
                  birth_date=coverage.subscriber_birth_date, member_id=coverage.member_id)


def _address(patient: Patient) -> Address | None:
    if not patient.address_line1:
        return None
    return Address(patient.address_line1, patient.city or "", patient.state or "",
                   patient.postal_code or "", line2=patient.address_line2)


def _ten_digits(phone: str | None) -> str:
    digits = "".join(ch for ch in phone or "" if ch.isdigit())
    return digits[1:] if len(digits) == 11 and digits.startswith("1") else digits


def _code_check(engine: Any) -> Any:
    systems = {"diagnosis": System.ICD10CM, "modifier": System.MODIFIER, "procedure": None}

    def check(kind: str, code: str, day: date) -> str | None:
        result = engine.check(code, systems[kind], day)
        if kind == "diagnosis" and not (result.valid and result.billable):
            return _sentence(result.reason)
        return None if result.valid else _sentence(result.reason)
    return check


def _sentence(text: str) -> str:
    return text if text.endswith(".") else text + "."


# ---- the work list's 837P view -----------------------------------------------

def _consents_by_patient(patient_ids: Iterable[int]) -> dict[int, list[Any]]:
    from intake.models import SignedConsent

    found: dict[int, list[Any]] = {}
    ids = sorted(set(patient_ids))
    if ids:
        for consent in db.session.execute(db.select(SignedConsent).where(
                SignedConsent.patient_id.in_(ids))).scalars():
            found.setdefault(consent.patient_id, []).append(consent)
    return found


def sort_claims(visits: Sequence[Visit], office: Practice) -> tuple[list[tuple[Visit, Claim]], list[Held]]:
    """Each visit's claim, or the reasons it is held (the pre-write checks)."""
    consents = _consents_by_patient(v.patient_id for v in visits)
    check = _code_check(charges.engine())
    going: list[tuple[Visit, Claim]] = []
    held: list[Held] = []
    for visit in visits:
        claim = claim_for_visit(visit, office, consents.get(visit.patient_id, []))
        if isinstance(claim, list):
            held.append(Held(visit, claim))
            continue
        problems = claim_problems(claim, code_problem=check)
        if problems:
            held.append(Held(visit, [p.words for p in problems]))
        else:
            going.append((visit, claim))
    return going, held


def holds(rows: Sequence[billing.BillingRow]) -> dict[int, list[str]]:
    """For the work list: why each otherwise ready visit would be held from an 837P."""
    ready = [r.visit for r in rows if r.ready]
    if not ready:
        return {}
    _, held = sort_claims(ready, practice.get_practice())
    return {h.visit.id: h.reasons for h in held}


def settings_problems() -> list[Problem]:
    return interchange_problems(*interchange_settings(practice.get_practice()))


# ---- writing a file ----------------------------------------------------------------

def _already_sent(visit_ids: list[int]) -> set[int]:
    if not visit_ids:
        return set()
    return set(db.session.execute(
        db.select(ExportedVisit.visit_id).join(BillingExport, BillingExport.id == ExportedVisit.export_id)
        .where(BillingExport.file_format == FILE_FORMAT, ExportedVisit.visit_id.in_(visit_ids))).scalars())


def export_837p(date_from: date, date_to: date, user_id: int, *, include_sent: bool = False,
                created: datetime | None = None) -> tuple[bytes, BillingExport, list[Held]]:
    """One 837P of the period's claims ready to bill; held claims are returned
    with their reasons. Raises FieldErrors (nothing written) when the settings
    are incomplete, no claim can go, or pyx12 rejects the file."""
    if date_to < date_from:
        raise FieldErrors({"date_to": ["The end is before the start."]})
    office = practice.get_practice()
    settings, provider = interchange_settings(office)
    if problems := interchange_problems(settings, provider):
        raise FieldErrors({"date_from": [p.words for p in problems]})
    rows = billing.worklist(date_from, date_to)
    ready = [r.visit for r in rows if r.ready]
    sent = set() if include_sent else _already_sent([v.id for v in ready])
    going, held = sort_claims([v for v in ready if v.id not in sent], office)
    held = [Held(r.visit, [f.words for f in r.findings]) for r in rows if not r.ready] + held
    if not going:
        raise FieldErrors({"date_from": ["No claim in this period is ready for an 837P."]
                           + [f"Visit {h.visit.id}: {reason}" for h in held for reason in h.reasons]})
    interchange = X12Interchange(claim_count=len(going), content=b"")
    db.session.add(interchange)
    db.session.flush()  # the id is the control number
    text = write_837p((c for _, c in going), settings=settings, billing=provider,
                      control_number=interchange.id, created=created or utcnow())
    result = validate_837p(text)
    if not result.accepted:
        raise FieldErrors({"date_from": ["The 837P did not pass the X12 validator, so it is not "
                                         "offered; tell your administrator."]
                           + list(result.findings[:10])})
    data = text.encode("ascii")
    interchange.content = data
    record = billing._record(user_id, date_from, date_to, FILE_FORMAT, data,
                             [v for v, _ in going])
    interchange.billing_export = record
    db.session.flush()
    audit.record("billing.export_837p", object_type="x12_interchange", object_id=interchange.id,
                 detail=f"claims={len(going)} held={len(held)}")
    return data, record, held


def stored_file(export_id: int) -> tuple[bytes, X12Interchange]:
    """An 837P exactly as it was sent (re-download)."""
    interchange = db.session.execute(
        db.select(X12Interchange).where(X12Interchange.billing_export_id == export_id)
        .options(selectinload(X12Interchange.billing_export).selectinload(BillingExport.visits))
    ).scalar_one_or_none()
    if interchange is None:
        raise NotFound("There is no 837P file with that number.")
    record = interchange.billing_export
    if record is not None and hashlib.sha256(interchange.content).hexdigest() != record.sha256:
        raise NotFound("That 837P file no longer matches its checksum.")
    for exported in record.visits if record else []:
        audit.record("billing.redownload_837p", object_type="visit", object_id=exported.visit_id,
                     detail=f"export={export_id}")
    return interchange.content, interchange


def interchanges_by_export(export_ids: Iterable[int]) -> dict[int, int]:
    """export id -> interchange control number, for the history page."""
    ids = list(export_ids)
    if not ids:
        return {}
    return dict(db.session.execute(
        db.select(X12Interchange.billing_export_id, X12Interchange.id)
        .where(X12Interchange.billing_export_id.in_(ids))).all())
