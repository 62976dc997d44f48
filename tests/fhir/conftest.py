"""FHIR test fixtures: the emitted-resource corpus and ONE @medplum/core run
per session over all of it (positives and the negatives that prove the
validators catch things)."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest

from intake.fhir import mappers as M
from intake.fhir.bundle import visit_bundle
from intake.services.claims import freeze
from tests.fhir import r4_validators
from tests.fhir.fhir_samples import world


SIGNATURE_PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                              "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def corpus() -> dict[str, dict[str, Any]]:
    """Every kind of resource the mappers emit, with the variants that change shape."""
    w = world()
    medicare, aetna = w.payers
    docs: dict[str, dict[str, Any]] = {
        "patient": M.patient_resource(w.patient),
        "organization-practice": M.practice_organization_resource(w.practice),
        "organization-payer": M.payer_organization_resource(aetna),
        "practitioner": M.practitioner_resource(w.provider),
        "coverage-medicare-self": M.coverage_resource(w.coverages[0], medicare),
        "coverage-commercial-spouse": M.coverage_resource(w.coverages[1], aetna),
        "coverage-ended": M.coverage_resource(w.ended, aetna),
        "related-person": M.related_person_resource(w.coverages[1]),
        "encounter": M.encounter_resource(w.visit),
        "claim": M.claim_resource(w.claim),
        "bundle": visit_bundle(w.visit, practice=w.practice, findings=[], coverages=w.coverages,
                               claim=w.claim, consents=w.consents),
    }
    correction = freeze(w.visit, w.patient.coverages, version=2, billed_at=w.claim.billed_at)
    correction.replaces_id = 1
    docs["claim-replacement"] = M.claim_resource(correction)
    for d in w.diagnoses:
        docs[f"condition-{d.code}"] = M.condition_resource(d, w.visit)
    for c in w.consents:
        docs[f"consent-{c.kind}"] = M.consent_resource(c)
    for state in ("scheduled", "arrived", "checked_in", "with_provider", "cancelled", "no_show"):
        v = world(state=state, arrived_at=None, checked_in_at=None, checked_out_at=None).visit
        docs[f"encounter-{state}"] = M.encounter_resource(v)
    docs.update(schedule_corpus(w))
    sparse = world().patient
    for attr in ("middle_name", "suffix", "preferred_name", "gender_identity", "address_line1",
                 "address_line2", "city", "state", "postal_code", "phone_mobile", "phone_home", "email",
                 "ethnicity", "marital_status", "emergency_name", "emergency_relationship",
                 "emergency_phone", "updated_at"):
        setattr(sparse, attr, None)
    sparse.races, sparse.sex, sparse.birth_date = ["ASKU"], "unknown", date(2001, 1, 2)
    docs["patient-sparse"] = M.patient_resource(sparse)
    selfpay = world().coverages[0]
    selfpay.member_id = None
    from intake.models import Payer
    docs["coverage-self-pay"] = M.coverage_resource(selfpay, Payer(id=8, name="Self-pay", payer_code="SELFPAY",
                                                                   kind="self_pay", active=True))
    for kind in ("financial", "communication"):
        consent = world().consents[0]
        consent.kind = kind
        consent.choices = {"sms": False, "email": True, "voicemail": False} if kind == "communication" else None
        docs[f"consent-{kind}"] = M.consent_resource(consent)
    guardian = world().consents[0]
    guardian.signer_relationship, guardian.signer_name = "guardian", "Maria Nowak"
    guardian.signature_method, guardian.signature_png = "drawn", SIGNATURE_PNG
    docs["consent-guardian-drawn"] = M.consent_resource(guardian)
    return docs


def schedule_corpus(w: Any) -> dict[str, dict[str, Any]]:
    """Schedule, Slot and Appointment in each status the desk produces."""
    from datetime import datetime, timezone

    from intake.fhir import schedule as F
    from intake.models import Appointment, AppointmentType, Visit

    kind = AppointmentType(id=3, name="Follow-up", minutes=20)
    start = datetime(2026, 3, 9, 14, 40, tzinfo=timezone.utc)

    def appt(status: str, **extra: Any) -> Any:
        return Appointment(id=500, patient_id=42, provider_id=7, type=kind, type_id=3,
                           start_at=start, minutes=20, status=status, reason="Blood pressure",
                           created_at=start, updated_at=start, **extra)

    docs = {"schedule": F.schedule_resource(w.provider, [kind]),
            "slot": F.slot_resource(appt("booked")),
            "appointment-booked": F.appointment_resource(appt("booked", note="Bring the log")),
            "appointment-cancelled": F.appointment_resource(appt("cancelled",
                                                                 cancel_reason="Feeling better")),
            "appointment-noshow": F.appointment_resource(appt("no_show")),
            "appointment-walk-in": F.appointment_resource(appt("booked",
                                                               overbooked_reason="Walk-in"))}
    for state in ("arrived", "checked_in", "checked_out"):
        docs[f"appointment-{state}"] = F.appointment_resource(
            appt("arrived", visit=Visit(id=900, state=state)))
    return docs


def negatives() -> dict[str, dict[str, Any]]:
    """Broken resources each validator must catch (what fhir.resources lets through)."""
    docs = corpus()
    banana = copy.deepcopy(docs["patient"])
    banana["gender"] = "banana"
    empty_insurance = copy.deepcopy(docs["claim"])
    empty_insurance["insurance"] = []
    no_insurance = copy.deepcopy(docs["claim"])
    del no_insurance["insurance"]
    no_payor = copy.deepcopy(docs["coverage-medicare-self"])
    del no_payor["payor"]
    bad_date = copy.deepcopy(docs["patient"])
    bad_date["birthDate"] = "14/03/1955"
    return {"gender-banana": banana, "claim-empty-insurance": empty_insurance,
            "claim-no-insurance": no_insurance, "coverage-no-payor": no_payor,
            "patient-bad-date": bad_date}


@pytest.fixture(scope="session")
def medplum() -> dict[str, list[dict[str, Any]]]:
    """@medplum/core issues by corpus/negative name: one node run for the session."""
    r4_validators.ensure_installed()
    docs = {**corpus(), **{f"negative:{k}": v for k, v in negatives().items()}}
    names = list(docs)
    return dict(zip(names, r4_validators.medplum_results([docs[n] for n in names]), strict=False))
