"""The code engine: which table is in force on a date, checks and search.

Tables are found in two places: ``codes/`` in the source tree (bundled) and
``<instance>/codes/`` (imported; kept across upgrades). For one system and
one date of service the engine uses exactly one table: among the tables of
that system in force on the date, an imported one beats a bundled one, then
the later ``effective_from`` wins. Table bodies load on first use, once per
process; listing tables reads only their headers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from .search import words
from .systems import (
    System,
    clean,
    describe_format,
    display_code,
    infer_systems,
    is_icd_block,
    lookup_key,
    normalise,
)
from .table import REPORTABLE, SUFFIXES, CodeTable, Origin, TableInfo, read_info, read_table

BUNDLED_DIR = Path(__file__).resolve().parent / "tables"
CHILDREN_SHOWN = 50
_MEMO_MAX = 100_000


class Status(StrEnum):
    """Why a code is or is not valid; ``valid`` and ``unverified`` pass.

    ``provisional``: no table covers the date of service, and the code is
    reportable in the nearest loaded release. The desk may use it; billing
    holds the visit until the release of the date is imported.
    """

    VALID = "valid"
    UNVERIFIED = "unverified"
    PROVISIONAL = "provisional"
    HEADER = "header"
    BLOCK = "block"
    UNKNOWN = "unknown"
    TERMINATED = "terminated"
    NOT_YET_EFFECTIVE = "not_yet_effective"
    NO_TABLE = "no_table"
    MALFORMED = "malformed"
    AMBIGUOUS = "ambiguous"


_FOUND = frozenset({Status.VALID, Status.HEADER, Status.TERMINATED, Status.NOT_YET_EFFECTIVE})


@dataclass(frozen=True, slots=True)
class CodeRef:
    """A code and its description, e.g. a billable child of a header."""

    code: str
    display: str


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The explained answer to "may this code go on a claim for this date?".

    ``valid`` is True for a reportable code in force on the date, and for a
    well-formed CPT code when no CPT table is loaded (``verified`` False,
    ``billable`` None). ``children`` lists billable codes under a header.
    ``provisional`` is True (and ``valid`` False) when the code was checked
    against the nearest loaded release, named in ``table``, because none
    covers the date; ``accepted`` says whether the desk may use the code.
    """

    input: str
    code: str
    system: System | None
    status: Status
    valid: bool
    billable: bool | None
    display: str
    reason: str
    date_of_service: date
    table: str | None = None
    verified: bool = True
    children: tuple[CodeRef, ...] = ()
    children_total: int = 0
    provisional: bool = False

    @property
    def accepted(self) -> bool:
        """The desk may put the code on a visit: valid, or provisional (billing then holds the visit)."""
        return self.valid or self.provisional

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form, the shape of ``intake codes check --json``."""
        return {
            "input": self.input,
            "code": self.code,
            "system": str(self.system) if self.system else None,
            "valid": self.valid,
            "provisional": self.provisional,
            "billable": self.billable,
            "verified": self.verified,
            "status": str(self.status),
            "display": self.display,
            "reason": self.reason,
            "date_of_service": self.date_of_service.isoformat(),
            "table": self.table,
            "children": [{"code": c.code, "display": c.display} for c in self.children],
            "children_total": self.children_total,
        }


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One search result."""

    code: str
    system: System
    display: str
    billable: bool
    table: str

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "system": str(self.system),
            "display": self.display,
            "billable": self.billable,
            "table": self.table,
        }


class _Today:
    """``date.today()`` costs ~0.5 us; re-read it only after local midnight."""

    def __init__(self) -> None:
        self._day = date.min
        self._until = 0.0

    def __call__(self) -> date:
        now = time.time()
        if now >= self._until:
            self._day = date.today()
            midnight = datetime.combine(self._day + timedelta(days=1), datetime.min.time())
            self._until = midnight.timestamp()
        return self._day


def find_tables(directory: Path, origin: Origin) -> list[TableInfo]:
    """Headers of every table file in a directory (missing directory: none)."""
    if not directory.is_dir():
        return []
    paths = sorted(p for p in directory.iterdir() if p.name.endswith(SUFFIXES) and not p.name.startswith("."))
    return [read_info(p, origin) for p in paths]


class CodeEngine:
    """Checks and searches codes against the tables in force on a date."""

    def __init__(self, infos: Iterable[TableInfo]) -> None:
        self._infos = sorted(infos, key=_priority)
        self._loaded: dict[Path | None, CodeTable] = {}
        self._lock = threading.Lock()
        # day -> system -> typed code -> result; nested so a hit builds no tuple key.
        self._memo: dict[date, dict[System | str | None, dict[str, CheckResult]]] = {}
        self._memo_size = 0
        self._today = _Today()

    @classmethod
    def from_tables(cls, tables: Iterable[CodeTable]) -> CodeEngine:
        """An engine over tables already in memory (tests, tools)."""
        tables = list(tables)
        engine = cls(t.info for t in tables)
        engine._loaded.update((t.info.path, t) for t in tables)
        return engine

    # -- tables ---------------------------------------------------------

    def tables(self) -> list[TableInfo]:
        """Every known table, imported first, then bundled, newest first."""
        return [self._loaded[i.path].info if i.path in self._loaded else i for i in self._infos]

    def load_all(self) -> None:
        """Load every table body now rather than on first use."""
        for info in self._infos:
            self._body(info)

    def table_for(self, system: System, day: date) -> CodeTable | None:
        """The table of a system in force on a day, or None."""
        for info in self._infos:
            if info.system is system and info.covers(day):
                return self._body(info)
        return None

    def _latest(self, system: System) -> CodeTable | None:
        infos = [i for i in self._infos if i.system is system]
        return self._body(max(infos, key=lambda i: i.effective_from or date.min)) if infos else None

    def _body(self, info: TableInfo) -> CodeTable:
        table = self._loaded.get(info.path)
        if table is None:
            with self._lock:
                table = self._loaded.get(info.path)
                if table is None:
                    assert info.path is not None
                    table = self._loaded[info.path] = read_table(info.path, info.origin)
        return table

    # -- check ----------------------------------------------------------

    def check(self, code: str, system: System | str | None = None, date_of_service: date | None = None) -> CheckResult:
        """Check one typed code; ``date_of_service`` defaults to today.

        Results are immutable and depend only on the arguments and the
        tables, so repeated checks of the same code are answered from a
        bounded memo (the front desk checks the same few hundred codes all day).
        """
        day = date_of_service or self._today()
        try:
            return self._memo[day][system][code]
        except KeyError:
            return self._remember(code, system, day)

    def _remember(self, code: str, system: System | str | None, day: date) -> CheckResult:
        result = self._check(code, System(system) if system else None, day)
        if self._memo_size >= _MEMO_MAX:
            self._memo.clear()
            self._memo_size = 0
        self._memo.setdefault(day, {}).setdefault(system, {})[code] = result
        self._memo_size += 1
        return result

    def _check(self, raw: str, system: System | None, day: date) -> CheckResult:
        if system is not None:
            return self._check_in(raw, system, day)
        candidates = infer_systems(clean(raw))
        if not candidates:
            code = normalise(raw)
            return CheckResult(raw, code, None, Status.MALFORMED, False, False, "",
                               f"{code or '(empty)'} does not look like any code this system checks", day)
        results = [self._check_in(raw, s, day) for s in candidates]
        found = [r for r in results if r.status in _FOUND]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            return _ambiguous(raw, found, day)
        first, *others = results
        if not others:
            return first
        also = "; ".join(r.reason for r in others)
        return replace(first, reason=f"{first.reason}; {also}")

    def _check_in(self, raw: str, system: System, day: date) -> CheckResult:
        code = normalise(raw, system)
        if system is System.ICD10CM and is_icd_block(code):
            return self._check_block(raw, code, day)
        key = lookup_key(code, system)
        if key is None:
            return CheckResult(raw, code, system, Status.MALFORMED, False, False, "",
                               f"{code or '(empty)'} is not a {system.label} code: "
                               f"expected {describe_format(system)}", day)
        table = self.table_for(system, day)
        if table is None:
            return self._no_table(raw, code, key, system, day)
        row = table.row(key)
        if row is None:
            return _unknown(raw, code, key, system, table, day)
        return _found(raw, code, system, table, row, day)

    def _check_block(self, raw: str, code: str, day: date) -> CheckResult:
        table = self.table_for(System.ICD10CM, day) or self._latest(System.ICD10CM)
        entry = table.outline.get(code) if table else None
        title = entry[1] if entry else ""
        reason = f"{code} is a range of ICD-10-CM categories" + (f" ({title})" if title else "") + ", not a code"
        status = Status.BLOCK if entry else Status.UNKNOWN
        return CheckResult(raw, code, System.ICD10CM, status, False, False, title, reason, day,
                           table.info.release if table else None)

    def _no_table(self, raw: str, code: str, key: str, system: System, day: date) -> CheckResult:
        if system is System.CPT:
            return CheckResult(raw, code, system, Status.UNVERIFIED, True, None, "",
                               f"format valid, not verified against a CPT table (none loaded for {day}; "
                               "the practice administrator imports the office's licensed file)", day, verified=False)
        nearest = self.nearest(system, day)
        if nearest is None:
            return CheckResult(raw, code, system, Status.NO_TABLE, False, False, "",
                               f"no {system.label} table is loaded; the practice administrator imports it "
                               "from the admin pages", day)
        row = nearest.row(key)
        if row is None:
            return _unknown(raw, code, key, system, nearest, day)
        found = _found(raw, code, system, nearest, row, day)
        if found.status is not Status.VALID or (nearest.kinds[row] == "C" and not nearest.terminated_on(row)):
            return found  # refused by the nearest release too; or a CPT modifier code, in force open-ended
        return replace(found, status=Status.PROVISIONAL, valid=False, provisional=True,
                       reason=f"provisional: checked against {release_name(nearest.info)}; "
                              f"the {missing_release(system, day)} table is not loaded")

    def nearest(self, system: System, day: date) -> CodeTable | None:
        """The loaded table of a system whose dates are closest to the day (imported first on a tie)."""
        def distance(info: TableInfo) -> int:
            if info.effective_from and day < info.effective_from:
                return (info.effective_from - day).days
            return (day - info.effective_to).days if info.effective_to and day > info.effective_to else 0

        infos = [i for i in self._infos if i.system is system]
        return self._body(min(infos, key=distance)) if infos else None

    # -- search ---------------------------------------------------------

    def search(self, text: str, system: System | str | None = None, limit: int = 20,
               date_of_service: date | None = None) -> list[SearchHit]:
        """Codes whose code starts with ``text``, or whose description has words starting with each word of it.

        Uses the table in force on the date (default today), or the newest
        table of the system when none is, so search-as-you-type never goes
        blank; ``check`` is what says whether a code may be billed.
        """
        day = date_of_service or self._today()
        systems = [System(system)] if system else list(System)
        tables = [t for t in (self.table_for(s, day) or self._latest(s) for s in systems) if t is not None]
        hits = _code_prefix_hits(tables, text, day, limit)
        prefixes = list(dict.fromkeys(words(text)))
        if len(hits) < limit and prefixes:
            seen = {(h.system, h.code) for h in hits}
            ranked = [h for t in tables for h in _word_hits(t, prefixes, day, limit)]
            ranked.sort(key=lambda h: (not h.billable, len(h.display), list(System).index(h.system), h.code))
            hits += [h for h in ranked if (h.system, h.code) not in seen][: limit - len(hits)]
        return hits


def missing_release(system: System, day: date) -> str:
    """The release that would cover a day: ``ICD-10-CM FY2027`` (October to September), ``HCPCS 2027``."""
    if system is System.ICD10CM:
        return f"ICD-10-CM FY{day.year + 1 if day.month >= 10 else day.year}"
    return f"{ {System.HCPCS: 'HCPCS', System.MODIFIER: 'modifiers'}.get(system, system.label)} {day.year}"


def release_name(info: TableInfo) -> str:
    """``ICD-10-CM FY2026 (...)``; the other systems' release names already say the system."""
    return f"ICD-10-CM {info.release}" if info.system is System.ICD10CM else info.release


def _priority(info: TableInfo) -> tuple[bool, int, str]:
    """Imported before bundled, then newest first."""
    start = info.effective_from.toordinal() if info.effective_from else 0
    return (info.origin != "instance", -start, info.name)


def _hit(table: CodeTable, row: int) -> SearchHit:
    system = table.info.system
    return SearchHit(display_code(table.codes[row], system), system, _display(table, row),
                     table.kinds[row] in REPORTABLE, table.info.release)


def _code_prefix_hits(tables: list[CodeTable], text: str, day: date, limit: int) -> list[SearchHit]:
    prefix = clean(text).replace(".", "")
    if not prefix or not any(ch.isdigit() for ch in prefix) or len(prefix) > 7:
        return []
    hits: list[SearchHit] = []
    for table in tables:
        ordinal = day.toordinal()
        rows = (r for r in table.prefix_rows(prefix) if table.in_force(r, ordinal))
        hits += [_hit(table, r) for _, r in zip(range(limit - len(hits)), rows, strict=False)]
    return hits


def _word_hits(table: CodeTable, prefixes: list[str], day: date, limit: int) -> list[SearchHit]:
    return [_hit(table, r) for r in table.search_rows(prefixes, day.toordinal(), limit)]


def _display(table: CodeTable, row: int) -> str:
    if table.kinds[row] == "C":
        return "CPT modifier (AMA descriptor not bundled)"
    return table.descriptions[row]


def _found(raw: str, code: str, system: System, table: CodeTable, row: int, day: date) -> CheckResult:
    release = table.info.release
    display = _display(table, row)
    if table.kinds[row] == "H":
        # Shortest descriptions first: the general codes a clerk most likely wants.
        children = sorted((r for r in table.prefix_rows(table.codes[row]) if table.kinds[r] in REPORTABLE),
                          key=lambda r: (len(table.descriptions[r]), r))
        refs = tuple(CodeRef(display_code(table.codes[r], system), table.descriptions[r])
                     for r in children[:CHILDREN_SHOWN])
        example = f", e.g. {refs[0].code}" if refs else ""
        return CheckResult(raw, code, system, Status.HEADER, False, False, display,
                           f"{code} is a header, not billable: "
                           f"use one of the {len(children)} billable codes under it{example}",
                           day, release, children=refs, children_total=len(children))
    added, ended = table.added_on(row), table.terminated_on(row)
    if added and day < added:
        return CheckResult(raw, code, system, Status.NOT_YET_EFFECTIVE, False, False, display,
                           f"{code} takes effect on {added}, after the date of service {day}", day, release)
    if ended and day > ended:
        return CheckResult(raw, code, system, Status.TERMINATED, False, False, display,
                           f"{code} was terminated: {ended} was the last day it could be used", day, release)
    return CheckResult(raw, code, system, Status.VALID, True, True, display,
                       f"valid {system.label} code in {release}", day, release)


def _unknown(raw: str, code: str, key: str, system: System, table: CodeTable, day: date) -> CheckResult:
    reason = f"{code} is not in the {system.label} table {table.info.release}"
    for length in range(len(key) - 1, 2, -1):
        nearest = table.row(key[:length])
        if nearest is not None:
            reason += (f"; nearest existing code: {display_code(table.codes[nearest], system)} "
                       f"({table.descriptions[nearest]})")
            break
    return CheckResult(raw, code, system, Status.UNKNOWN, False, False, "", reason, day, table.info.release)


def _ambiguous(raw: str, found: list[CheckResult], day: date) -> CheckResult:
    options = " or ".join(f"{r.system.label if r.system else '?'} {r.code} ({r.display})" for r in found)
    return CheckResult(raw, found[0].code, None, Status.AMBIGUOUS, False, False, "",
                       f"{raw.strip()} could be {options}: give the system (--system)", day)


_engines: dict[Path | None, tuple[CodeEngine, tuple[int, ...]]] = {}
_engines_lock = threading.Lock()


def _stamp(directories: list[Path]) -> tuple[int, ...]:
    """Directory mtimes: an import renames a file into the directory, which changes it."""
    return tuple(d.stat().st_mtime_ns if d.is_dir() else 0 for d in directories)


def load_engine(instance_dir: Path | str | None = None, bundled_dir: Path = BUNDLED_DIR) -> CodeEngine:
    """The engine for an instance directory, built once per process.

    A new engine is built when a table is imported into the instance
    (by this process or another one), so imports take effect without a restart.
    """
    instance = Path(instance_dir) if instance_dir is not None else None
    directories = [bundled_dir] + ([instance / "codes"] if instance else [])
    stamp = _stamp(directories)
    with _engines_lock:
        cached = _engines.get(instance)
        if cached is None or cached[1] != stamp:
            infos = find_tables(bundled_dir, "bundled")
            if instance:
                infos += find_tables(instance / "codes", "instance")
            cached = _engines[instance] = (CodeEngine(infos), stamp)
    return cached[0]
