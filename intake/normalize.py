"""Pure normalisers and format checks shared by forms and services."""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from anyascii import anyascii

_MBI = re.compile(
    r"^[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9][0-9]"
    r"[AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9][0-9]"
    r"[AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y][0-9][0-9]$"
)
_ZIP = re.compile(r"^\d{5}(-\d{4})?$")


def clean_text(value: str | None) -> str | None:
    """NFC, trimmed, inner whitespace folded; empty becomes None. NFC keeps
    'Zoë' typed as e + combining diaeresis equal to the precomposed form."""
    if value is None:
        return None
    value = " ".join(unicodedata.normalize("NFC", value).split())
    return value or None


def name_key(value: str | None) -> str:
    """Search key for a name: ASCII transliteration, casefolded, letters only.
    NFKD alone leaves 'Ł' alone; anyascii maps it to 'L'."""
    if not value:
        return ""
    return re.sub(r"[^a-z0-9 ]", "", anyascii(value).casefold()).strip()


def address_key(line1: str | None, postal_code: str | None) -> str | None:
    if not line1 or not postal_code:
        return None
    return f"{postal_code[:5]}|{name_key(line1)}"[:220]


def parse_phone(value: str, region: str = "US") -> str:
    """E.164, or ValueError with a message fit for the form."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError("Enter a phone number, for example (555) 201-3344.") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError("That is not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(e164: str | None) -> str:
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    fmt = (phonenumbers.PhoneNumberFormat.NATIONAL if number.country_code == 1
           else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(number, fmt)


def normalize_mbi(value: str) -> str:
    return re.sub(r"[\s-]", "", value).upper()


def is_valid_mbi(value: str) -> bool:
    """CMS Medicare Beneficiary Identifier: 11 characters, positions typed,
    no S, L, O, I, B or Z; dashes as printed on the card are allowed."""
    return bool(_MBI.match(normalize_mbi(value)))


def is_valid_zip(value: str) -> bool:
    return bool(_ZIP.match(value))


def luhn_check_digit(digits: str) -> str:
    """The Luhn digit to append to `digits`."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 0:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return str((10 - total % 10) % 10)


def is_valid_npi(value: str) -> bool:
    """National Provider Identifier: 10 digits whose last is the Luhn check
    digit of the first nine behind the card-issuer prefix 80840."""
    value = (value or "").strip()
    return (len(value) == 10 and value.isdigit()
            and luhn_check_digit("80840" + value[:9]) == value[9])


def is_valid_ein(value: str) -> bool:
    return bool(re.fullmatch(r"\d{2}-?\d{7}", (value or "").strip()))
