"""Checks against the bundled tables: ICD-10-CM, HCPCS, modifiers, place of service, CPT."""

from __future__ import annotations

from datetime import date

import pytest

from intake.codes.engine import CodeEngine, Status
from intake.codes.systems import System

FY2026 = date(2025, 11, 3)
IN_2026 = date(2026, 6, 2)  # the bundled HCPCS and modifier tables: CMS January 2026 file


def test_icd10cm_file_matches_the_package_counts(engine: CodeEngine) -> None:
    """simple-icd-10-cm 1.5.0 lists 98,505 entries of which it calls 74,736 leaves.

    Its entries are our codes plus the outline (22 chapters and 297 blocks);
    its leaves are our billable codes plus 5 blocks named like their only
    (billable) category, counted twice, and 12 headings without codes.
    """
    table = engine.table_for(System.ICD10CM, FY2026)
    assert table is not None
    billable = table.kinds.count("B")
    outline = table.outline
    kinds = [kind for kind, _ in outline.values()]
    named_like_a_code = [table.row(i) for i in outline if table.row(i) is not None]
    billable_named = [row for row in named_like_a_code if row is not None and table.kinds[row] == "B"]
    assert len(table) + len(outline) == 98_505
    assert kinds.count("chapter") == 22
    assert billable == 74_719
    assert len(billable_named) == 5
    assert billable + len(billable_named) + kinds.count("heading") == 74_736


@pytest.mark.parametrize(
    ("typed", "code", "status", "billable"),
    [
        ("E11.9", "E11.9", Status.VALID, True),
        ("e119", "E11.9", Status.VALID, True),
        ("E1165", "E11.65", Status.VALID, True),
        ("I10", "I10", Status.VALID, True),
        ("s72001a", "S72.001A", Status.VALID, True),
        ("E11", "E11", Status.HEADER, False),
        ("S72.001", "S72.001", Status.HEADER, False),
        ("E11.99", "E11.99", Status.UNKNOWN, False),
        ("E08-E13", "E08-E13", Status.BLOCK, False),
        ("E1.19", "E1.19", Status.MALFORMED, False),
    ],
)
def test_icd10cm(engine: CodeEngine, typed: str, code: str, status: Status, billable: bool) -> None:
    result = engine.check(typed, None if "." not in typed or status is not Status.MALFORMED else "icd10cm", FY2026)
    assert (result.code, result.status, result.billable) == (code, status, billable)
    assert result.valid is (status is Status.VALID)
    assert result.system is System.ICD10CM


def test_icd10cm_header_offers_billable_children(engine: CodeEngine) -> None:
    result = engine.check("E11", date_of_service=FY2026)
    assert result.children_total == 87
    offered = [c.code for c in result.children]
    assert len(offered) == 50
    assert {"E11.9", "E11.65"} <= set(offered[:10])
    assert all(code.startswith("E11.") for code in offered)
    assert "87 billable codes" in result.reason


def test_icd10cm_unknown_names_the_nearest_code(engine: CodeEngine) -> None:
    assert "nearest existing code: E11.9" in engine.check("E11.99", date_of_service=FY2026).reason


@pytest.mark.parametrize(
    ("day", "status"),
    [
        (date(2025, 9, 30), Status.PROVISIONAL),
        (date(2025, 10, 1), Status.VALID),
        (date(2026, 9, 30), Status.VALID),
        (date(2026, 10, 1), Status.PROVISIONAL),
    ],
)
def test_icd10cm_fiscal_year_edges(engine: CodeEngine, day: date, status: Status) -> None:
    result = engine.check("E11.9", date_of_service=day)
    assert result.status is status
    assert result.display == "Type 2 diabetes mellitus without complications"


def test_a_missing_year_is_provisional_against_the_nearest_release(engine: CodeEngine) -> None:
    result = engine.check("E11.9", date_of_service=date(2026, 12, 4))
    assert (result.status, result.valid, result.provisional, result.accepted) == (Status.PROVISIONAL, False, True, True)
    assert result.billable is True
    assert result.table == "FY2026 (April 1, 2026 update)"
    assert result.reason == ("provisional: checked against ICD-10-CM FY2026 (April 1, 2026 update); "
                             "the ICD-10-CM FY2027 table is not loaded")
    assert "intake" not in result.reason  # a receptionist never sees a command line
    assert result.to_dict()["provisional"] is True
    # An earlier year: the nearest release is the later one.
    assert "the ICD-10-CM FY2025 table is not loaded" in engine.check("I10", date_of_service=date(2025, 9, 30)).reason


@pytest.mark.parametrize(("typed", "status"),
                         [("E11", Status.HEADER), ("E11.99", Status.UNKNOWN), ("E11.", Status.HEADER)])
def test_a_code_invalid_in_the_nearest_release_is_still_refused(engine: CodeEngine, typed: str, status: Status) -> None:
    result = engine.check(typed, "icd10cm", date(2026, 12, 4))
    assert (result.status, result.accepted, result.provisional) == (status, False, False)


def test_cpt_modifier_codes_are_open_ended(engine: CodeEngine) -> None:
    """CPT modifier codes carry no dates: valid for any year; Level II modifiers are provisional outside 2026."""
    assert engine.check("25", "modifier", date(2027, 3, 1)).status is Status.VALID
    assert engine.check("25", "modifier", date(2025, 3, 1)).valid
    assert engine.check("GT", "modifier", date(2027, 3, 1)).status is Status.PROVISIONAL
    assert engine.check("G0438", "hcpcs", date(2027, 3, 1)).reason.endswith("the HCPCS 2027 table is not loaded")


def test_terminated_in_the_nearest_release_is_refused(engine: CodeEngine) -> None:
    assert engine.check("J1030", "hcpcs", date(2027, 3, 1)).status is Status.TERMINATED


@pytest.mark.parametrize(
    ("typed", "day", "status"),
    [
        ("G0438", IN_2026, Status.VALID),
        ("j1030", IN_2026, Status.TERMINATED),
        ("G0505", IN_2026, Status.TERMINATED),
        ("G0001", IN_2026, Status.UNKNOWN),
        ("G2211", IN_2026, Status.VALID),
        ("J1100", IN_2026, Status.VALID),
        ("A4295", date(2026, 1, 1), Status.VALID),  # added 2026-01-01
        ("C5271", date(2026, 1, 1), Status.TERMINATED),  # ended 2025-12-31, kept in the file
        ("G0438", date(2025, 12, 31), Status.PROVISIONAL),
        ("G0438", date(2027, 1, 1), Status.PROVISIONAL),
    ],
)
def test_hcpcs(engine: CodeEngine, typed: str, day: date, status: Status) -> None:
    result = engine.check(typed, "hcpcs", day)
    assert result.status is status
    assert result.valid is (status is Status.VALID)
    assert result.table == "HCPCS 2026 (January 2026 file)"


def test_hcpcs_whole_file_keeps_each_codes_dates(engine: CodeEngine) -> None:
    """The README's counts of the CMS January 2026 file: 1,300 codes carry a termination date."""
    table = engine.table_for(System.HCPCS, IN_2026)
    assert table is not None and table.terminated is not None and table.added is not None
    assert sum(1 for day in table.terminated if day) == 1_300
    assert sum(1 for day in table.terminated if day == date(2025, 12, 31).toordinal()) == 95
    assert all(table.added)
    assert engine.check("A4295", "hcpcs", date(2025, 12, 31)).status is Status.NOT_YET_EFFECTIVE


def test_hcpcs_malformed(engine: CodeEngine) -> None:
    result = engine.check("G04381", "hcpcs", IN_2026)
    assert result.status is Status.MALFORMED
    assert "a letter followed by 4 digits" in result.reason


def test_hcpcs_terminated_reason_gives_last_day(engine: CodeEngine) -> None:
    assert "2017-12-31 was the last day" in engine.check("G0505", "hcpcs", IN_2026).reason


def test_hcpcs_shape_resolves_to_the_system_that_knows_it(engine: CodeEngine) -> None:
    """Letter + 4 digits is HCPCS or dotless ICD-10-CM: the engine looks in both."""
    assert engine.check("J1030", date_of_service=IN_2026).system is System.HCPCS
    assert engine.check("E1165", date_of_service=IN_2026).system is System.ICD10CM
    unknown = engine.check("A0001", date_of_service=IN_2026)
    assert unknown.status is Status.UNKNOWN
    assert "HCPCS" in unknown.reason and "ICD-10-CM" in unknown.reason


@pytest.mark.parametrize(
    ("typed", "system", "status", "display"),
    [
        ("25", None, Status.VALID, "CPT modifier (AMA descriptor not bundled)"),
        ("-59", None, Status.VALID, "CPT modifier (AMA descriptor not bundled)"),
        ("xu", None, Status.VALID, "Unusual non-overlapping service"),
        ("LT", "modifier", Status.VALID, "Left side"),
        ("ZZ", None, Status.UNKNOWN, ""),
        ("11", "pos", Status.VALID, "Office"),
        ("2", "pos", Status.VALID, "Telehealth Provided Other than in Patient's Home"),
        ("28", "pos", Status.UNKNOWN, ""),
        ("1A", "pos", Status.MALFORMED, ""),
    ],
)
def test_modifiers_and_places_of_service(
    engine: CodeEngine, typed: str, system: str | None, status: Status, display: str
) -> None:
    result = engine.check(typed, system, IN_2026)
    assert result.status is status
    assert result.display.startswith(display)


def test_modifier_dates(engine: CodeEngine) -> None:
    assert engine.check("JZ", "modifier", IN_2026).valid
    assert engine.check("XE", "modifier", IN_2026).valid


def test_place_of_service_dates(engine: CodeEngine) -> None:
    assert engine.check("27", "pos", date(2023, 9, 30)).status is Status.NOT_YET_EFFECTIVE
    assert engine.check("27", "pos", date(2023, 10, 1)).valid
    assert "takes effect on 2023-10-01" in engine.check("27", "pos", date(2023, 9, 30)).reason


@pytest.mark.parametrize("typed", ["99213", "3008F", "0591T", "0001A"])
def test_cpt_without_a_table_is_format_valid_but_not_verified(engine: CodeEngine, typed: str) -> None:
    result = engine.check(typed, date_of_service=IN_2026)
    assert result.system is System.CPT
    assert result.status is Status.UNVERIFIED
    assert (result.valid, result.verified, result.billable) == (True, False, None)
    assert result.reason.startswith("format valid, not verified against a CPT table")


@pytest.mark.parametrize("typed", ["9921", "992134", "9921X"])
def test_cpt_malformed(engine: CodeEngine, typed: str) -> None:
    assert engine.check(typed, "cpt", IN_2026).status is Status.MALFORMED


def test_unrecognisable_input(engine: CodeEngine) -> None:
    result = engine.check("hello!", date_of_service=IN_2026)
    assert (result.status, result.system, result.valid) == (Status.MALFORMED, None, False)


def test_unknown_system_name_is_rejected(engine: CodeEngine) -> None:
    with pytest.raises(ValueError):
        engine.check("E11.9", "icd9")


def test_check_results_are_memoised_and_immutable(engine: CodeEngine) -> None:
    first = engine.check("E11.9", date_of_service=FY2026)
    assert engine.check("E11.9", date_of_service=FY2026) is first
    with pytest.raises(AttributeError):
        first.valid = False  # type: ignore[misc]


def test_tables_lists_every_bundled_table(engine: CodeEngine) -> None:
    infos = {i.name: i for i in engine.tables()}
    assert set(infos) == {"icd10cm-fy2026", "hcpcs-2026", "modifiers-2026", "pos"}
    assert (infos["hcpcs-2026"].count, infos["modifiers-2026"].count) == (8_623, 383 + 39)
    assert infos["hcpcs-2026"].date_range == "2026-01-01 to 2026-12-31"
    icd = infos["icd10cm-fy2026"]
    assert (icd.effective_from, icd.effective_to, icd.count) == (date(2025, 10, 1), date(2026, 9, 30), 98_186)
    assert infos["pos"].date_range == "open to open"
    assert all(i.origin == "bundled" for i in infos.values())


def test_icd10cm_letter_letter_digit_codes(engine: CodeEngine) -> None:
    """The April 2026 update added QA0 codes (letter, letter, digit): neither malformed nor refused by the importer."""
    result = engine.check("qa00101", date_of_service=FY2026)
    assert (result.status, result.code) == (Status.VALID, "QA0.0101")
    assert result.display == "SCN2A-related neurodevelopmental disorder"
    assert engine.check("QA0", date_of_service=FY2026).status is Status.HEADER
