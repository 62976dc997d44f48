"""What an 837P carries, as plain frozen values. The caller (a service
adapter, a test, a benchmark) builds these; nothing here reads a database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True, slots=True)
class Address:
    line1: str
    city: str
    state: str
    postal_code: str  # 5 or 9 digits; the billing provider's must be 9
    line2: str | None = None


@dataclass(frozen=True, slots=True)
class InterchangeSettings:
    """Who sends to whom: the ISA/GS ids and the 1000A/1000B loops."""

    sender_id: str  # ISA06
    receiver_id: str  # ISA08
    submitter_name: str  # 1000A NM103
    submitter_etin: str  # 1000A NM109: the ETIN the clearinghouse assigned
    contact_name: str  # 1000A PER02
    contact_phone: str  # 1000A PER04, digits only
    receiver_name: str  # 1000B NM103
    receiver_etin: str  # 1000B NM109
    sender_qualifier: str = "ZZ"  # ISA05
    receiver_qualifier: str = "ZZ"  # ISA07
    contact_email: str | None = None
    production: bool = True  # ISA15 P, else T (test)
    application_sender: str | None = None  # GS02, defaults to the sender id
    application_receiver: str | None = None  # GS03, defaults to the receiver id


@dataclass(frozen=True, slots=True)
class BillingProvider:
    """2000A/2010AA: the practice (an organisation) that bills."""

    name: str
    npi: str
    tax_id: str  # EIN, 9 digits (a dash is dropped)
    taxonomy: str | None
    address: Address


@dataclass(frozen=True, slots=True)
class Person:
    family_name: str
    given_name: str
    middle_name: str | None = None
    suffix: str | None = None
    birth_date: date | None = None
    sex: str = "U"  # X12 gender code F | M | U
    address: Address | None = None
    member_id: str | None = None  # subscribers only


@dataclass(frozen=True, slots=True)
class Payer:
    name: str
    payer_id: str  # the electronic payer id (NM109, qualifier PI)


@dataclass(frozen=True, slots=True)
class RenderingProvider:
    family_name: str
    given_name: str
    npi: str
    taxonomy: str | None = None
    middle_name: str | None = None
    suffix: str | None = None


@dataclass(frozen=True, slots=True)
class ServiceLine:
    code: str  # CPT or HCPCS
    charge_cents: int  # the line's charge (all units), SV102
    units: int
    pointers: tuple[int, ...]  # 1-based positions in Claim.diagnoses
    service_date: date
    modifiers: tuple[str, ...] = ()
    place_of_service: str | None = None  # only when it differs from the claim's


@dataclass(frozen=True, slots=True)
class OtherPayer:
    """2320/2330A/2330B: another coverage of the patient (COB)."""

    responsibility: str  # SBR01 of that payer: P S T ...
    payer: Payer
    subscriber: Person
    relationship: str  # SBR02: X12 individual relationship of the patient to that subscriber
    filing_indicator: str  # SBR09
    group_number: str | None = None
    insurance_type: str | None = None  # SBR05, when that payer is Medicare and not primary
    paid_cents: int | None = None  # AMT*D, when that payer has adjudicated the claim
    adjudicated_on: date | None = None


@dataclass(frozen=True, slots=True)
class Claim:
    patient_control_number: str  # CLM01
    payer: Payer
    payer_responsibility: str  # SBR01: P primary, S secondary, T tertiary
    filing_indicator: str  # SBR09: MB Medicare Part B, MC Medicaid, CI commercial ...
    subscriber: Person  # with member_id
    relationship: str  # X12 individual relationship of the patient to the subscriber; 18 self
    place_of_service: str
    diagnoses: tuple[str, ...]  # ICD-10-CM, principal first, with or without the dot
    lines: tuple[ServiceLine, ...]
    total_cents: int
    benefits_assigned: bool  # CLM08 from the signed assignment of benefits
    release_signed: bool  # CLM09: Y when a signed release is on file, else I
    provider_accepts_assignment: bool = True  # CLM07 A, else C
    provider_signature_on_file: bool = True  # CLM06
    patient: Person | None = None  # 2000C, only when the patient is not the subscriber
    frequency_code: str = "1"  # 1 original, 7 replacement, 8 void
    original_reference: str | None = None  # REF*F8: the payer's number for the claim replaced
    group_number: str | None = None
    plan_name: str | None = None
    insurance_type: str | None = None  # SBR05: required for Medicare as a non-primary payer
    rendering: RenderingProvider | None = None  # 2310B when not the billing provider
    other_payers: tuple[OtherPayer, ...] = field(default_factory=tuple)
