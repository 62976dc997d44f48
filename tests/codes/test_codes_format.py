"""The table file format and the engine's independence from Flask."""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

import pytest

import intake.codes
from intake.codes.systems import System
from intake.codes.table import CodeTable, Row, TableFormatError, TableInfo, TextColumn, read_table, write_table

INFO = TableInfo("demo-2027", System.HCPCS, "demo", "test", "public domain", date(2027, 1, 1), None)
ROWS = [
    Row("J1030", "B", "Injection, methylprednisolone acetate, 40 mg", date(2000, 1, 1)),
    Row("G0505", "B", "Cognition assessment — naïve text", None, date(2017, 12, 31)),
]


@pytest.mark.parametrize("name", ["demo-2027.codes", "demo-2027.codes.gz"])
def test_round_trip(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    write_table(CodeTable.from_rows(INFO, ROWS), path)
    table = read_table(path, "instance")
    assert list(table.rows()) == sorted(ROWS, key=lambda r: r.code)
    assert table.info.effective_to is None and table.info.count == 2
    assert path.stat().st_mode & 0o777 == 0o644


def test_gzip_output_is_reproducible(tmp_path: Path) -> None:
    first, second = tmp_path / "a.codes.gz", tmp_path / "b.codes.gz"
    write_table(CodeTable.from_rows(INFO, ROWS), first)
    write_table(CodeTable.from_rows(INFO, ROWS), second)
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hello\n", "not an intake code table"),
        ("#intake-codes 1\n#name x\n#rows\n", "header lacks"),
        ("#intake-codes 1\n#name x\n#system x\n#release r\n#source s\n#licence l\n#effective_from -\n"
         "#effective_to -\n#rows\n", "unknown system"),
        ("#intake-codes 1\n#name x\n#system pos\n#release r\n#source s\n#licence l\n#effective_from -\n"
         "#effective_to -\n#rows\n11\tB\tOffice\n", "line 10 is not code, kind"),
        ("#intake-codes 1\n#name x\n#system pos\n#release r\n#source s\n#licence l\n#effective_from -\n"
         "#effective_to -\n#rows\n12\tB\tHome\t\t\n11\tB\tOffice\t\t\n", "not sorted"),
        ("#intake-codes 1\n#name x\n#system pos\n#release r\n#source s\n#licence l\n#effective_from -\n"
         "#effective_to -\n#rows\n11\tB\tOffice\t2020\t\n", "bad date"),
    ],
)
def test_bad_table_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.codes"
    path.write_text(text)
    with pytest.raises(TableFormatError, match=message):
        read_table(path, "bundled")


def test_text_column() -> None:
    column = TextColumn.from_strings(["a", "", "Séquard", "z"])
    assert list(column) == ["a", "", "Séquard", "z"]
    assert column[-1] == "z" and column[1:3] == ["", "Séquard"]


def test_engine_modules_do_not_import_flask() -> None:
    package = Path(intake.codes.__file__).parent
    for module in package.glob("*.py"):
        if module.name == "cli.py":
            continue
        tree = ast.parse(module.read_text())
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not {m for m in imported if m.split(".")[0] in ("flask", "simple_icd_10_cm")}, module.name
