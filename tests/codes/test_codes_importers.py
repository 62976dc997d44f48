"""Importers: good files load, bad files are refused and leave the previous table in place."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from intake.codes.engine import Status, load_engine
from intake.codes.importers import ImportFailed, import_cpt, import_hcpcs, import_icd10cm
from intake.codes.systems import System
from tests.codes.conftest import FIXTURES

FY2027 = date(2026, 11, 2)
Copy = Callable[..., Path]


def test_icd10cm_order_file(instance: Path, fixture_file: Copy) -> None:
    progress: list[tuple[int, int]] = []
    info = import_icd10cm(fixture_file("icd10cm-order-2027.txt"), instance,
                          progress=lambda d, t: progress.append((d, t)))
    assert (info.name, info.count, info.origin) == ("icd10cm-fy2027", 22, "instance")
    assert (info.effective_from, info.effective_to) == (date(2026, 10, 1), date(2027, 9, 30))
    assert progress[-1] == (22, 22)
    engine = load_engine(instance)
    assert engine.check("E11.9", date_of_service=FY2027).valid
    assert engine.check("E11.6", date_of_service=FY2027).status is Status.HEADER
    assert engine.check("E11.8", date_of_service=FY2027).status is Status.UNKNOWN
    # The bundled FY2026 table still answers for FY2026 dates of service.
    assert engine.check("E11.21", date_of_service=date(2025, 11, 3)).valid
    assert engine.check("E11.9", date_of_service=date(2027, 9, 30)).valid
    after = engine.check("E11.9", date_of_service=date(2027, 10, 1))
    assert (after.status, after.table) == (Status.PROVISIONAL, "FY2027")  # the nearest release: the import


def test_icd10cm_april_update_sits_beside_october(instance: Path, fixture_file: Copy) -> None:
    import_icd10cm(fixture_file("icd10cm-order-2027.txt"), instance)
    april = import_icd10cm(fixture_file("icd10cm-order-2027.txt", "april.txt"), instance, 2027, date(2027, 4, 1))
    assert april.name == "icd10cm-fy2027-20270401"
    assert {i.name for i in load_engine(instance).tables() if i.origin == "instance"} == {
        "icd10cm-fy2027",
        "icd10cm-fy2027-20270401",
    }


def test_icd10cm_year_needed_when_not_in_the_name(instance: Path, fixture_file: Copy) -> None:
    with pytest.raises(ImportFailed, match="give the year"):
        import_icd10cm(fixture_file("icd10cm-order-2027.txt", "order.txt"), instance)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("icd10cm-order-2027-badlayout.txt", "line 5: .*columns 7-13"),
        ("icd10cm-order-2027-truncated.txt", "header S72001 has no codes under it"),
    ],
)
def test_bad_icd10cm_file_keeps_the_previous_table(instance: Path, fixture_file: Copy, name: str, message: str) -> None:
    good = import_icd10cm(fixture_file("icd10cm-order-2027.txt"), instance)
    before = good.path.read_bytes() if good.path else b""
    with pytest.raises(ImportFailed, match=message):
        import_icd10cm(fixture_file(name, name.replace("-badlayout", "").replace("-truncated", "")), instance)
    assert good.path is not None and good.path.read_bytes() == before
    assert load_engine(instance).check("E11.9", date_of_service=FY2027).valid
    assert not [p for p in (instance / "codes").iterdir() if p.name.startswith(".")]


def test_a_much_smaller_file_is_refused_unless_forced(instance: Path, fixture_file: Copy, tmp_path: Path) -> None:
    import_icd10cm(fixture_file("icd10cm-order-2027.txt"), instance)
    small = tmp_path / "icd10cm-order-2027-small.txt"
    small.write_text("".join(fixture_file("icd10cm-order-2027.txt").read_text().splitlines(True)[:2]))
    with pytest.raises(ImportFailed, match="looks truncated"):
        import_icd10cm(small, instance)
    assert import_icd10cm(small, instance, force=True).count == 2


def test_hcpcs_anweb_file(instance: Path, fixture_file: Copy) -> None:
    hcpcs, modifiers = import_hcpcs(fixture_file("HCPC2027_JAN_ANWEB.txt"), instance)
    assert (hcpcs.name, hcpcs.count) == ("hcpcs-2027", 6)
    assert modifiers.name == "modifiers-2027"
    engine = load_engine(instance)
    awv = engine.check("G0438", date_of_service=date(2027, 2, 1))
    assert awv.valid
    assert awv.display == ("Annual wellness visit; includes a personalized prevention plan of service (pps), "
                           "initial visit")
    assert engine.check("XE", date_of_service=date(2027, 2, 1)).display.endswith("during a separate encounter")
    assert engine.check("25", date_of_service=date(2027, 2, 1)).valid  # CPT modifier codes carried over
    assert engine.check("G0505", "hcpcs", date(2027, 2, 1)).status is Status.TERMINATED


@pytest.mark.parametrize(
    ("code", "day", "status"),
    [
        ("J7030", date(2027, 6, 30), Status.VALID),  # termination date is the last usable day
        ("J7030", date(2027, 7, 1), Status.TERMINATED),
        ("G9999", date(2027, 3, 31), Status.NOT_YET_EFFECTIVE),
        ("G9999", date(2027, 4, 1), Status.VALID),
        ("G0438", date(2025, 12, 31), Status.PROVISIONAL),  # before the bundled 2026 table
    ],
)
def test_hcpcs_date_edges(instance: Path, fixture_file: Copy, code: str, day: date, status: Status) -> None:
    import_hcpcs(fixture_file("HCPC2027_JAN_ANWEB.txt"), instance)
    assert load_engine(instance).check(code, "hcpcs", day).status is status


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("HCPC2027_JAN_ANWEB_baddate.txt", "bad added date .*20271340"),
        ("HCPC2027_JAN_ANWEB_truncated.txt", "line 7: record is 220 characters wide, not 320"),
        ("HCPC2027_JAN_ANWEB_badlayout.txt", "record id .* not a CMS ANWEB file"),
    ],
)
def test_bad_hcpcs_file_keeps_the_previous_table(instance: Path, fixture_file: Copy, name: str, message: str) -> None:
    import_hcpcs(fixture_file("HCPC2027_JAN_ANWEB.txt"), instance)
    with pytest.raises(ImportFailed, match=message):
        import_hcpcs(fixture_file(name), instance)
    engine = load_engine(instance)
    assert engine.check("G9999", "hcpcs", date(2027, 5, 1)).valid
    assert engine.table_for(System.HCPCS, date(2027, 5, 1)).info.count == 6  # type: ignore[union-attr]


def test_cpt_file_verifies_codes(instance: Path, fixture_file: Copy) -> None:
    info = import_cpt(fixture_file("cpt-2027.csv"), instance)
    assert (info.name, info.count) == ("cpt-2027", 4)
    engine = load_engine(instance)
    visit = engine.check("99213", date_of_service=date(2027, 3, 1))
    assert (visit.status, visit.verified, visit.billable) == (Status.VALID, True, True)
    assert engine.check("99215", date_of_service=date(2027, 3, 1)).status is Status.UNKNOWN
    # Outside the imported year CPT falls back to the structural check.
    assert engine.check("99213", date_of_service=date(2028, 1, 1)).status is Status.UNVERIFIED


def test_bad_cpt_file_reports_every_problem(instance: Path, fixture_file: Copy) -> None:
    with pytest.raises(ImportFailed) as failure:
        import_cpt(fixture_file("cpt-2027-bad.tsv"), instance, year=2027)
    assert "line 2: '9921' is not a CPT code" in str(failure.value)
    assert "line 3: 99214 has no description" in str(failure.value)
    assert not (instance / "codes").exists()


def test_missing_file(instance: Path, tmp_path: Path) -> None:
    with pytest.raises(ImportFailed, match="cannot read"):
        import_cpt(tmp_path / "cpt-2027.csv", instance)


# -- the zips offices download, and files that are not what they claim ---------

REPO = Path(__file__).resolve().parents[2]
HCPCS_ZIP = REPO / "codes" / "sources" / "hcpcs-2026-jan" / "january-2026-alpha-numeric-hcpcs-file.zip"


def test_cms_hcpcs_zip_imports_whole(instance: Path) -> None:
    hcpcs, modifiers = import_hcpcs(HCPCS_ZIP, instance, year=2026)
    assert (hcpcs.count, modifiers.count) == (8_623, 422)
    assert hcpcs.source == "CMS HCPCS file HCPC2026_JAN_ANWEB_01122026.txt"
    assert load_engine(instance).check("G2211", "hcpcs", date(2026, 12, 4)).table == "HCPCS 2026"


def test_bundled_hcpcs_tables_match_a_fresh_build() -> None:
    """tools/build_hcpcs.py --check: the committed tables are what the CMS zip gives."""
    done = subprocess.run([sys.executable, str(REPO / "tools" / "build_hcpcs.py"), "--check"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_icd10cm_zip_with_the_order_file_inside(instance: Path, tmp_path: Path) -> None:
    archive = tmp_path / "icd10cm-Code Descriptions-2027.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(FIXTURES / "icd10cm-order-2027.txt", "Code Descriptions/icd10cm-order-2027.txt")
        z.writestr("Code Descriptions/icd10cm-codes-2027.txt", "E119 Type 2 diabetes\n")
    assert import_icd10cm(archive, instance).count == 22


@pytest.mark.parametrize(
    ("member", "importer", "message"),
    [
        ("readme.txt", import_hcpcs, "holds no HCPCS ANWEB text file"),
        ("icd10cm-codes-2027.txt", import_icd10cm, "holds no ICD-10-CM order file"),
    ],
)
def test_zip_without_the_expected_member(instance: Path, tmp_path: Path, member: str, importer, message: str) -> None:
    archive = tmp_path / "download-2027.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(member, "nothing useful\n")
    with pytest.raises(ImportFailed, match=message):
        importer(archive, instance)
    assert not (instance / "codes").exists()


def test_file_of_another_year_than_it_claims(instance: Path, fixture_file: Copy) -> None:
    with pytest.raises(ImportFailed, match="named for 2027 but is being imported as 2026"):
        import_hcpcs(fixture_file("HCPC2027_JAN_ANWEB.txt"), instance, year=2026)
    message = "latest changes take effect on 2027-04-01, so it is the 2027 file, not 2026"
    with pytest.raises(ImportFailed, match=message):
        import_hcpcs(fixture_file("HCPC2027_JAN_ANWEB.txt", "HCPC2026_JAN_ANWEB.txt"), instance)
    assert not (instance / "codes").exists()


def test_reordered_icd10cm_file(instance: Path, tmp_path: Path) -> None:
    lines = (FIXTURES / "icd10cm-order-2027.txt").read_text().splitlines(True)
    lines[3], lines[4] = lines[4], lines[3]
    path = tmp_path / "icd10cm-order-2027.txt"
    path.write_text("".join(lines))
    with pytest.raises(ImportFailed, match="line 4: order number 5 follows 3: lines missing or out of order"):
        import_icd10cm(path, instance)


def test_hcpcs_record_of_the_wrong_width(instance: Path, fixture_file: Copy) -> None:
    path = fixture_file("HCPC2027_JAN_ANWEB.txt")
    lines = path.read_text().splitlines()
    lines[2] = lines[2][:300]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ImportFailed, match="line 3: record is 300 characters wide, not 320"):
        import_hcpcs(path, instance)
