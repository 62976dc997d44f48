"""One person's identifying fields, normalised for matching, and the name
helpers (phonetic codes, nicknames) the blocking keys and the scores share."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

import jellyfish

from intake.normalize import address_key, name_key


@dataclass(frozen=True, slots=True)
class Record:
    given: str  # name keys: ASCII, casefolded, letters, digits and spaces
    family: str
    birth_date: date | None
    sex: str | None
    phones: frozenset[str]
    email: str | None
    address: str | None  # normalize.address_key: ZIP | street
    postal: str | None  # 5-digit ZIP
    given_raw: str = ""  # as typed, for the reasons shown to staff
    family_raw: str = ""

    @classmethod
    def from_fields(cls, data: Mapping[str, Any]) -> Record:
        """From a form's or a kiosk submission's fields (a mapping)."""
        phones = frozenset(p for p in (data.get("phone_mobile"), data.get("phone_home")) if p)
        email = (data.get("email") or "").strip().casefold() or None
        postal = (data.get("postal_code") or "").strip()[:5] or None
        dob = data.get("birth_date")
        return cls(given=name_key(data.get("given_name")), family=name_key(data.get("family_name")),
                   birth_date=dob if isinstance(dob, date) else None, sex=data.get("sex") or None,
                   phones=phones, email=email,
                   address=address_key(data.get("address_line1"), data.get("postal_code")),
                   postal=postal, given_raw=data.get("given_name") or "",
                   family_raw=data.get("family_name") or "")

    @classmethod
    def from_chart(cls, patient: Any) -> Record:
        """From a Patient (or any object with the same attributes)."""
        return cls(given=patient.given_norm or "", family=patient.family_norm or "",
                   birth_date=patient.birth_date, sex=patient.sex or None,
                   phones=frozenset(p for p in (patient.phone_mobile, patient.phone_home) if p),
                   email=(patient.email or "").casefold() or None, address=patient.address_key,
                   postal=(patient.postal_code or "")[:5] or None,
                   given_raw=patient.given_name or "", family_raw=patient.family_name or "")


def phonetic(name: str) -> str:
    """NYSIIS of a name key with its spaces dropped ('' for an empty name)."""
    squeezed = "".join(ch for ch in name if ch.isalpha())
    return jellyfish.nysiis(squeezed) if squeezed else ""


def phonetic_codes(name: str) -> set[str]:
    """The whole name's code and, for names of several words (Garcia Lopez),
    each word's: a chart under one of the words is still found."""
    words = name.split()
    codes = {phonetic(name)}
    if len(words) > 1:
        codes |= {phonetic(w) for w in words if len(w) > 1}
    return {c for c in codes if c}


@cache
def nicknames() -> dict[str, frozenset[str]]:
    """Name key -> the formal names it may stand for (itself included)."""
    table: dict[str, set[str]] = {}
    text = resources.files("intake.matching").joinpath("nicknames.csv").read_text("utf-8")
    for row in csv.reader(line for line in text.splitlines() if line and not line.startswith("#")):
        formal, *short = (name.strip() for name in row)
        table.setdefault(formal, {formal})
        for name in short:
            table.setdefault(name, {name}).add(formal)
    return {name: frozenset(forms) for name, forms in table.items()}


def given_forms(given: str) -> frozenset[str]:
    """A given name and the formal names it is short for: Bill -> {bill, william}."""
    if not given:
        return frozenset()
    first = given.split()[0]
    return nicknames().get(first, frozenset()) | {given}


def same_by_nickname(a: str, b: str) -> bool:
    return bool(a and b and given_forms(a) & given_forms(b))
