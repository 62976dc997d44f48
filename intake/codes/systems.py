"""Code systems, input normalisation and system inference.

Normalisation is forgiving about what clerks type (case, spaces, a missing
ICD-10-CM dot, a leading hyphen on a modifier) and strict about everything
else: it never guesses a misplaced dot or a dropped character.

Inference from the shape of a code, when no system is given:

========================  ===========================  ==================
shape (after clean-up)    example                      candidates
========================  ===========================  ==================
letter + 4 digits         ``J1030``, ``E1165``         HCPCS, ICD-10-CM
ICD-10-CM shape           ``E11.9``, ``e119``, ``E11``   ICD-10-CM
ICD-10-CM block           ``E08-E13``                  ICD-10-CM
4 digits + digit/F/T/U/A/M  ``99213``, ``3008F``        CPT
2 letters or digits       ``25``, ``GT``, ``XU``       modifier
========================  ===========================  ==================

Two-digit places of service (``11``) look like CPT modifiers (``25``), so a
bare two-character code is always read as a modifier: a place of service
needs ``system="pos"``. When a code has two candidate systems the engine
looks it up in both and reports it as ambiguous only if both know it.
"""

from __future__ import annotations

import re
from enum import StrEnum


class System(StrEnum):
    """The code systems the engine knows, by their CLI names."""

    ICD10CM = "icd10cm"
    HCPCS = "hcpcs"
    CPT = "cpt"
    MODIFIER = "modifier"
    POS = "pos"

    @property
    def label(self) -> str:
        """The name a billing clerk uses for the system."""
        return _LABELS[self]

    @property
    def import_command(self) -> str | None:
        """The CLI command that loads a newer table for this system, if any."""
        return _IMPORT_COMMANDS.get(self)


_LABELS = {
    System.ICD10CM: "ICD-10-CM",
    System.HCPCS: "HCPCS Level II",
    System.CPT: "CPT",
    System.MODIFIER: "modifier",
    System.POS: "place of service",
}

# Level II modifiers arrive in the CMS HCPCS file, so the HCPCS import refreshes them.
_IMPORT_COMMANDS = {
    System.ICD10CM: "intake codes import icd10cm FILE",
    System.HCPCS: "intake codes import hcpcs FILE",
    System.MODIFIER: "intake codes import hcpcs FILE",
    System.CPT: "intake codes import cpt FILE",
}

# Letter, digit, letter-or-digit (E11, J1A); the April 2026 update added letter-letter-digit (QA0).
_ICD_KEY = re.compile(r"[A-Z](?:[0-9][0-9A-Z]|[A-Z][0-9])[0-9A-Z]{0,4}")
_ICD_BLOCK = re.compile(r"[A-Z][0-9][0-9A-Z]-[A-Z][0-9][0-9A-Z]")
_HCPCS = re.compile(r"[A-Z][0-9]{4}")
# 4 digits + F (Category II), T (Category III), U (PLA), A (vaccine admin), M (MAAA).
_CPT = re.compile(r"[0-9]{4}[0-9FTUAM]")
_MODIFIER = re.compile(r"[0-9A-Z]{2}")
_POS = re.compile(r"[0-9]{2}")

_FORMATS: dict[System, str] = {
    System.ICD10CM: ("a letter, a digit, a letter or digit (or QA and a digit), "
                     "then up to 4 letters or digits after the dot"),
    System.HCPCS: "a letter followed by 4 digits",
    System.CPT: "5 digits, or 4 digits followed by F, T, U, A or M",
    System.MODIFIER: "2 letters or digits",
    System.POS: "2 digits",
}


def describe_format(system: System) -> str:
    """A sentence fragment describing the valid shape of a code."""
    return _FORMATS[system]


def clean(text: str) -> str:
    """Upper-case and drop every whitespace character."""
    return "".join(text.split()).upper()


ICD_KEY = _ICD_KEY


def icd_key(text: str) -> str | None:
    """The dotless lookup key of an ICD-10-CM shaped code, or None.

    Accepts ``E119``, ``E11.9`` and ``E11.`` (trailing dot); a dot anywhere
    but after the third character is not a typo we dare to repair.
    """
    if "." in text:
        head, _, tail = text.partition(".")
        if len(head) != 3 or "." in tail:
            return None
        text = head + tail
    return text if _ICD_KEY.fullmatch(text) else None


def icd_display(key: str) -> str:
    """``E119`` -> ``E11.9``; three-character categories keep no dot."""
    return key if len(key) <= 3 else f"{key[:3]}.{key[3:]}"


def is_icd_block(text: str) -> bool:
    """True for a chapter-block range such as ``E08-E13``."""
    return _ICD_BLOCK.fullmatch(text) is not None


def normalise(text: str, system: System | None = None) -> str:
    """Canonical form of a typed code; never raises and is idempotent.

    Without a system, the ICD-10-CM dot is inserted only when the shape
    cannot be anything else (``e119`` -> ``E11.9``, but ``E1165`` stays as
    typed because it is also a HCPCS shape).
    """
    code = clean(text)
    if system is System.MODIFIER:
        return code.lstrip("-")
    if system is System.POS:
        return "0" + code if len(code) == 1 and code.isdigit() else code
    if system is System.ICD10CM or (system is None and infer_systems(code) == (System.ICD10CM,)):
        key = icd_key(code)
        return icd_display(key) if key else code
    return code


def infer_systems(code: str) -> tuple[System, ...]:
    """Candidate systems for a cleaned code, most likely first; empty if none."""
    if _HCPCS.fullmatch(code):
        return (System.HCPCS, System.ICD10CM)
    if icd_key(code) or is_icd_block(code):
        return (System.ICD10CM,)
    if _CPT.fullmatch(code):
        return (System.CPT,)
    if _MODIFIER.fullmatch(code.lstrip("-")):
        return (System.MODIFIER,)
    return ()


def lookup_key(code: str, system: System) -> str | None:
    """The table key for a normalised code in a system, or None if malformed."""
    if system is System.ICD10CM:
        return icd_key(code)
    pattern = {
        System.HCPCS: _HCPCS,
        System.CPT: _CPT,
        System.MODIFIER: _MODIFIER,
        System.POS: _POS,
    }[system]
    return code if pattern.fullmatch(code) else None


def display_code(key: str, system: System) -> str:
    """How a table key is shown to people."""
    return icd_display(key) if system is System.ICD10CM else key
