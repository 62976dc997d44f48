"""What stops a claim from being written, in a billing clerk's words.

A claim with any problem is held and the rest of the batch goes; nothing is
written half. ``code_problem`` lets the caller check codes against the tables
in force on the date of service (the package itself loads no tables).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from intake.normalize import is_valid_npi
from intake.x12.claim import Address, BillingProvider, Claim, InterchangeSettings
from intake.x12.writer import digits, text

#: (kind, code, date of service) -> None when valid, else the reason; kind is
#: "diagnosis", "procedure" or "modifier".
CodeCheck = Callable[[str, str, date], "str | None"]

MAX_DIAGNOSES, MAX_LINES, MAX_MODIFIERS, MAX_POINTERS = 12, 50, 4, 4
RELATIONSHIPS = {"01", "18", "19", "20", "21", "39", "40", "53", "G8"}
RESPONSIBILITY = {"P": "primary", "S": "secondary", "T": "tertiary", "A": "payer 4",
                  "B": "payer 5", "C": "payer 6", "D": "payer 7", "E": "payer 8",
                  "F": "payer 9", "G": "payer 10", "H": "payer 11", "U": "unknown"}
MEDICARE_FILING = {"MA", "MB"}
# SBR05 when Medicare is not the primary payer (X12 insurance type codes).
MEDICARE_SECONDARY_TYPES = {"12", "13", "14", "15", "16", "41", "42", "43", "47"}
_ICD10 = re.compile(r"^[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?$")


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a claim (or the whole file) cannot go: a stable code and the words."""

    code: str
    words: str


def interchange_problems(settings: InterchangeSettings, billing: BillingProvider) -> list[Problem]:
    """What the practice settings lack for any 837P; none of the claims can go until fixed."""
    found: list[Problem] = []
    add = found.append
    for label, value in (("the submitter's name", settings.submitter_name),
                         ("the submitter's ETIN (the id the clearinghouse gave the practice)",
                          settings.submitter_etin),
                         ("the billing contact's name", settings.contact_name),
                         ("the receiver's (clearinghouse's) name", settings.receiver_name),
                         ("the receiver's id", settings.receiver_etin),
                         ("the interchange sender id", settings.sender_id),
                         ("the interchange receiver id", settings.receiver_id)):
        if not text(value):
            add(Problem("settings_missing", f"The practice settings lack {label}."))
    if len(digits(settings.contact_phone)) != 10:
        add(Problem("contact_phone", "The billing contact's phone needs 10 digits."))
    if not billing.npi:
        add(Problem("practice_npi_missing", "The practice has no NPI: enter it in the practice settings."))
    elif not is_valid_npi(billing.npi):
        add(Problem("practice_npi_invalid", "The practice NPI fails its check digit: a digit is mistyped."))
    if len(digits(billing.tax_id)) != 9:
        add(Problem("tax_id", "The practice's tax id (EIN) needs 9 digits."))
    if billing.taxonomy is not None and not re.fullmatch(r"[0-9A-Z]{9}X", billing.taxonomy.upper()):
        add(Problem("taxonomy", "The practice's taxonomy code is not a taxonomy code (like 207Q00000X)."))
    if not _address_complete(billing.address):
        add(Problem("practice_address", "The practice address is incomplete (street, city, state, ZIP)."))
    elif len(digits(billing.address.postal_code)) != 9:
        add(Problem("practice_zip9", "The practice's ZIP code needs all nine digits (ZIP+4) on claims."))
    return found


def claim_problems(claim: Claim, *, code_problem: CodeCheck | None = None) -> list[Problem]:
    """Every problem of one claim, in the order a clerk would fix them."""
    found: list[Problem] = []
    add = found.append
    pcn = text(claim.patient_control_number, 99)
    if not pcn:
        add(Problem("pcn_missing", "The claim has no patient control number."))
    elif len(pcn) > 20:
        add(Problem("pcn_long", "The patient control number is longer than the 20 characters an 837P carries."))
    _payer_problems(claim, add)
    _people_problems(claim, add)
    _claim_line_problems(claim, add)
    if code_problem is not None:
        _code_problems(claim, code_problem, add)
    return found


def _payer_problems(claim: Claim, add: Callable[[Problem], None]) -> None:
    if not text(claim.payer.payer_id):
        add(Problem("payer_id_missing", f"The payer ({claim.payer.name}) has no electronic payer id."))
    if claim.payer_responsibility not in RESPONSIBILITY:
        add(Problem("responsibility", "The payer's order (primary, secondary ...) is unknown."))
    if (claim.filing_indicator in MEDICARE_FILING and claim.payer_responsibility != "P"
            and claim.insurance_type not in MEDICARE_SECONDARY_TYPES):
        add(Problem("medicare_secondary_type",
                    "Medicare is not the primary payer here: record why Medicare pays second "
                    "(working aged, disability, ESRD ...), or Medicare rejects the claim."))
    for other in claim.other_payers:
        name = f"The {RESPONSIBILITY.get(other.responsibility, 'other')} payer ({other.payer.name})"
        if not text(other.payer.payer_id):
            add(Problem("other_payer_id_missing", f"{name} has no electronic payer id."))
        if not (text(other.subscriber.family_name) and text(other.subscriber.member_id)):
            add(Problem("other_subscriber", f"{name}: the subscriber's name or member id is missing."))
        if (other.filing_indicator in MEDICARE_FILING and other.responsibility != "P"
                and other.insurance_type not in MEDICARE_SECONDARY_TYPES):
            add(Problem("medicare_secondary_type",
                        f"{name} is Medicare but not primary: record why Medicare pays second."))


def _people_problems(claim: Claim, add: Callable[[Problem], None]) -> None:
    subscriber = claim.subscriber
    missing = [label for label, ok in (("family name", text(subscriber.family_name)),
                                       ("given name", text(subscriber.given_name)),
                                       ("member id", text(subscriber.member_id)))
               if not ok]
    if claim.patient is None:  # the patient is the subscriber: address and birth date go too
        missing += [label for label, ok in (("date of birth", subscriber.birth_date),
                                            ("address", _address_complete(subscriber.address)))
                    if not ok]
    if missing:
        add(Problem("subscriber_incomplete", f"The subscriber's {_join(missing)} "
                                             f"{'is' if len(missing) == 1 else 'are'} missing."))
    if claim.relationship not in RELATIONSHIPS:
        add(Problem("relationship", "The patient's relationship to the subscriber cannot be sent on an 837P."))
    if claim.patient is not None:
        if claim.relationship == "18":
            add(Problem("relationship", "The patient is marked as the subscriber but is a different person."))
        missing = [label for label, ok in (("family name", text(claim.patient.family_name)),
                                           ("given name", text(claim.patient.given_name)),
                                           ("date of birth", claim.patient.birth_date),
                                           ("address", _address_complete(claim.patient.address)))
                   if not ok]
        if missing:
            add(Problem("patient_incomplete", f"The patient's {_join(missing)} "
                                              f"{'is' if len(missing) == 1 else 'are'} missing."))
    rendering = claim.rendering
    if rendering is not None:
        if not rendering.npi:
            add(Problem("provider_npi_missing", "The rendering provider has no NPI."))
        elif not is_valid_npi(rendering.npi):
            add(Problem("provider_npi_invalid",
                        "The rendering provider's NPI fails its check digit: a digit is mistyped."))


def _claim_line_problems(claim: Claim, add: Callable[[Problem], None]) -> None:
    diagnoses = claim.diagnoses
    if not diagnoses:
        add(Problem("no_diagnoses", "The claim has no diagnosis."))
    elif len(diagnoses) > MAX_DIAGNOSES:
        add(Problem("too_many_diagnoses", f"The claim has {len(diagnoses)} diagnoses; an 837P "
                                          f"carries at most {MAX_DIAGNOSES}."))
    for number, code in enumerate(diagnoses, start=1):
        if not _ICD10.match(code.strip().upper()):
            add(Problem("diagnosis_format", f"Diagnosis {number} ({code}) is not an ICD-10-CM code."))
    if claim.frequency_code not in ("1", "7", "8"):
        add(Problem("frequency", "The claim is neither an original, a replacement nor a void."))
    elif claim.frequency_code in ("7", "8") and not text(claim.original_reference):
        add(Problem("original_missing", "A replacement or void needs the payer's claim number "
                                        "of the claim it replaces."))
    if not claim.lines:
        add(Problem("no_lines", "The claim has no procedure line."))
    elif len(claim.lines) > MAX_LINES:
        add(Problem("too_many_lines", f"The claim has {len(claim.lines)} lines; an 837P carries "
                                      f"at most {MAX_LINES}."))
    for number, line in enumerate(claim.lines, start=1):
        where = f"Line {number} ({line.code})"
        if len(line.modifiers) > MAX_MODIFIERS:
            add(Problem("too_many_modifiers", f"{where} has {len(line.modifiers)} modifiers; "
                                              f"at most {MAX_MODIFIERS} fit on a claim line."))
        if not line.pointers:
            add(Problem("no_pointers", f"{where} points to no diagnosis."))
        elif len(line.pointers) > MAX_POINTERS:
            add(Problem("too_many_pointers", f"{where} points to {len(line.pointers)} diagnoses; "
                                             f"at most {MAX_POINTERS} fit."))
        elif any(not 1 <= p <= min(len(diagnoses), MAX_DIAGNOSES) for p in line.pointers):
            add(Problem("pointer_outside", f"{where} points to a diagnosis the claim does not have "
                                           f"(it has {len(diagnoses)})."))
        if line.units < 1:
            add(Problem("units", f"{where} has no units."))
        if line.charge_cents < 0:
            add(Problem("negative_charge", f"{where} has a negative charge."))
    line_total = sum(line.charge_cents for line in claim.lines)
    if line_total != claim.total_cents:
        add(Problem("total_mismatch", f"The claim total ({_money(claim.total_cents)}) is not the sum "
                                      f"of its lines ({_money(line_total)})."))


def _code_problems(claim: Claim, check: CodeCheck, add: Callable[[Problem], None]) -> None:
    for number, code in enumerate(claim.diagnoses[:MAX_DIAGNOSES], start=1):
        day = claim.lines[0].service_date if claim.lines else None
        if day and (reason := check("diagnosis", code, day)):
            add(Problem("diagnosis_invalid", f"Diagnosis {number} ({code}) on {day:%m/%d/%Y}: {reason}"))
    for number, line in enumerate(claim.lines, start=1):
        day = line.service_date
        if reason := check("procedure", line.code, day):
            add(Problem("procedure_invalid", f"Line {number} ({line.code}) on {day:%m/%d/%Y}: {reason}"))
        for modifier in line.modifiers:
            if reason := check("modifier", modifier, day):
                add(Problem("modifier_invalid", f"Line {number} modifier {modifier}: {reason}"))


def _address_complete(address: Address | None) -> bool:
    return bool(address and text(address.line1) and text(address.city) and text(address.state)
                and len(digits(address.postal_code)) in (5, 9))


def _join(labels: list[str]) -> str:
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def _money(cents: int) -> str:
    return f"${cents / 100:,.2f}"
