"""``intake codes ...`` through the Flask CLI test runner."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from flask.testing import FlaskCliRunner

from intake.codes.cli import codes_cli

REQUIRED = {"input", "code", "system", "valid", "billable", "display", "reason"}


def _json_lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_check_json_one_object_per_code(runner: FlaskCliRunner) -> None:
    result = runner.invoke(codes_cli, ["check", "e119", "G0438", "25", "--date", "2026-06-02", "--json"])
    assert result.exit_code == 0, result.output
    rows = _json_lines(result.output)
    assert [r["code"] for r in rows] == ["E11.9", "G0438", "25"]
    assert [r["system"] for r in rows] == ["icd10cm", "hcpcs", "modifier"]
    assert all(REQUIRED <= set(r) for r in rows)
    assert rows[0] == rows[0] | {"input": "e119", "valid": True, "billable": True}


def test_check_exits_1_when_any_code_is_not_valid(runner: FlaskCliRunner) -> None:
    result = runner.invoke(codes_cli, ["check", "E11.9", "E11", "--date", "2025-11-03", "--json"])
    assert result.exit_code == 1
    header = _json_lines(result.output)[1]
    assert header["status"] == "header" and header["valid"] is False
    assert header["children_total"] == 87


def test_check_without_a_table_for_the_date(runner: FlaskCliRunner) -> None:
    result = runner.invoke(codes_cli, ["check", "E11.9", "--date", "2026-11-02"])
    assert result.exit_code == 1
    assert result.output.startswith("?? ")
    assert "the ICD-10-CM FY2027 table is not loaded" in result.output
    assert "intake codes import icd10cm FILE" in result.output


def test_check_json_reports_provisional_and_the_release_used(runner: FlaskCliRunner) -> None:
    result = runner.invoke(codes_cli, ["check", "E11.9", "25", "--date", "2026-12-04", "--json"])
    assert result.exit_code == 1  # anything but plainly valid fails
    first, second = (json.loads(line) for line in result.output.splitlines())
    assert (first["status"], first["provisional"], first["valid"]) == ("provisional", True, False)
    assert first["table"] == "FY2026 (April 1, 2026 update)"
    assert (second["status"], second["provisional"]) == ("valid", False)
    ok = runner.invoke(codes_cli, ["check", "25", "--date", "2026-12-04", "--json"])
    assert ok.exit_code == 0


def test_check_place_of_service_needs_system(runner: FlaskCliRunner) -> None:
    result = runner.invoke(codes_cli, ["check", "11", "--system", "pos", "--date", "2025-11-03"])
    assert result.exit_code == 0
    assert "Office" in result.output


def test_check_cpt_unverified_passes_with_a_warning(runner: FlaskCliRunner) -> None:
    result = runner.invoke(codes_cli, ["check", "99213", "--date", "2025-11-03", "--json"])
    assert result.exit_code == 0
    row = _json_lines(result.output)[0]
    assert (row["valid"], row["verified"], row["billable"]) == (True, False, None)


def test_check_rejects_bad_options(runner: FlaskCliRunner) -> None:
    assert runner.invoke(codes_cli, ["check", "E11.9", "--date", "11/03/2025"]).exit_code == 2
    assert runner.invoke(codes_cli, ["check", "E11.9", "--system", "icd9"]).exit_code == 2


def test_search(runner: FlaskCliRunner) -> None:
    result = runner.invoke(codes_cli, ["search", "type", "2", "diab", "--system", "icd10cm", "--limit", "3",
                                       "--date", "2025-11-03", "--json"])
    assert result.exit_code == 0
    rows = _json_lines(result.output)
    assert len(rows) == 3
    assert all(str(r["display"]).startswith("Type 2 diabetes") for r in rows)


def test_tables(runner: FlaskCliRunner) -> None:
    result = runner.invoke(codes_cli, ["tables", "--json"])
    assert result.exit_code == 0
    names = {r["name"] for r in _json_lines(result.output)}
    assert names == {"icd10cm-fy2026", "hcpcs-2026", "modifiers-2026", "pos"}
    plain = runner.invoke(codes_cli, ["tables"]).output
    assert "2025-10-01 to 2026-09-30" in plain


def test_import_then_check(runner: FlaskCliRunner, fixture_file: Callable[..., Path], instance: Path) -> None:
    result = runner.invoke(codes_cli, ["import", "icd10cm", str(fixture_file("icd10cm-order-2027.txt"))])
    assert result.exit_code == 0, result.output
    assert "imported FY2027: 22 codes, in force 2026-10-01 to 2027-09-30" in result.output
    assert (instance / "codes" / "icd10cm-fy2027.codes.gz").exists()
    check = runner.invoke(codes_cli, ["check", "E11.65", "--date", "2026-11-02"])
    assert check.exit_code == 0


def test_import_failure_is_explained_and_changes_nothing(
    runner: FlaskCliRunner, fixture_file: Callable[..., Path], instance: Path
) -> None:
    result = runner.invoke(codes_cli, ["import", "hcpcs", str(fixture_file("HCPC2027_JAN_ANWEB_baddate.txt"))])
    assert result.exit_code == 1
    assert "bad added date" in result.output and "The tables in use are unchanged." in result.output
    assert not (instance / "codes").exists()


def test_import_hcpcs_and_cpt(runner: FlaskCliRunner, fixture_file: Callable[..., Path]) -> None:
    hcpcs = runner.invoke(codes_cli, ["import", "hcpcs", str(fixture_file("HCPC2027_JAN_ANWEB.txt"))])
    assert hcpcs.exit_code == 0, hcpcs.output
    assert "imported HCPCS 2027: 6 codes" in hcpcs.output
    cpt = runner.invoke(codes_cli, ["import", "cpt", str(fixture_file("cpt-2027.csv")), "--year", "2027"])
    assert cpt.exit_code == 0, cpt.output
    check = runner.invoke(codes_cli, ["check", "99213", "--date", "2027-03-01", "--json"])
    assert _json_lines(check.output)[0]["verified"] is True
