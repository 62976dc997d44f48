"""Synthetic patients for demos and load tests. Faker only: no real people."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any
from datetime import date, datetime, time, timedelta, timezone

import phonenumbers
from faker import Faker

from intake import vocab
from intake.extensions import db
from intake.models import Payer
from intake.models.coverage import PayerKind
from intake.services import clock, coverages, patients


NAME_LOCALES = ["en_US", "es_MX", "pl_PL", "nl_NL", "fr_FR", "ro_RO", "id_ID"]
LANGUAGE_OF = {"en_US": "en", "es_MX": "es", "pl_PL": "pl", "nl_NL": "nl", "fr_FR": "fr",
               "ro_RO": "ro", "id_ID": "id"}
AREA_CODES = ["212", "312", "415", "617", "713", "206", "303", "404", "503", "602", "720", "773"]
_MBI_LETTERS = "ACDEFGHJKMNPQRTUVWXY"
_MBI_ALNUM = _MBI_LETTERS + "0123456789"


def synthetic_phone(rng: random.Random) -> str:
    while True:
        number = f"+1{rng.choice(AREA_CODES)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
        if phonenumbers.is_valid_number(phonenumbers.parse(number)):
            return number


def synthetic_mbi(rng: random.Random) -> str:
    pick = rng.choice
    return (str(rng.randint(1, 9)) + pick(_MBI_LETTERS) + pick(_MBI_ALNUM) + str(rng.randint(0, 9))
            + pick(_MBI_LETTERS) + pick(_MBI_ALNUM) + str(rng.randint(0, 9))
            + pick(_MBI_LETTERS) + pick(_MBI_LETTERS) + f"{rng.randint(0, 99):02d}")


def patient_data(fake: Faker, rng: random.Random) -> dict:
    locale = rng.choice(NAME_LOCALES)
    local = fake[locale]
    us = fake["en_US"]
    sex = rng.choice(["female", "male"])
    given = local.first_name_female() if sex == "female" else local.first_name_male()
    birth = clock.today() - timedelta(days=rng.randint(365, 95 * 365))
    return {
        "family_name": local.last_name(), "given_name": given, "birth_date": birth,
        "sex": sex, "address_line1": us.street_address(), "city": us.city(),
        "state": us.state_abbr(include_territories=False), "postal_code": us.postcode(),
        "phone_mobile": synthetic_phone(rng),
        "phone_home": synthetic_phone(rng) if rng.random() < 0.3 else None,
        "email": us.email() if rng.random() < 0.6 else None,
        "preferred_language": LANGUAGE_OF[locale] if rng.random() < 0.7 else "en",
        "races": [rng.choice(["1002-5", "2028-9", "2054-5", "2076-8", "2106-3"])],
        "ethnicity": rng.choice(["2135-2", "2186-5", "ASKU"]),
        "marital_status": rng.choice(["S", "M", "D", "W"]),
        "emergency_name": f"{us.first_name()} {us.last_name()}",
        "emergency_relationship": rng.choice(["Spouse", "Parent", "Sibling", "Friend"]),
        "emergency_phone": synthetic_phone(rng),
    }


def coverage_data(payer: Payer, fake: Faker, rng: random.Random) -> dict:
    member = (synthetic_mbi(rng) if payer.kind == PayerKind.MEDICARE
              else None if payer.kind == PayerKind.SELF_PAY
              else fake["en_US"].bothify("???#########").upper())
    data = {
        "payer_id": payer.id, "member_id": member,
        "group_number": fake["en_US"].bothify("GRP-#####") if payer.kind == "commercial" else None,
        "plan_name": "PPO" if payer.kind == "commercial" else None,
        # In force since before the demo visits (CODED_DAY), so their claims have a payer.
        "effective_date": date(CODED_DAY.year, 1, 1), "end_date": None,
        "copay_cents": rng.choice([0, 1500, 2000, 2500, 4000]) if payer.kind == "commercial" else 0,
        "relationship_code": "self",
    }
    if payer.kind == "commercial" and rng.random() < 0.25:
        data.update(relationship_code=rng.choice(["spouse", "child"]),
                    subscriber_family=fake["en_US"].last_name(),
                    subscriber_given=fake["en_US"].first_name(),
                    subscriber_birth_date=clock.today() - timedelta(days=rng.randint(20, 70) * 365))
    return data


DEMO_PROVIDERS = [("Hartley", "Jane", "MD", "1234567893"), ("Okoye", "Daniel", "DO", "1003000126")]
DEMO_FEES = [("99213", 12000, "Office visit, established, low"),
             ("99214", 17500, "Office visit, established, moderate"),
             ("G0008", 3500, "Flu vaccine administration"), ("36415", 1500, "Venipuncture")]
DEMO_DIAGNOSES = ["E11.9", "I10", "E78.5", "J06.9", "M54.50", "Z00.00", "K21.9"]
# Inside every bundled code table (ICD-10-CM FY2026, HCPCS 2026), so the
# demo's past visits carry checked codes; today's visits wait on the board.
CODED_DAY = date(2026, 3, 16)
# Past visits fall on the weekdays of this stretch (inside the same tables).
CODED_FROM, CODED_TO = date(2026, 1, 5), date(2026, 3, 27)


def coded_day(rng: random.Random) -> date:
    """A weekday between CODED_FROM and CODED_TO: history spread over weeks."""
    while True:
        day = CODED_FROM + timedelta(days=rng.randint(0, (CODED_TO - CODED_FROM).days))
        if day.weekday() < 5:
            return day


def ensure_practice() -> list[int]:
    """A demo practice, providers and fees when the office has none yet."""
    from intake.services import practice

    office = practice.get_practice()
    if not office.name:
        practice.save_practice({"name": "Lakeside Family Medicine (demo)", "npi": "1245319599",
                                "tax_id": "12-3456789", "default_pos": "11",
                                "address_line1": "100 Lake St", "city": "Springfield",
                                "state": "IL", "postal_code": "62701-1234",
                                # 837P submission, test mode (ISA15 T): made-up ids.
                                "taxonomy": "207Q00000X", "accepts_assignment": True,
                                "submitter_etin": "DEMO0001", "billing_contact_name": "Billing Office",
                                "billing_contact_phone": "+12175550100",
                                "receiver_name": "Demo Clearinghouse", "receiver_etin": "DEMOCH01",
                                "x12_sender_id": "DEMOSENDER", "x12_receiver_id": "DEMOCH01",
                                "x12_sender_qualifier": "ZZ", "x12_receiver_qualifier": "ZZ",
                                "x12_test_mode": True})
    ids = [p.id for p in practice.list_providers(active_only=True)]
    if not ids:
        ids = [practice.save_provider(None, {"family_name": f, "given_name": g, "credentials": c,
                                             "npi": n, "active": True}).id
               for f, g, c, n in DEMO_PROVIDERS]
    for code, cents, label in DEMO_FEES:
        if practice.fee_for(code) is None:
            practice.save_fee(code, cents, label)
    return ids


def demo_visits(patient_id: int, provider_ids: list[int], staff_id: int | list[int] | None,
                rng: random.Random) -> None:
    """A coded, locked past visit with a copay, and for some a visit today."""
    from intake.models import Patient
    from intake.services import charges, payments, visits

    patient = db.session.get(Patient, patient_id)
    day = coded_day(rng)
    past = visits.create_visit(patient, {"provider_id": rng.choice(provider_ids),
                                         "date_of_service": day, "place_of_service": "11",
                                         "reason": "Follow-up"})
    start = datetime.combine(day, time(8, 30), clock.practice_zone()) + timedelta(
        minutes=rng.randrange(0, 8 * 60, 5))
    steps = [rng.randint(0, 10), rng.randint(3, 25), rng.randint(10, 40)]
    times = dict(zip(("arrived", "checked_in", "with_provider", "checked_out"),
                     (start + timedelta(minutes=sum(steps[:i])) for i in range(4)), strict=False))
    visits.record_past_day(past, times, note="demo history")
    for code in rng.sample(DEMO_DIAGNOSES, rng.randint(1, 3)):
        charges.add_diagnosis(past, code)
    charges.save_line(past, {"code": rng.choice(["99213", "99214"]), "pointers": [1], "units": 1})
    if rng.random() < 0.3:
        charges.save_line(past, {"code": "G0008", "pointers": [1], "units": 1})
    charges.lock(past)
    staff = staff_id if isinstance(staff_id, list) else [staff_id] if staff_id else []
    copay = next((c.copay_cents for c in patient.coverages if c.is_active and c.copay_cents), None)
    if staff and copay and rng.random() < 0.85:
        paid = payments.record_payment(
            patient, {"kind": "copay", "method": rng.choice(["cash", "card", "card"]),
                      "amount_cents": copay},
            visit=past, received_by_id=rng.choice(staff))
        # Taken at check-in that day, not stamped with the moment the demo ran.
        paid.received_at = times["checked_in"].astimezone(timezone.utc)
    if rng.random() < 0.2:
        visits.create_visit(patient, {"provider_id": rng.choice(provider_ids),
                                      "date_of_service": clock.today(), "place_of_service": "11",
                                      "reason": rng.choice(["Annual visit", "Cough", "Follow-up"])})


def age(birth: date) -> int:
    today = clock.today()
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def payers_for_age(insurers: list[Payer], years: int, rng: random.Random) -> list[Payer]:
    """Plans a person of that age would hold: Medicare from 65 (most people
    then), never for a 29-year-old; commercial or Medicaid otherwise."""
    medicare = [p for p in insurers if p.kind == PayerKind.MEDICARE]
    others = [p for p in insurers if p.kind != PayerKind.MEDICARE]
    if years >= 65 and medicare and rng.random() < 0.85:
        return medicare
    return others


def create_demo_patients(count: int, seed: int | None = None,
                         staff_id: int | list[int] | None = None) -> Iterator[int]:
    """Register `count` synthetic patients, most with one or two coverages;
    yields each new patient id so callers can show progress."""
    rng = random.Random(seed)
    fake = Faker(NAME_LOCALES)
    if seed is not None:
        fake.seed_instance(seed)
    payers = coverages.active_payers()
    insurers = [p for p in payers if p.kind != PayerKind.SELF_PAY]
    provider_ids = ensure_practice()
    for _ in range(count):
        patient = patients.register_patient(patient_data(fake, rng), confirm_new=True)
        fitting = payers_for_age(insurers, age(patient.birth_date), rng)
        if fitting and rng.random() < 0.9:
            first = rng.choice(fitting)
            coverages.add_coverage(patient, coverage_data(first, fake, rng))
            others = [p for p in insurers if p.id != first.id and p.kind == "commercial"]
            if others and rng.random() < 0.2:
                coverages.add_coverage(patient, coverage_data(rng.choice(others), fake, rng))
        if provider_ids and patient.coverages and rng.random() < 0.5:
            demo_visits(patient.id, provider_ids, staff_id, rng)
        db.session.flush()
        yield patient.id


def create_demo_kiosk_submissions(count: int, seed: int | None = None) -> int:
    """Pending kiosk submissions from a demo tablet, as if patients had used
    it: typed signatures, one insurance each. They wait in the review queue."""
    from intake.services import kiosk

    rng = random.Random(seed)
    fake = Faker(NAME_LOCALES)
    if seed is not None:
        fake.seed_instance(seed + 1)
    device = _demo_device()
    insurers = [p for p in coverages.active_payers() if p.kind == PayerKind.COMMERCIAL]
    for _ in range(count):
        data = patient_data(fake, rng)
        draft, _ = kiosk.start_draft(device, data["preferred_language"])
        name = f"{data['given_name']} {data['family_name']}"
        kiosk.sign_consents(draft, name, "self", {k: name for k in vocab.CONSENT_KINDS}, {})
        payer = rng.choice(insurers)
        cov = coverage_data(payer, fake, rng)
        insurance = [{"slot": "primary", **{k: v for k, v in cov.items()
                                            if k not in ("effective_date", "end_date", "copay_cents")}}]
        kiosk.submit(draft, data, insurance)
    return count


def _demo_device() -> Any:
    from intake.models import KioskDevice
    from intake.services import kiosk

    device = db.session.execute(db.select(KioskDevice).filter_by(name="Demo tablet")
                                .where(KioskDevice.revoked_at.is_(None))).scalars().first()
    if device is None:
        device, _ = kiosk.create_device("Demo tablet")
    return device


def demo_kiosk_code() -> str:
    """A fresh one-time enrollment code for the demo tablet, to try the kiosk."""
    from intake.services import kiosk

    return kiosk.issue_code(_demo_device())
