"""Normalisation and system inference."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intake.codes.systems import System, infer_systems, normalise

codeish = st.text(alphabet="AEGJSZaegz0123456789.- \t", max_size=12)


@pytest.mark.parametrize(
    ("typed", "system", "expected"),
    [
        ("e119", None, "E11.9"),
        (" E11.9 ", None, "E11.9"),
        ("e 11 9", None, "E11.9"),
        ("E11.", None, "E11"),
        ("s72001a", None, "S72.001A"),
        ("E1165", None, "E1165"),  # also a HCPCS shape: left as typed
        ("E1165", System.ICD10CM, "E11.65"),
        ("E1.19", System.ICD10CM, "E1.19"),  # a misplaced dot is not repaired
        ("j 1030", System.HCPCS, "J1030"),
        ("-25", System.MODIFIER, "25"),
        ("gt", None, "GT"),
        ("1", System.POS, "01"),
        ("3008f", System.CPT, "3008F"),
        ("", None, ""),
    ],
)
def test_normalise_examples(typed: str, system: System | None, expected: str) -> None:
    assert normalise(typed, system) == expected


@pytest.mark.parametrize(
    ("code", "systems"),
    [
        ("J1030", (System.HCPCS, System.ICD10CM)),
        ("E11.9", (System.ICD10CM,)),
        ("E119", (System.ICD10CM,)),
        ("E08-E13", (System.ICD10CM,)),
        ("99213", (System.CPT,)),
        ("0591T", (System.CPT,)),
        ("25", (System.MODIFIER,)),
        ("11", (System.MODIFIER,)),  # places of service need system="pos"
        ("XU", (System.MODIFIER,)),
        ("XX!", ()),
        ("9921", ()),
    ],
)
def test_infer_systems(code: str, systems: tuple[System, ...]) -> None:
    assert infer_systems(code) == systems


@given(text=st.one_of(st.text(), codeish), system=st.sampled_from([None, *System]))
def test_normalise_never_raises_and_is_idempotent(text: str, system: System | None) -> None:
    once = normalise(text, system)
    assert isinstance(once, str)
    assert normalise(once, system) == once


@given(text=st.one_of(st.text(), codeish))
def test_check_never_raises(text: str) -> None:
    from intake.codes.engine import load_engine

    result = load_engine(None).check(text)
    assert result.input == text
    assert isinstance(result.valid, bool)
