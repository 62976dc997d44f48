"""A synthetic visit built from model objects in memory (no database): fixed
ids and timestamps, so mapped resources and the golden bundle are stable.
Invented people only; the NPIs are Luhn-valid test numbers, the MBI is the
CMS format example."""

from __future__ import annotations

from datetime import date, datetime, timezone
from types import SimpleNamespace

from intake.models import ChargeLine, Coverage, Patient, Payer, Practice, Provider, Visit, VisitDiagnosis
from intake.models.kiosk import SignedConsent
from intake.services.claims import freeze
from tests.conftest import FY2026_DAY, VALID_NPI

PRACTICE_NPI = "1245319599"  # Luhn-valid over 80840, invented
STAMP = datetime(2026, 3, 16, 15, 30, tzinfo=timezone.utc)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 16, hour, minute, tzinfo=timezone.utc)


def world(**visit_overrides: object) -> SimpleNamespace:
    """practice, provider, payers, patient (2 active coverages + 1 ended),
    a checked-out visit with 3 diagnoses and 2 locked lines, 2 consents, and
    its billed claim (frozen in memory)."""
    practice = Practice(id=1, name="Maple Street Family Medicine", address_line1="400 Maple Street",
                        city="Springfield", state="IL", postal_code="62701", phone="+12175550100",
                        npi=PRACTICE_NPI, tax_id="123456789", default_pos="11", updated_at=STAMP)
    provider = Provider(id=7, family_name="Hartley", given_name="Jane", credentials="MD", npi=VALID_NPI,
                        taxonomy="207Q00000X", active=True, updated_at=STAMP)
    medicare = Payer(id=1, name="Medicare Part B", payer_code="MCRB", kind="medicare", active=True)
    aetna = Payer(id=3, name="Aetna", payer_code="60054", kind="commercial", active=True)
    patient = Patient(
        id=42, mrn="4815162342", family_name="Wójcik", given_name="Łukasz", middle_name="Jan",
        suffix="Jr", preferred_name="Luke", family_norm="wojcik", given_norm="lukasz",
        birth_date=date(1955, 3, 14), sex="male", gender_identity="446151000124109",
        address_line1="12 Elm Street", address_line2="Apt 3", city="Springfield", state="IL",
        postal_code="62704", phone_mobile="+12175550143", phone_home="+12175550188",
        email="luke@example.com", preferred_language="pl", races=["2106-3", "2028-9"],
        ethnicity="2186-5", marital_status="M", emergency_name="Anna Wójcik",
        emergency_relationship="Spouse", emergency_phone="+12175550144", updated_at=STAMP)
    primary = Coverage(id=100, patient=patient, patient_id=42, payer=medicare, payer_id=1, rank=1,
                       status="active", member_id="1EG4TE5MK73", effective_date=date(2020, 3, 1),
                       copay_cents=0, relationship_code="self", updated_at=STAMP)
    secondary = Coverage(id=101, patient=patient, patient_id=42, payer=aetna, payer_id=3, rank=2,
                         status="active", member_id="W123456789", group_number="GRP-55501",
                         plan_name="PPO", effective_date=date(2025, 1, 1), copay_cents=2500,
                         relationship_code="spouse", subscriber_family="Wójcik", subscriber_given="Anna",
                         subscriber_birth_date=date(1958, 7, 2), updated_at=STAMP)
    ended = Coverage(id=99, patient=patient, patient_id=42, payer=aetna, payer_id=3, rank=None,
                     status="ended", member_id="OLD000001", effective_date=date(2019, 1, 1),
                     end_date=date(2019, 12, 31), relationship_code="self", updated_at=STAMP)
    patient.coverages = [ended, primary, secondary]
    fields = dict(id=500, patient=patient, patient_id=42, provider=provider, provider_id=7,
                  date_of_service=FY2026_DAY, place_of_service="11", reason="Diabetes follow-up",
                  state="checked_out", arrived_at=at(14, 2), checked_in_at=at(14, 5),
                  roomed_at=at(14, 20), checked_out_at=at(15, 1), charges_locked_at=at(15, 20),
                  updated_at=STAMP)
    fields.update(visit_overrides)
    visit = Visit(**fields)
    dx = [VisitDiagnosis(id=900 + n, visit_id=500, sequence=n, code=code, display=display)
          for n, (code, display) in enumerate([
              ("E11.9", "Type 2 diabetes mellitus without complications"),
              ("I10", "Essential (primary) hypertension"),
              ("E78.5", "Hyperlipidemia, unspecified")], start=1)]
    visit.diagnoses = dx
    lines = [
        ChargeLine(id=1, visit_id=500, line_no=1, code="99214", system="cpt", verified=False, display="",
                   modifier1="25", units=1, unit_price_cents=16500,
                   pointer1=dx[0], pointer1_id=dx[0].id, pointer2=dx[1], pointer2_id=dx[1].id,
                   pointer3=dx[2], pointer3_id=dx[2].id),
        ChargeLine(id=2, visit_id=500, line_no=2, code="G0008", system="hcpcs", verified=True,
                   display="Admin influenza virus vac", units=1, unit_price_cents=3000,
                   pointer1=dx[1], pointer1_id=dx[1].id),
    ]
    visit.lines = lines
    consents = [
        SignedConsent(id=3, patient_id=42, kind="treatment", text_version="2025-01", language="pl",
                      title="Consent to treatment", text="I consent to treatment.", text_sha256="0" * 64,
                      signer_name="Łukasz Wójcik", signer_relationship="self", signature_method="drawn",
                      signed_at=at(14, 3)),
        SignedConsent(id=4, patient_id=42, kind="privacy", text_version="2025-01", language="pl",
                      title="Notice of privacy practices", text="I received the notice.",
                      text_sha256="1" * 64, signer_name="Anna Wójcik", signer_relationship="spouse",
                      signature_method="typed", signed_at=at(14, 4)),
    ]
    claim = freeze(visit, patient.coverages, billed_at=at(15, 20))
    return SimpleNamespace(practice=practice, provider=provider, payers=[medicare, aetna],
                           patient=patient, coverages=[primary, secondary], ended=ended,
                           visit=visit, diagnoses=dx, lines=lines, consents=consents, claim=claim)
