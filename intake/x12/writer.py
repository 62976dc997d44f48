"""Write an 837P (005010X222A1) interchange from claims that passed the checks.

One interchange (ISA/IEA) holds one functional group (GS/GE) of one or more
transaction sets (ST/SE), each a batch of at most ``batch_size`` claims (the
implementation guide suggests no more than 5,000 claims per ST). Segments are
built as lists of elements and joined once; every claim is written from its
own values only, so memory stays flat as the batch grows (the caller may pass
a generator).
"""

from __future__ import annotations

import re
from functools import lru_cache
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from itertools import islice

from anyascii import anyascii

from intake.x12.claim import (Address, BillingProvider, Claim, InterchangeSettings, OtherPayer,
                              Person)

ELEMENT, COMPONENT, REPETITION, SEGMENT = "*", ":", "^", "~"
VERSION = "005010X222A1"
BATCH_SIZE = 5000

_UNSAFE = re.compile(r"[*:~^\r\n]+")
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=8192)  # names, cities and payers repeat across a batch
def text(value: str | None, limit: int = 60) -> str:
    """A value as X12 carries it: ASCII, upper case, no separators, trimmed."""
    if not value:
        return ""
    cleaned = _SPACES.sub(" ", _UNSAFE.sub(" ", anyascii(value))).strip().upper()
    return cleaned[:limit].rstrip()


def digits(value: str | None) -> str:
    return re.sub(r"\D", "", value or "")


def amount(cents: int) -> str:
    """X12 decimal: 9000 -> 90, 9050 -> 90.5, 9055 -> 90.55."""
    whole, part = divmod(cents, 100)
    if not part:
        return str(whole)
    return f"{whole}.{part:02d}".rstrip("0")


def d8(day: date) -> str:
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"  # a date or a datetime


def diagnosis_code(code: str) -> str:
    return code.replace(".", "").strip().upper()


def _segment(*elements: str) -> str:
    """One segment; trailing empty elements are dropped (X12 syntax)."""
    parts = list(elements)
    while parts and parts[-1] == "":
        parts.pop()
    return ELEMENT.join(parts) + SEGMENT


def write_837p(claims: Iterable[Claim], *, settings: InterchangeSettings,
               billing: BillingProvider, control_number: int, created: datetime,
               batch_size: int = BATCH_SIZE) -> str:
    """The whole interchange as text (segments end with ``~`` and a newline)."""
    return "".join(iter_837p(claims, settings=settings, billing=billing,
                             control_number=control_number, created=created,
                             batch_size=batch_size))


def iter_837p(claims: Iterable[Claim], *, settings: InterchangeSettings,
              billing: BillingProvider, control_number: int, created: datetime,
              batch_size: int = BATCH_SIZE) -> Iterator[str]:
    """The interchange segment by segment (for writing straight to a file)."""
    if not 0 < control_number < 10**9:
        raise ValueError("the interchange control number is 1 to 999999999")
    isa13 = f"{control_number:09d}"
    yield _isa(settings, isa13, created) + "\n"
    yield _segment("GS", "HC", text(settings.application_sender or settings.sender_id, 15),
                   text(settings.application_receiver or settings.receiver_id, 15),
                   d8(created), created.strftime("%H%M"), str(control_number), "X",
                   VERSION) + "\n"
    sets = 0
    claims = iter(claims)
    while batch := list(islice(claims, batch_size)):
        sets += 1
        st02 = f"{sets:04d}"
        count = 0
        for seg in _transaction(batch, settings, billing, st02, f"{control_number}{st02}",
                                created):
            count += 1
            yield seg + "\n"
        yield _segment("SE", str(count + 1), st02) + "\n"
    if not sets:
        raise ValueError("an interchange needs at least one claim")
    yield _segment("GE", str(sets), str(control_number)) + "\n"
    yield _segment("IEA", "1", isa13) + "\n"


def _isa(settings: InterchangeSettings, isa13: str, created: datetime) -> str:
    # Fixed width: every ISA element is padded to its exact length.
    fields = ["ISA", "00", " " * 10, "00", " " * 10,
              settings.sender_qualifier.ljust(2)[:2], text(settings.sender_id, 15).ljust(15),
              settings.receiver_qualifier.ljust(2)[:2], text(settings.receiver_id, 15).ljust(15),
              created.strftime("%y%m%d"), created.strftime("%H%M"), REPETITION, "00501", isa13,
              "0", "P" if settings.production else "T", COMPONENT]
    return ELEMENT.join(fields) + SEGMENT


def _transaction(batch: list[Claim], settings: InterchangeSettings, billing: BillingProvider,
                 st02: str, reference: str, created: datetime) -> Iterator[str]:
    yield _segment("ST", "837", st02, VERSION)
    yield _segment("BHT", "0019", "00", reference, d8(created), created.strftime("%H%M"), "CH")
    # 1000A submitter, 1000B receiver
    yield _segment("NM1", "41", "2", text(settings.submitter_name), "", "", "", "", "46",
                   text(settings.submitter_etin, 80))
    contact = ["PER", "IC", text(settings.contact_name), "TE", digits(settings.contact_phone)]
    if settings.contact_email:
        contact += ["EM", _UNSAFE.sub("", settings.contact_email.strip())[:256]]
    yield _segment(*contact)
    yield _segment("NM1", "40", "2", text(settings.receiver_name), "", "", "", "", "46",
                   text(settings.receiver_etin, 80))
    # 2000A billing provider
    yield _segment("HL", "1", "", "20", "1")
    if billing.taxonomy:
        yield _segment("PRV", "BI", "PXC", text(billing.taxonomy, 50))
    yield _segment("NM1", "85", "2", text(billing.name), "", "", "", "", "XX", billing.npi)
    yield from _address(billing.address)
    yield _segment("REF", "EI", digits(billing.tax_id))
    hl = 1
    for claim in batch:
        hl += 1
        subscriber_hl = hl
        dependent = claim.patient is not None
        yield _segment("HL", str(subscriber_hl), "1", "22", "1" if dependent else "0")
        yield _segment("SBR", claim.payer_responsibility, "" if dependent else "18",
                       text(claim.group_number, 50),
                       "" if claim.group_number else text(claim.plan_name),
                       claim.insurance_type or "", "", "", "", claim.filing_indicator)
        yield from _subscriber(claim.subscriber, with_demographics=not dependent)
        yield _segment("NM1", "PR", "2", text(claim.payer.name), "", "", "", "", "PI",
                       text(claim.payer.payer_id, 80))
        if dependent:
            hl += 1
            yield _segment("HL", str(hl), str(subscriber_hl), "23", "0")
            yield _segment("PAT", claim.relationship)
            yield from _name("QC", claim.patient)
            yield from _address(claim.patient.address)
            yield from _demographics(claim.patient)
        yield from _claim(claim, billing)


def _name(entity: str, person: Person, id_qualifier: str = "", id_value: str = "") -> Iterator[str]:
    yield _segment("NM1", entity, "1", text(person.family_name), text(person.given_name, 35),
                   text(person.middle_name, 25), "", text(person.suffix, 10),
                   id_qualifier, text(id_value, 80))


def _address(address: Address | None) -> Iterator[str]:
    if address is None:
        return
    yield _segment("N3", text(address.line1, 55), text(address.line2, 55))
    yield _segment("N4", text(address.city, 30), text(address.state, 2), digits(address.postal_code))


def _demographics(person: Person) -> Iterator[str]:
    if person.birth_date:
        yield _segment("DMG", "D8", d8(person.birth_date), person.sex or "U")


def _subscriber(person: Person, *, with_demographics: bool) -> Iterator[str]:
    yield from _name("IL", person, "MI", person.member_id or "")
    # The subscriber's address and demographics go only when the subscriber is the patient.
    if with_demographics:
        yield from _address(person.address)
        yield from _demographics(person)


def _claim(claim: Claim, billing: BillingProvider) -> Iterator[str]:
    # CLM01 is unique per claim: not worth a cache entry.
    yield _segment("CLM", text.__wrapped__(claim.patient_control_number, 20), amount(claim.total_cents), "", "",
                   COMPONENT.join((claim.place_of_service, "B", claim.frequency_code)),
                   "Y" if claim.provider_signature_on_file else "N",
                   "A" if claim.provider_accepts_assignment else "C",
                   "Y" if claim.benefits_assigned else "N",
                   "Y" if claim.release_signed else "I")
    if claim.frequency_code in ("7", "8") and claim.original_reference:
        yield _segment("REF", "F8", text(claim.original_reference, 50))
    codes = [diagnosis_code(c) for c in claim.diagnoses[:12]]
    yield _segment("HI", *(f"{'ABK' if i == 0 else 'ABF'}{COMPONENT}{c}" for i, c in enumerate(codes)))
    rendering = claim.rendering
    if rendering is not None and rendering.npi != billing.npi:
        yield _segment("NM1", "82", "1", text(rendering.family_name), text(rendering.given_name, 35),
                       text(rendering.middle_name, 25), "", text(rendering.suffix, 10), "XX",
                       rendering.npi)
        if rendering.taxonomy:
            yield _segment("PRV", "PE", "PXC", text(rendering.taxonomy, 50))
    for other in claim.other_payers:
        yield from _other_payer(other, claim)
    for number, line in enumerate(claim.lines, start=1):
        yield _segment("LX", str(number))
        procedure = COMPONENT.join(("HC", line.code.strip().upper(),
                                    *(m.strip().upper() for m in line.modifiers)))
        pos = line.place_of_service if line.place_of_service not in (None, claim.place_of_service) else ""
        yield _segment("SV1", procedure, amount(line.charge_cents), "UN",
                       str(line.units), pos, "", COMPONENT.join(str(p) for p in line.pointers[:4]))
        yield _segment("DTP", "472", "D8", d8(line.service_date))


def _other_payer(other: OtherPayer, claim: Claim) -> Iterator[str]:
    yield _segment("SBR", other.responsibility, other.relationship, text(other.group_number, 50),
                   "", other.insurance_type or "", "", "", "", other.filing_indicator)
    if other.paid_cents is not None:
        yield _segment("AMT", "D", amount(other.paid_cents))
    yield _segment("OI", "", "", "Y" if claim.benefits_assigned else "N", "", "",
                   "Y" if claim.release_signed else "I")
    yield from _name("IL", other.subscriber, "MI", other.subscriber.member_id or "")
    yield _segment("NM1", "PR", "2", text(other.payer.name), "", "", "", "", "PI",
                   text(other.payer.payer_id, 80))
    if other.paid_cents is not None and other.adjudicated_on is not None:
        yield _segment("DTP", "573", "D8", d8(other.adjudicated_on))
