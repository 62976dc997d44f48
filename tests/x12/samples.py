"""Synthetic 837P inputs (no real person): one function per case the tests write."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from intake.x12 import (Address, BillingProvider, Claim, InterchangeSettings, OtherPayer, Payer,
                        Person, RenderingProvider, ServiceLine)

DOS = date(2025, 11, 14)
CREATED = datetime(2025, 11, 20, 9, 30)
VALID_NPI = "1234567893"
OTHER_NPI = "1245319599"

SETTINGS = InterchangeSettings(
    sender_id="LAKESIDE01", receiver_id="CLEARHOUSE", submitter_name="Lakeside Family Medicine",
    submitter_etin="ETIN12345", contact_name="Billing Office", contact_phone="(217) 555-0100",
    receiver_name="Example Clearinghouse", receiver_etin="CLRH0001",
    contact_email="billing@example.com")

BILLING = BillingProvider(
    name="Lakeside Family Medicine", npi=OTHER_NPI, tax_id="12-3456789", taxonomy="207Q00000X",
    address=Address("100 Main Street", "Springfield", "IL", "627041234", line2="Suite 2"))

RENDERING = RenderingProvider("Hartley", "Jane", VALID_NPI, taxonomy="207Q00000X")

SUBSCRIBER = Person("Wójcik", "Łukasz", birth_date=date(1980, 3, 14), sex="M",
                    address=Address("12 Elm Street", "Springfield", "IL", "62704"),
                    member_id="XYZ123456789")

PAYER = Payer("Blue Prairie Health", "BPH01")


def line(code: str = "99213", cents: int = 9000, units: int = 1, pointers=(1,), modifiers=()) -> ServiceLine:
    return ServiceLine(code=code, charge_cents=cents * units, units=units, pointers=tuple(pointers),
                       service_date=DOS, modifiers=tuple(modifiers))


def single_claim(pcn: str = "V000001") -> Claim:
    lines = (line(), line("81002", 1500, pointers=(1, 2)))
    return Claim(patient_control_number=pcn, payer=PAYER, payer_responsibility="P",
                 filing_indicator="CI", subscriber=SUBSCRIBER, relationship="18",
                 place_of_service="11", diagnoses=("E11.9", "I10"), lines=lines,
                 total_cents=sum(x.charge_cents for x in lines), benefits_assigned=True,
                 release_signed=True, group_number="G-100", rendering=RENDERING)


def dependent_claim() -> Claim:
    child = Person("Wójcik", "Zofia", birth_date=date(2015, 6, 2), sex="F",
                   address=Address("12 Elm Street", "Springfield", "IL", "62704"))
    parent = replace(SUBSCRIBER, address=None)
    return replace(single_claim("V000002"), subscriber=parent, patient=child, relationship="19",
                   benefits_assigned=False, release_signed=False)


def medicare_secondary_claim() -> Claim:
    """Medicare pays second (working aged): SBR05 12, the primary in 2320 with what it paid."""
    medicare = Payer("Medicare Part B", "MCRB1")
    mbi = replace(SUBSCRIBER, member_id="1EG4TE5MK73", birth_date=date(1955, 1, 9))
    primary = OtherPayer(responsibility="P", payer=PAYER, subscriber=replace(mbi, member_id="XYZ123456789"),
                         relationship="18", filing_indicator="CI", group_number="G-100",
                         paid_cents=6000, adjudicated_on=date(2025, 11, 30))
    return replace(single_claim("V000003"), payer=medicare, subscriber=mbi, payer_responsibility="S",
                   filing_indicator="MB", insurance_type="12", group_number=None,
                   other_payers=(primary,))


def replacement_claim() -> Claim:
    return replace(single_claim("V000004"), frequency_code="7", original_reference="PAYER-ICN-778899")


def twelve_diagnoses_claim() -> Claim:
    codes = ("E11.9", "I10", "J45.909", "E78.5", "M54.50", "K21.9", "F41.1", "G47.00",
             "N39.0", "R51.9", "Z00.00", "E66.9")
    lines = (line(pointers=(1, 2, 3, 4)), line("93000", 4000, pointers=(12, 11)))
    return replace(single_claim("V000005"), diagnoses=codes, lines=lines,
                   total_cents=sum(x.charge_cents for x in lines))


def four_modifiers_claim() -> Claim:
    lines = (line("97110", 3500, units=3, modifiers=("GP", "59", "KX", "GO")),)
    return replace(single_claim("V000006"), lines=lines, total_cents=lines[0].charge_cents)
