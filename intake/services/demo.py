"""Synthetic patients for demos and load tests. Faker only: no real people."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta

import phonenumbers
from faker import Faker

from intake.extensions import db
from intake.models import Payer
from intake.models.coverage import PayerKind
from intake.services import coverages, patients

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
    birth = date.today() - timedelta(days=rng.randint(365, 95 * 365))
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
        "effective_date": date(date.today().year, 1, 1), "end_date": None,
        "copay_cents": rng.choice([0, 1500, 2000, 2500, 4000]) if payer.kind == "commercial" else 0,
        "relationship_code": "self",
    }
    if payer.kind == "commercial" and rng.random() < 0.25:
        data.update(relationship_code=rng.choice(["spouse", "child"]),
                    subscriber_family=fake["en_US"].last_name(),
                    subscriber_given=fake["en_US"].first_name(),
                    subscriber_birth_date=date.today() - timedelta(days=rng.randint(20, 70) * 365))
    return data


def create_demo_patients(count: int, seed: int | None = None) -> Iterator[int]:
    """Register `count` synthetic patients, most with one or two coverages;
    yields each new patient id so callers can show progress."""
    rng = random.Random(seed)
    fake = Faker(NAME_LOCALES)
    if seed is not None:
        fake.seed_instance(seed)
    payers = coverages.active_payers()
    insurers = [p for p in payers if p.kind != PayerKind.SELF_PAY]
    for _ in range(count):
        patient = patients.register_patient(patient_data(fake, rng), confirm_new=True)
        if insurers and rng.random() < 0.9:
            first = rng.choice(insurers)
            coverages.add_coverage(patient, coverage_data(first, fake, rng))
            others = [p for p in insurers if p.id != first.id and p.kind == "commercial"]
            if others and rng.random() < 0.2:
                coverages.add_coverage(patient, coverage_data(rng.choice(others), fake, rng))
        db.session.flush()
        yield patient.id
