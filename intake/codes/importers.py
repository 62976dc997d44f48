"""Importers for the official release files, into ``<instance>/codes/``.

Every importer reads and validates the whole file first, and only then
writes the new table, atomically, over the file of the same release. A bad
file (wrong layout, bad dates, truncated, or much smaller than the release
it would replace) raises :class:`ImportFailed` and leaves every existing
table untouched.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

from .engine import BUNDLED_DIR, find_tables
from .systems import System, icd_key, lookup_key
from .table import CodeTable, Row, TableFormatError, TableInfo, parse_day, read_info, read_table, write_table

Progress = Callable[[int, int], None]
"""Called as ``progress(lines_done, lines_total)`` while a file is read."""

SHRINK_LIMIT = 0.9
_MAX_ERRORS = 5
_YEAR = re.compile(r"(?<![0-9])(20[0-9]{2})(?![0-9])")
_PROGRESS_EVERY = 2000


class ImportFailed(Exception):
    """The file was rejected and nothing was replaced; the message says why."""


class _Errors:
    """Collects line errors so one run reports the first few, not just one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.messages: list[str] = []
        self.count = 0

    def add(self, number: int | None, message: str) -> None:
        """Record a problem; ``number`` is None for whole-file problems."""
        self.count += 1
        if len(self.messages) < _MAX_ERRORS:
            self.messages.append(f"line {number}: {message}" if number else message)

    def raise_if_any(self) -> None:
        if self.count:
            more = f" (and {self.count - len(self.messages)} more)" if self.count > len(self.messages) else ""
            raise ImportFailed(f"{self.path.name} was not imported: " + "; ".join(self.messages) + more)


def _read_lines(path: Path) -> list[str]:
    """File lines; CMS and CDC files are ASCII, some editors save them as cp1252."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ImportFailed(f"cannot read {path}: {error.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    return text.splitlines()


def _year(path: Path, year: int | None) -> int:
    if year is not None:
        return year
    match = _YEAR.search(path.name)
    if not match:
        raise ImportFailed(f"cannot tell the year from the name {path.name!r}: give --year")
    return int(match.group(1))


def _tick(progress: Progress | None, done: int, total: int) -> None:
    if progress and (done % _PROGRESS_EVERY == 0 or done == total):
        progress(done, total)


def _install(table: CodeTable, instance_dir: Path, force: bool) -> TableInfo:
    """Write the table unless it would silently shrink the release it replaces."""
    if not len(table):
        raise ImportFailed(f"{table.info.source} holds no codes")
    target = Path(instance_dir) / "codes" / f"{table.info.name}.codes.gz"
    if target.exists() and not force:
        try:
            previous = read_info(target, "instance").count
        except (TableFormatError, OSError):
            previous = 0
        if len(table) < SHRINK_LIMIT * previous:
            raise ImportFailed(
                f"{table.info.source} has {len(table):,} codes but the {table.info.release} table it would replace "
                f"has {previous:,}: the file looks truncated (use --force if the smaller table is right)"
            )
    write_table(table, target)
    return read_info(target, "instance")


def _tidy(text: str) -> str:
    return " ".join(text.split())


# -- ICD-10-CM: CDC order file ------------------------------------------------


def parse_icd10cm_order(path: Path, progress: Progress | None = None) -> list[Row]:
    """Rows of a CDC ``icd10cm-order-YYYY.txt`` file, or ImportFailed.

    Layout (1-based columns): order number 1-5, code 7-13 (no dot),
    0 header / 1 billable at 15, short description 17-76, long 78-end.
    """
    lines = _read_lines(path)
    errors = _Errors(path)
    rows: list[Row] = []
    expected_order: int | None = None
    for number, line in enumerate(lines, start=1):
        _tick(progress, number, len(lines))
        if not line.strip():
            continue
        row, order, message = _icd_line(line)
        if message:
            errors.add(number, message)
            continue
        if expected_order is not None and order != expected_order:
            errors.add(number, f"order number {order} follows {expected_order - 1}: lines missing or out of order")
        expected_order = order + 1
        rows.append(row)
    _check_icd_tree(rows, errors)
    errors.raise_if_any()
    return rows


def _icd_line(line: str) -> tuple[Row, int, str]:
    order, code, flag = line[0:5].strip(), line[6:13].strip(), line[14:15]
    long_text = _tidy(line[77:])
    empty = Row("", "B", "")
    if not order.isdigit():
        return empty, 0, "order number (columns 1-5) is not a number: not a CDC order file"
    if icd_key(code) != code:
        return empty, 0, f"{code!r} (columns 7-13) is not an ICD-10-CM code"
    if flag not in ("0", "1"):
        return empty, 0, f"header/billable flag (column 15) is {flag!r}, not 0 or 1"
    if not long_text:
        return empty, 0, f"{code} has no long description (columns 78-end): line truncated?"
    return Row(code, "B" if flag == "1" else "H", long_text), int(order), ""


def _check_icd_tree(rows: list[Row], errors: _Errors) -> None:
    """Headers must have codes under them and billable codes none; catches truncation."""
    codes = sorted(r.code for r in rows)
    kinds = {r.code: r.kind for r in rows}
    if len(kinds) != len(rows):
        errors.add(None, "a code appears twice")
    for code, following in zip(codes, codes[1:] + [""], strict=False):
        has_children = following.startswith(code)
        if kinds[code] == "H" and not has_children:
            errors.add(None, f"header {code} has no codes under it: file truncated?")
        elif kinds[code] == "B" and has_children:
            errors.add(None, f"{code} is flagged billable but has codes under it")
        if code[:3] not in kinds:
            errors.add(None, f"{code} has no category {code[:3]}")


def import_icd10cm(
    path: Path,
    instance_dir: Path,
    year: int | None = None,
    effective_from: date | None = None,
    progress: Progress | None = None,
    force: bool = False,
) -> TableInfo:
    """Import a CDC order file for fiscal ``year`` (Oct 1 of year-1 to Sep 30).

    ``effective_from`` narrows the start for an April update (e.g. 2026-04-01),
    which is then stored beside the October release rather than over it.
    """
    path = Path(path)
    fiscal = _year(path, year)
    start = effective_from or date(fiscal - 1, 10, 1)
    suffix = "" if effective_from is None else f"-{start:%Y%m%d}"
    info = TableInfo(
        name=f"icd10cm-fy{fiscal}{suffix}",
        system=System.ICD10CM,
        release=f"FY{fiscal}" + (f" (from {start})" if effective_from else ""),
        source=f"CDC ICD-10-CM order file {path.name}",
        licence="public domain (US government work, CDC/NCHS)",
        effective_from=start,
        effective_to=date(fiscal, 9, 30),
    )
    return _install(CodeTable.from_rows(info, parse_icd10cm_order(path, progress)), instance_dir, force)


# -- HCPCS Level II: CMS ANWEB fixed-width file --------------------------------


def parse_hcpcs_anweb(path: Path, progress: Progress | None = None) -> tuple[list[Row], list[Row]]:
    """(codes, modifiers) of a CMS ``HCPC<year>_..._ANWEB`` file, or ImportFailed.

    Layout (1-based columns): code 1-5, record id 11 (3 code, 4 its
    continuation, 7 modifier, 8 its continuation), long description 12-91,
    short description 92-119, added 269-276, action effective 277-284,
    terminated 285-292 (the last day the code may be used), all YYYYMMDD.
    """
    lines = _read_lines(path)
    errors = _Errors(path)
    records: dict[str, dict[str, object]] = {}
    current: dict[str, object] | None = None
    for number, line in enumerate(lines, start=1):
        _tick(progress, number, len(lines))
        if not line.strip():
            continue
        current = _hcpcs_line(line.ljust(320), number, current, records, errors)
    errors.raise_if_any()
    codes = [_hcpcs_row(r) for r in records.values() if r["kind"] == "3"]
    modifiers = [_hcpcs_row(r) for r in records.values() if r["kind"] == "7"]
    return codes, modifiers


def _hcpcs_line(
    line: str, number: int, current: dict[str, object] | None, records: dict[str, dict[str, object]], errors: _Errors
) -> dict[str, object] | None:
    code, record_id, text = line[0:5].strip(), line[10], _tidy(line[11:91])
    if record_id in "48":
        if current is None or current["code"] != code or current["kind"] != str(int(record_id) - 1):
            errors.add(number, f"continuation record for {code!r} does not follow its first record")
        else:
            current["description"] = f"{current['description']} {text}".strip()
        return current
    if record_id not in "37":
        errors.add(number, f"record id (column 11) is {record_id!r}, not 3, 4, 7 or 8: not a CMS ANWEB file")
        return None
    system = System.HCPCS if record_id == "3" else System.MODIFIER
    if lookup_key(code, system) is None:
        errors.add(number, f"{code!r} (columns 1-5) is not a {system.label} code")
        return None
    if code in records:
        errors.add(number, f"{code} appears twice")
        return None
    try:
        added = parse_day(line[268:276], "added date (columns 269-276)")
        parse_day(line[276:284], "action effective date (columns 277-284)")
        ended = parse_day(line[284:292], "termination date (columns 285-292)")
    except TableFormatError as error:
        errors.add(number, f"{code}: {error}")
        return None
    if added is None:
        errors.add(number, f"{code} has no added date (columns 269-276): line truncated?")
        return None
    if ended and ended < added:
        errors.add(number, f"{code} ends on {ended}, before it was added on {added}")
    record: dict[str, object] = {"code": code, "kind": record_id, "description": text or _tidy(line[91:119]),
                                 "added": added, "terminated": ended}
    records[code] = record
    return record


def _hcpcs_row(record: dict[str, object]) -> Row:
    added, ended = record["added"], record["terminated"]
    assert isinstance(added, date) and (ended is None or isinstance(ended, date))
    return Row(str(record["code"]), "B", str(record["description"]), added, ended)


def _bundled_cpt_modifiers() -> list[Row]:
    """CPT modifier codes (no descriptors) from the bundled modifier table."""
    tables = [i for i in find_tables(BUNDLED_DIR, "bundled") if i.system is System.MODIFIER]
    rows: list[Row] = []
    for info in tables[:1]:
        assert info.path is not None
        rows += [r for r in read_table(info.path, "bundled").rows() if r.kind == "C"]
    return rows


def import_hcpcs(
    path: Path, instance_dir: Path, year: int | None = None, progress: Progress | None = None, force: bool = False
) -> list[TableInfo]:
    """Import a CMS ANWEB file: the HCPCS table and the modifier table for the calendar year."""
    path = Path(path)
    calendar = _year(path, year)
    codes, level2 = parse_hcpcs_anweb(path, progress)
    if not codes:
        raise ImportFailed(f"{path.name} was not imported: it has no HCPCS code records (record id 3)")
    common = dict(source=f"CMS HCPCS file {path.name}", licence="public domain (CMS)",
                  effective_from=date(calendar, 1, 1), effective_to=date(calendar, 12, 31))
    hcpcs = TableInfo(name=f"hcpcs-{calendar}", system=System.HCPCS, release=f"HCPCS {calendar}", **common)
    modifiers = TableInfo(name=f"modifiers-{calendar}", system=System.MODIFIER,
                          release=f"modifiers {calendar} (HCPCS Level II + CPT codes)", **common)
    level2_codes = {r.code for r in level2}
    cpt_modifiers = [r for r in _bundled_cpt_modifiers() if r.code not in level2_codes]
    results = [_install(CodeTable.from_rows(hcpcs, codes), instance_dir, force)]
    if level2:
        results.append(_install(CodeTable.from_rows(modifiers, level2 + cpt_modifiers), instance_dir, force))
    return results


# -- CPT: the office's licensed file --------------------------------------------


def parse_cpt(path: Path, progress: Progress | None = None) -> list[Row]:
    """Rows of a CSV or tab-separated file of code, description (header row optional)."""
    lines = _read_lines(path)
    errors = _Errors(path)
    delimiter = "\t" if lines and "\t" in lines[0] else ","
    rows: dict[str, Row] = {}
    for number, fields in enumerate(csv.reader(lines, delimiter=delimiter), start=1):
        _tick(progress, number, len(lines))
        if not fields or not "".join(fields).strip():
            continue
        code = fields[0].strip().upper()
        if number == 1 and lookup_key(code, System.CPT) is None and not code[:1].isdigit():
            continue  # a header row such as "code,description"
        _cpt_row(code, fields, number, rows, errors)
    errors.raise_if_any()
    return list(rows.values())


def _cpt_row(code: str, fields: list[str], number: int, rows: dict[str, Row], errors: _Errors) -> None:
    description = _tidy(fields[1]) if len(fields) > 1 else ""
    if lookup_key(code, System.CPT) is None:
        errors.add(number, f"{code!r} is not a CPT code (5 digits, or 4 digits and F, T, U, A or M)")
    elif not description:
        errors.add(number, f"{code} has no description")
    elif code in rows:
        errors.add(number, f"{code} appears twice")
    else:
        rows[code] = Row(code, "B", description)


def import_cpt(
    path: Path, instance_dir: Path, year: int | None = None, progress: Progress | None = None, force: bool = False
) -> TableInfo:
    """Import the office's licensed CPT file for a calendar year. It stays in the instance, never in git."""
    path = Path(path)
    calendar = _year(path, year)
    info = TableInfo(
        name=f"cpt-{calendar}",
        system=System.CPT,
        release=f"CPT {calendar}",
        source=f"office CPT file {path.name}",
        licence="AMA CPT, licensed to this office: do not redistribute",
        effective_from=date(calendar, 1, 1),
        effective_to=date(calendar, 12, 31),
    )
    return _install(CodeTable.from_rows(info, parse_cpt(path, progress)), instance_dir, force)
