"""Importers for the official release files, into ``<instance>/codes/``.

Each import runs in two steps so the admin pages can show a preview:
``prepare_*`` reads and validates the whole file (plain text, or the zip
CMS/CDC ship it in) and builds the new tables in memory; :func:`install`
writes them, atomically, over the files of the same release. A bad file
(wrong layout or width, bad dates, truncated, reordered, of another year
than it claims, or much smaller than the release it would replace) raises
:class:`ImportFailed` naming the line and the problem, and leaves every
existing table untouched. ``import_*`` do both steps (the CLI).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable
from datetime import date
from itertools import repeat
from pathlib import Path

from .engine import BUNDLED_DIR, find_tables
from .files import SourceError, read_source_lines
from .systems import ICD_KEY, System, lookup_key
from .table import CodeTable, Row, TableFormatError, TableInfo, parse_day, read_info, read_table, write_table

Rows = list[tuple[str, str, str, date | None, date | None]]
"""Rows as plain tuples in :class:`Row`'s field order (code, kind, description, added, terminated)."""

Progress = Callable[[int, int], None]
"""Called as ``progress(lines_done, lines_total)`` while a file is read."""

SHRINK_LIMIT = 0.9
HCPCS_WIDTH = 320
_MAX_ERRORS = 5
_YEAR = re.compile(r"(?<![0-9])(20[0-9]{2})(?![0-9])")
_CHUNK = 2000  # lines between progress calls
_ICD_MEMBER = re.compile(r"^icd10cm[-_]order[-_ ].*\.txt$", re.IGNORECASE)
_HCPCS_MEMBER = re.compile(r"^HCPC20[0-9]{2}_.*ANWEB.*\.txt$", re.IGNORECASE)
_CPT_MEMBER = re.compile(r"\.(csv|tsv|txt)$", re.IGNORECASE)


class ImportFailed(Exception):
    """The file was rejected and nothing was replaced; the message says why."""


class _Errors:
    """Collects line errors so one run reports the first few, not just one."""

    def __init__(self, name: str) -> None:
        self.name = name
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
            raise ImportFailed(f"{self.name} was not imported: " + "; ".join(self.messages) + more)


def _lines(path: Path, member: re.Pattern[str], what: str) -> tuple[list[str], str]:
    try:
        return read_source_lines(Path(path), member, what)
    except SourceError as error:
        raise ImportFailed(str(error)) from None


def _year(path: Path, source: str, year: int | None) -> int:
    """The release year: ``year`` if given, else from the file name; a zip and its member must agree."""
    named = [int(m.group(1)) for name in dict.fromkeys((Path(path).name, source)) if (m := _YEAR.search(name))]
    if year is None:
        if not named:
            raise ImportFailed(f"cannot tell the year from the name {Path(path).name!r}: give the year (--year)")
        year = named[0]
    wrong = [n for n in named if n != year]
    if wrong:
        raise ImportFailed(f"{source} is named for {wrong[0]} but is being imported as {year}: "
                           "is it the right year's file?")
    return year


def _chunks(lines: list[str], progress: Progress | None) -> Iterable[tuple[int, list[str]]]:
    """(first line number, lines) in chunks, reporting progress between them."""
    total = len(lines)
    for start in range(0, total, _CHUNK):
        yield start + 1, lines[start : start + _CHUNK]
        if progress:
            progress(min(start + _CHUNK, total), total)
    if progress and not total:
        progress(0, 0)


def _tidy(text: str) -> str:
    return " ".join(text.split())


def install(tables: list[CodeTable], instance_dir: Path, force: bool = False) -> list[TableInfo]:
    """Write prepared tables, unless one would silently shrink the release it replaces."""
    for table in tables:
        if not len(table):
            raise ImportFailed(f"{table.info.source} holds no codes")
        previous = installed_count(table.info.name, instance_dir)
        if not force and len(table) < SHRINK_LIMIT * previous:
            raise ImportFailed(
                f"{table.info.source} has {len(table):,} codes but the {table.info.release} table it would replace "
                f"has {previous:,}: the file looks truncated (use --force if the smaller table is right)"
            )
    infos = []
    for table in tables:
        target = Path(instance_dir) / "codes" / f"{table.info.name}.codes.gz"
        write_table(table, target)
        infos.append(read_info(target, "instance"))
    return infos


def installed_count(name: str, instance_dir: Path) -> int:
    """Codes in the instance table of that name (0 when there is none)."""
    target = Path(instance_dir) / "codes" / f"{name}.codes.gz"
    try:
        return read_info(target, "instance").count if target.exists() else 0
    except (TableFormatError, OSError):
        return 0


# -- ICD-10-CM: CDC order file ------------------------------------------------


def parse_icd10cm_order(path: Path, progress: Progress | None = None) -> Rows:
    """Rows of a CDC ``icd10cm-order-YYYY.txt`` file (or the zip holding it), or ImportFailed."""
    lines, source = _lines(path, _ICD_MEMBER, "ICD-10-CM order file (icd10cm-order-YYYY.txt)")
    return _icd_rows(lines, source, progress)


def _icd_rows(lines: list[str], source: str, progress: Progress | None) -> Rows:
    """Layout (1-based columns): order number 1-5, code 7-13 (no dot),
    0 header / 1 billable at 15, short description 17-76, long 78-end.

    Checked column by column (plain slicing in list comprehensions); only a
    file that fails goes through the line-by-line pass that names each problem.
    """
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    total = len(lines)
    orders = [line[0:5] for line in lines]
    codes = [line[6:13].rstrip() for line in lines]
    flags = "".join([line[14:15] for line in lines])
    texts = [line[77:].strip() for line in lines]
    if progress:
        progress(total // 2, total)
    match = ICD_KEY.fullmatch
    clean = (orders == [f"{n:05d}" for n in range(1, total + 1)]
             and len(flags) == total and not flags.strip("01")
             and all(texts) and all(map(match, codes)))
    if not clean:
        _icd_line_errors(lines, source)
    kinds = flags.replace("1", "B").replace("0", "H")
    texts = [_tidy(text) if "  " in text else text for text in texts]
    _check_icd_tree(codes, kinds, source)
    if progress:
        progress(total, total)
    none = repeat(None)
    # plain tuples in Row's field order: a Row each costs 2x
    return list(zip(codes, kinds, texts, none, none, strict=False))


def _icd_line_errors(lines: list[str], source: str) -> None:
    """The slow pass over a bad file: raise ImportFailed naming the lines and problems."""
    errors = _Errors(source)
    expected = 1
    for number, line in enumerate(lines, start=1):
        order, code, flag, text = line[0:5], line[6:13].rstrip(), line[14:15], line[77:].strip()
        if not order.isdigit():
            errors.add(number, "order number (columns 1-5) is not a number: not a CDC order file"
                       if line.strip() else "blank line inside the file")
            continue
        if ICD_KEY.fullmatch(code) is None:
            errors.add(number, f"{code!r} (columns 7-13) is not an ICD-10-CM code")
        elif flag not in ("0", "1"):
            errors.add(number, f"header/billable flag (column 15) is {flag!r}, not 0 or 1")
        elif not text:
            errors.add(number, f"{code} has no long description (columns 78-end): line truncated?")
        if int(order) != expected:
            errors.add(number, f"order number {int(order)} follows {expected - 1}: lines missing or out of order")
        expected = int(order) + 1
    errors.add(None, "the file does not follow the CDC order-file layout")
    errors.raise_if_any()


def _check_icd_tree(codes: list[str], kinds: str, source: str) -> None:
    """Headers must have codes under them and billable codes none; catches truncation."""
    errors = _Errors(source)
    kind_of = dict(zip(codes, kinds, strict=False))
    if len(kind_of) != len(codes):
        errors.add(None, "a code appears twice")
    ordered = sorted(kind_of)
    has_children = list(map(str.startswith, ordered[1:] + [""], ordered))
    actual = kinds if ordered == codes else "".join(map(kind_of.__getitem__, ordered))
    expected = "".join(["H" if children else "B" for children in has_children])
    if expected != actual or not {code[:3] for code in ordered} <= kind_of.keys():
        for code, children in zip(ordered, has_children, strict=True):
            if kind_of[code] == "H" and not children:
                errors.add(None, f"header {code} has no codes under it: file truncated?")
            elif kind_of[code] == "B" and children:
                errors.add(None, f"{code} is flagged billable but has codes under it")
            if code[:3] not in kind_of:
                errors.add(None, f"{code} has no category {code[:3]}")
    errors.raise_if_any()


def prepare_icd10cm(path: Path, year: int | None = None, effective_from: date | None = None,
                    progress: Progress | None = None) -> list[CodeTable]:
    """The table of a CDC order file for fiscal ``year`` (Oct 1 of year-1 to Sep 30).

    ``effective_from`` narrows the start for an April update (e.g. 2026-04-01),
    which is then stored beside the October release rather than over it.
    """
    path = Path(path)
    lines, source = _lines(path, _ICD_MEMBER, "ICD-10-CM order file (icd10cm-order-YYYY.txt)")
    fiscal = _year(path, source, year)
    rows = _icd_rows(lines, source, progress)
    start = effective_from or date(fiscal - 1, 10, 1)
    suffix = "" if effective_from is None else f"-{start:%Y%m%d}"
    info = TableInfo(
        name=f"icd10cm-fy{fiscal}{suffix}",
        system=System.ICD10CM,
        release=f"FY{fiscal}" + (f" (from {start})" if effective_from else ""),
        source=f"CDC ICD-10-CM order file {source}",
        licence="public domain (US government work, CDC/NCHS)",
        effective_from=start,
        effective_to=date(fiscal, 9, 30),
    )
    return [CodeTable.from_rows(info, rows)]


def import_icd10cm(path: Path, instance_dir: Path, year: int | None = None, effective_from: date | None = None,
                   progress: Progress | None = None, force: bool = False) -> TableInfo:
    """Import a CDC order file (or the code-descriptions zip holding it)."""
    return install(prepare_icd10cm(path, year, effective_from, progress), instance_dir, force)[0]


# -- HCPCS Level II: CMS ANWEB fixed-width file --------------------------------


def parse_hcpcs_anweb(path: Path, progress: Progress | None = None,
                      year: int | None = None) -> tuple[Rows, Rows]:
    """(codes, modifiers) of a CMS ``HCPC<year>_..._ANWEB`` file (or the zip holding it), or ImportFailed."""
    lines, source = _lines(path, _HCPCS_MEMBER, "HCPCS ANWEB text file (HCPC<year>_..._ANWEB...txt)")
    return _hcpcs_rows(lines, source, progress, year)


def _hcpcs_rows(lines: list[str], source: str, progress: Progress | None,
                year: int | None) -> tuple[Rows, Rows]:
    """Layout (1-based columns): code 1-5, record id 11 (3 code, 4 its
    continuation, 7 modifier, 8 its continuation), long description 12-91,
    short description 92-119, added 269-276, action effective 277-284,
    terminated 285-292 (the last day the code may be used), all YYYYMMDD.
    Records are 320 characters; trailing blanks beyond that are padding.

    Column by column with plain slicing in list comprehensions, and each
    distinct date parsed once: a per-record loop with a branch per check
    cost 9x the time of reading the file; this stays within 3x.
    """
    errors = _Errors(source)
    total = len(lines)
    ids = [line[10:11] for line in lines]
    blank = {i for i, line in enumerate(lines) if len(line) != HCPCS_WIDTH and not line.strip()}
    for i in (i for i, line in enumerate(lines) if len(line) != HCPCS_WIDTH):
        if i not in blank and ids[i] in _RECORD_IDS and (len(lines[i]) < HCPCS_WIDTH or lines[i][HCPCS_WIDTH:].strip()):
            errors.add(i + 1, f"record is {len(lines[i])} characters wide, not {HCPCS_WIDTH}: "
                              "truncated or not a CMS ANWEB file")
    for i in (i for i, r in enumerate(ids) if r not in _RECORD_IDS and i not in blank):
        errors.add(i + 1, f"record id (column 11) is {ids[i]!r}, not 3, 4, 7 or 8: not a CMS ANWEB file")
    if progress:
        progress(total // 2, total)
    heads = [i for i, r in enumerate(ids) if r == "3" or r == "7"]
    codes = [lines[i][0:5].strip() for i in heads]
    texts = [lines[i][11:91].rstrip() or lines[i][91:119].rstrip() for i in heads]
    for k, (head, end) in enumerate(zip(heads, heads[1:] + [total], strict=False)):
        if end - head > 1:  # continuation records (or blank lines) follow
            texts[k] = _continued(lines, ids, head, end, codes[k], texts[k], errors)
    for i in range(heads[0] if heads else total):
        if ids[i] in ("4", "8"):
            errors.add(i + 1, f"continuation record for {lines[i][0:5].strip()!r} does not follow its first record")
    if len(set(codes)) != len(codes):
        seen: set[str] = set()
        for i, code in zip(heads, codes, strict=False):
            if code in seen:
                errors.add(i + 1, f"{code} appears twice")
            seen.add(code)
    # Columns of plain strings, not a tuple per record: tuples would wake the garbage collector.
    added = [lines[i][268:276] for i in heads]
    effective = [lines[i][276:284] for i in heads]
    ended = [lines[i][284:292] for i in heads]
    days = _hcpcs_days(heads, codes, ids, added, effective, ended, errors)
    errors.raise_if_any()
    if progress:
        progress(total, total)
    latest = max((days[stamp] or date.min for stamp in set(effective)), default=date.min)
    if year is not None and heads and latest.year != year:
        raise ImportFailed(f"{source} was not imported: its latest changes take effect on {latest}, so it is the "
                           f"{latest.year} file, not {year}")
    texts = [_tidy(text) if "  " in text else text for text in texts]
    rows = list(zip(codes, "B" * len(codes), texts, map(days.__getitem__, added),
                    map(days.__getitem__, ended), strict=False))
    return ([row for row, i in zip(rows, heads, strict=False) if ids[i] == "3"],
            [row for row, i in zip(rows, heads, strict=False) if ids[i] == "7"])


_RECORD_IDS = frozenset("3478")


def _continued(lines: list[str], ids: list[str], head: int, end: int, code: str, text: str,
               errors: _Errors) -> str:
    """A description with its continuation records (4 after 3, 8 after 7) joined by single spaces."""
    wanted = "4" if ids[head] == "3" else "8"
    parts = [text]
    for i in range(head + 1, end):
        if ids[i] not in _RECORD_IDS:
            continue  # blank padding, or already reported
        if ids[i] != wanted or lines[i][0:5].strip() != code:
            errors.add(i + 1, f"continuation record for {lines[i][0:5].strip()!r} does not follow its first record")
        else:
            parts.append(lines[i][11:91].strip())
    return " ".join(parts)


def _hcpcs_days(heads: list[int], codes: list[str], ids: list[str], added: list[str], effective: list[str],
                ended: list[str], errors: _Errors) -> dict[str, date | None]:
    """Check the records' codes and dates in bulk; the few hundred distinct dates are parsed once."""
    days: dict[str, date | None] = {}
    for stamp in set(added) | set(effective) | set(ended):
        try:
            days[stamp] = parse_day(stamp)
        except TableFormatError:
            pass
    shape = {"3": re.compile(r"[A-Z][0-9]{4}").fullmatch, "7": re.compile(r"[0-9A-Z]{2}").fullmatch}
    bad = [k for k, (code, a, e, t) in enumerate(zip(codes, added, effective, ended, strict=False))
           if shape[ids[heads[k]]](code) is None or a not in days or e not in days or t not in days
           or days[a] is None or (days[t] is not None and days[t] < days[a])]  # type: ignore[operator]
    for k in bad:
        number, code, a, e, t = heads[k] + 1, codes[k], added[k], effective[k], ended[k]
        if shape[ids[heads[k]]](code) is None:
            what = 'HCPCS' if ids[heads[k]] == '3' else 'modifier'
            errors.add(number, f"{code!r} (columns 1-5) is not a {what} code")
        elif a not in days or e not in days or t not in days:
            errors.add(number, f"{code}: {_bad_date(a + e + t)}")
        elif days[a] is None:
            errors.add(number, f"{code} has no added date (columns 269-276): line truncated?")
        else:
            errors.add(number, f"{code} ends on {days[t]}, before it was added on {days[a]}")
    return days


_DATE_FIELDS = ((0, "added date (columns 269-276)"), (8, "action effective date (columns 277-284)"),
                (16, "termination date (columns 285-292)"))


def _bad_date(stamps: str) -> str:
    """Which of a record's three dates (columns 269-292) is not a date, for the error message."""
    for offset, what in _DATE_FIELDS:
        try:
            parse_day(stamps[offset : offset + 8], what)
        except TableFormatError as error:
            return str(error)
    return "bad date"


def bundled_cpt_modifiers() -> list[Row]:
    """CPT modifier codes (kind C, no descriptors) from the bundled modifier table."""
    tables = [i for i in find_tables(BUNDLED_DIR, "bundled") if i.system is System.MODIFIER]
    rows: list[Row] = []
    for info in tables[:1]:
        assert info.path is not None
        rows += [r for r in read_table(info.path, "bundled").rows() if r.kind == "C"]
    return rows


def hcpcs_tables(codes: Rows, level2: Rows, cpt_modifiers: Rows | list[Row], year: int,
                 source: str) -> list[CodeTable]:
    """The HCPCS table and the modifier table (Level II + CPT modifier codes) for a calendar year."""
    common = dict(source=f"CMS HCPCS file {source}", licence="public domain (CMS)",
                  effective_from=date(year, 1, 1), effective_to=date(year, 12, 31))
    hcpcs = TableInfo(name=f"hcpcs-{year}", system=System.HCPCS, release=f"HCPCS {year}", **common)
    modifiers = TableInfo(name=f"modifiers-{year}", system=System.MODIFIER,
                          release=f"modifiers {year} (HCPCS Level II + CPT codes)",
                          **(common | {"licence": "Level II: public domain (CMS); CPT modifier codes only, "
                                                  "AMA descriptors not included"}))
    level2_codes = {r[0] for r in level2}
    cpt = [r for r in cpt_modifiers if r[0] not in level2_codes]
    tables = [CodeTable.from_rows(hcpcs, codes)]
    if level2:
        tables.append(CodeTable.from_rows(modifiers, level2 + cpt))
    return tables


def prepare_hcpcs(path: Path, year: int | None = None, progress: Progress | None = None) -> list[CodeTable]:
    """The HCPCS and modifier tables of a CMS ANWEB file (or the quarterly zip holding it)."""
    path = Path(path)
    lines, source = _lines(path, _HCPCS_MEMBER, "HCPCS ANWEB text file (HCPC<year>_..._ANWEB...txt)")
    calendar = _year(path, source, year)
    codes, level2 = _hcpcs_rows(lines, source, progress, calendar)
    if not codes:
        raise ImportFailed(f"{source} was not imported: it has no HCPCS code records (record id 3)")
    return hcpcs_tables(codes, level2, bundled_cpt_modifiers(), calendar, source)


def import_hcpcs(path: Path, instance_dir: Path, year: int | None = None, progress: Progress | None = None,
                 force: bool = False) -> list[TableInfo]:
    """Import a CMS ANWEB file: the HCPCS table and the modifier table for the calendar year."""
    return install(prepare_hcpcs(path, year, progress), instance_dir, force)


# -- CPT: the office's licensed file --------------------------------------------


def parse_cpt(path: Path, progress: Progress | None = None) -> list[Row]:
    """Rows of a CSV or tab-separated file of code, description (header row optional)."""
    lines, source = _lines(path, _CPT_MEMBER, "CPT file (.csv, .tsv or .txt)")
    return _cpt_rows(lines, source, progress)


def _cpt_rows(lines: list[str], source: str, progress: Progress | None) -> list[Row]:
    errors = _Errors(source)
    delimiter = "\t" if lines and "\t" in lines[0] else ","
    rows: dict[str, Row] = {}
    for first, chunk in _chunks(lines, progress):
        for number, fields in enumerate(csv.reader(chunk, delimiter=delimiter), start=first):
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


def prepare_cpt(path: Path, year: int | None = None, progress: Progress | None = None) -> list[CodeTable]:
    """The table of the office's licensed CPT file for a calendar year."""
    path = Path(path)
    lines, source = _lines(path, _CPT_MEMBER, "CPT file (.csv, .tsv or .txt)")
    calendar = _year(path, source, year)
    info = TableInfo(
        name=f"cpt-{calendar}",
        system=System.CPT,
        release=f"CPT {calendar}",
        source=f"office CPT file {source}",
        licence="AMA CPT, licensed to this office: do not redistribute",
        effective_from=date(calendar, 1, 1),
        effective_to=date(calendar, 12, 31),
    )
    return [CodeTable.from_rows(info, _cpt_rows(lines, source, progress))]


def import_cpt(path: Path, instance_dir: Path, year: int | None = None, progress: Progress | None = None,
               force: bool = False) -> TableInfo:
    """Import the office's licensed CPT file for a calendar year. It stays in the instance, never in git."""
    return install(prepare_cpt(path, year, progress), instance_dir, force)[0]
