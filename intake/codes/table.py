"""One code table in memory, and its on-disk format.

File format (``*.codes`` plain or ``*.codes.gz`` gzip'd, UTF-8, described
for people in ``codes/README.md``)::

    #intake-codes 1
    #name icd10cm-fy2026
    #system icd10cm
    #release FY2026 (April 1, 2026 update)
    #source ...
    #licence ...
    #effective_from 2025-10-01        (or "-" for open-ended)
    #effective_to 2026-09-30
    #rows
    A000<TAB>B<TAB>Cholera due to ...<TAB>added<TAB>terminated
    ...
    #outline                            (optional: ICD-10-CM chapters and blocks)
    A00-A09<TAB>K<TAB>Intestinal infectious diseases (A00-A09)
    #index 1                            (optional: see search.py)
    <four lines>

Rows are sorted by code key (ICD-10-CM keys carry no dot), so a code prefix
is one contiguous run of rows. Row kinds: ``B`` reportable, ``H`` header
(has children, not reportable), ``C`` CPT modifier (reportable, descriptor
not bundled). Dates are ``YYYYMMDD`` or empty; ``terminated`` is the last
day the code may be used. Lines starting with ``##`` are comments.
"""

from __future__ import annotations

import gzip
import io
import os
import tempfile
from bisect import bisect_left
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from itertools import accumulate, islice, takewhile
from operator import itemgetter
from pathlib import Path
from typing import IO, Literal, NamedTuple, overload

from .search import INDEX_VERSION, SearchIndex, words
from .systems import System

MAGIC = "#intake-codes 1"
SUFFIXES = (".codes", ".codes.gz")
KINDS = frozenset("BHC")
REPORTABLE = frozenset("BC")
_META_KEYS = ("name", "system", "release", "source", "licence", "effective_from", "effective_to")

Origin = Literal["bundled", "instance"]


class TableFormatError(ValueError):
    """A table file does not follow the format; the message says where."""


@dataclass(frozen=True, slots=True)
class TableInfo:
    """What a table is and when it is in force (both ends inclusive, None = open)."""

    name: str
    system: System
    release: str
    source: str
    licence: str
    effective_from: date | None
    effective_to: date | None
    count: int = 0
    origin: Origin = "bundled"
    path: Path | None = None

    def covers(self, day: date) -> bool:
        """True if the table is in force on ``day``."""
        return (self.effective_from is None or self.effective_from <= day) and (
            self.effective_to is None or day <= self.effective_to
        )

    @property
    def date_range(self) -> str:
        """``2025-10-01 to 2026-09-30``, with "open" for a missing end."""
        start = self.effective_from.isoformat() if self.effective_from else "open"
        end = self.effective_to.isoformat() if self.effective_to else "open"
        return f"{start} to {end}"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form for the CLI and the web endpoint."""
        return {
            "name": self.name,
            "system": str(self.system),
            "release": self.release,
            "source": self.source,
            "licence": self.licence,
            "effective_from": self.effective_from.isoformat() if self.effective_from else None,
            "effective_to": self.effective_to.isoformat() if self.effective_to else None,
            "count": self.count,
            "origin": self.origin,
        }


class Row(NamedTuple):
    """One code as importers produce it (a tuple: importers make tens of thousands)."""

    code: str
    kind: str
    description: str
    added: date | None = None
    terminated: date | None = None


class TextColumn(Sequence[str]):
    """Many short strings kept in one UTF-8 buffer.

    A list of 98,000 ``str`` objects costs about 49 bytes of overhead each;
    one buffer and an array of end offsets keeps the ICD-10-CM descriptions
    in about 60% of that memory, and decoding one on access is cheap.
    """

    __slots__ = ("_data", "_ends")

    def __init__(self, data: bytes | bytearray, ends: array) -> None:
        self._data = data
        self._ends = ends

    @classmethod
    def from_strings(cls, items: Iterable[str]) -> TextColumn:
        """Pack strings into one buffer."""
        builder = TextColumnBuilder()
        builder.extend(list(items))
        return builder.finish()

    def __len__(self) -> int:
        return len(self._ends)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self._ends)
        start = self._ends[index - 1] if index else 0
        return self._data[start : self._ends[index]].decode("utf-8")


class TextColumnBuilder:
    """Appends strings to a growing :class:`TextColumn` buffer."""

    __slots__ = ("_data", "_ends")

    def __init__(self) -> None:
        self._data = bytearray()
        self._ends = array("I")

    def extend(self, texts: list[str]) -> None:
        """Append many strings; one encode for the lot when they are ASCII."""
        joined = "".join(texts)
        lengths: Iterable[int] = map(len, texts)
        if not joined.isascii():
            encoded = [text.encode("utf-8") for text in texts]
            joined, lengths = "", map(len, encoded)
            self._data += b"".join(encoded)
        self._data += joined.encode("ascii")
        self._ends.extend(islice(accumulate(lengths, initial=self._ends[-1] if self._ends else 0), 1, None))

    def finish(self) -> TextColumn:
        return TextColumn(self._data, self._ends)  # no copy: nothing appends after this


def parse_day(text: str, what: str = "date") -> date | None:
    """``YYYYMMDD`` or ``YYYY-MM-DD`` -> date; blank or "-" -> None."""
    text = text.strip()
    if not text or text == "-":
        return None
    try:
        if len(text) == 8 and text.isdigit():
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        return date.fromisoformat(text)
    except ValueError:
        raise TableFormatError(f"bad {what} {text!r}") from None


def _compact_day(day: date | None) -> str:
    return day.strftime("%Y%m%d") if day else ""


@dataclass(slots=True)
class CodeTable:
    """A loaded table: column lists indexed by row, plus lookups."""

    info: TableInfo
    codes: list[str]
    kinds: str
    descriptions: Sequence[str]
    added: list[int] | None  # date ordinals, 0 when unknown; None when no row has one
    terminated: list[int] | None
    outline: dict[str, tuple[str, str]]
    index: SearchIndex
    position: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.position = dict(zip(self.codes, range(len(self.codes)), strict=False))

    def __len__(self) -> int:
        return len(self.codes)

    def row(self, key: str) -> int | None:
        """Row number of a code key, or None."""
        return self.position.get(key)

    def prefix_rows(self, prefix: str) -> range:
        """Rows whose key starts with ``prefix``, in code order."""
        first = bisect_left(self.codes, prefix)
        return range(first, bisect_left(self.codes, prefix + "\x7f", first))

    def added_on(self, row: int) -> date | None:
        """First day the code may be used, when the table says."""
        return date.fromordinal(self.added[row]) if self.added and self.added[row] else None

    def terminated_on(self, row: int) -> date | None:
        """Last day the code may be used, when the table says."""
        return date.fromordinal(self.terminated[row]) if self.terminated and self.terminated[row] else None

    def in_force(self, row: int, day_ordinal: int) -> bool:
        """True unless the code starts after or ended before the day."""
        if self.added and self.added[row] > day_ordinal:
            return False
        return not (self.terminated and 0 < self.terminated[row] < day_ordinal)

    def search_rows(self, prefixes: Sequence[str], day_ordinal: int, limit: int) -> list[int]:
        """Rows in force on the day whose description words start with every prefix."""

        def accept(row: int, others: Sequence[str]) -> bool:
            if not self.in_force(row, day_ordinal):
                return False
            if not others:
                return True
            text = " " + " ".join(words(self.descriptions[row]))
            return all(" " + prefix in text for prefix in others)

        return self.index.rows(prefixes, accept, limit)

    @classmethod
    def from_rows(
        cls, info: TableInfo, rows: Iterable[Row] | Iterable[tuple[str, str, str, date | None, date | None]],
        outline: dict[str, tuple[str, str]] | None = None
    ) -> CodeTable:
        """Build a table (and its search index) from rows in any order."""
        ordered = sorted(rows, key=itemgetter(0))
        codes, kind_list, texts, added, terminated = ([list(c) for c in zip(*ordered, strict=False)] if ordered
                                                      else [[] for _ in range(5)])
        kinds = "".join(kind_list)
        descriptions = TextColumn.from_strings(texts)
        return cls(
            info=replace(info, count=len(ordered)),
            codes=codes,
            kinds=kinds,
            descriptions=descriptions,
            added=_ordinals(added),
            terminated=_ordinals(terminated),
            outline=dict(outline or {}),
            index=SearchIndex.build(kinds, descriptions),
        )

    def rows(self) -> Iterator[Row]:
        """The table's rows, in code order."""
        for i, code in enumerate(self.codes):
            yield Row(code, self.kinds[i], self.descriptions[i], self.added_on(i), self.terminated_on(i))


def _ordinals(days: list[date | None]) -> list[int] | None:
    if not any(days):
        return None
    return [d.toordinal() if d else 0 for d in days]


def _open_text(path: Path) -> IO[str]:
    if path.name.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="\n")
    return open(path, encoding="utf-8", newline="\n")


def _read_meta(lines: Iterable[str], path: Path) -> tuple[dict[str, str], int]:
    """Read the header up to ``#rows``: (fields, lines read); the iterator is left on the first row."""
    lines = iter(lines)
    if next(lines, "").rstrip("\n") != MAGIC:
        raise TableFormatError(f"{path.name}: not an intake code table (first line must be {MAGIC!r})")
    meta: dict[str, str] = {}
    for number, line in enumerate(lines, start=2):
        line = line.rstrip("\n")
        if line == "#rows":
            return meta, number
        if line.startswith("##") or not line:
            continue
        key, _, value = line[1:].partition(" ")
        meta[key] = value.strip()
    raise TableFormatError(f"{path.name}: no #rows section")


def _info_from_meta(meta: dict[str, str], path: Path, origin: Origin) -> TableInfo:
    missing = [k for k in _META_KEYS if k not in meta]
    if missing:
        raise TableFormatError(f"{path.name}: header lacks {', '.join(missing)}")
    try:
        system = System(meta["system"])
    except ValueError:
        raise TableFormatError(f"{path.name}: unknown system {meta['system']!r}") from None
    return TableInfo(
        name=meta["name"],
        system=system,
        release=meta["release"],
        source=meta["source"],
        licence=meta["licence"],
        effective_from=parse_day(meta["effective_from"], "effective_from"),
        effective_to=parse_day(meta["effective_to"], "effective_to"),
        count=int(meta.get("count", "0") or 0),
        origin=origin,
        path=path,
    )


def read_info(path: Path, origin: Origin) -> TableInfo:
    """Only the header of a table file: cheap, for listing tables.

    Generated files record ``#count``; hand-maintained ones are small, so
    their rows are counted.
    """
    with _open_text(path) as f:
        meta, _ = _read_meta(f, path)
        if "count" not in meta:
            rows = takewhile(lambda line: not line.startswith("#") or line.startswith("##"), f)
            meta["count"] = str(sum(1 for line in rows if line.strip() and not line.startswith("##")))
        return _info_from_meta(meta, path, origin)


_CHUNK = 1 << 20  # characters of lines read at a time


@dataclass(slots=True)
class _Sections:
    """What :func:`read_table` collects; rows arrive as column lists."""

    codes: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    descriptions: TextColumnBuilder = field(default_factory=TextColumnBuilder)
    added: list[str] = field(default_factory=list)
    terminated: list[str] = field(default_factory=list)
    outline: dict[str, tuple[str, str]] = field(default_factory=dict)
    index_lines: list[str] = field(default_factory=list)

    def add_rows(self, text: str, count: int, first_number: int, path: Path) -> None:
        """Add ``count`` complete row lines with one split: a per-row loop made loading slow."""
        fields = text.replace("\n", "\t").split("\t")
        fields.pop()
        if len(fields) != 5 * count or not set(fields[1::5]) <= KINDS:
            _raise_bad_row(text.splitlines(), first_number, path)
        self.codes += fields[0::5]
        self.kinds += fields[1::5]
        self.descriptions.extend(fields[2::5])
        self.added += fields[3::5]
        self.terminated += fields[4::5]

    def add_other(self, section: str, line: str, number: int, path: Path) -> None:
        """A line of the outline or index section."""
        if section == "#outline":
            parts = line.split("\t")
            if len(parts) != 3:
                raise TableFormatError(f"{path.name}: line {number} is not id, kind, title")
            self.outline[parts[0]] = (parts[1], parts[2])
        elif section == f"#index {INDEX_VERSION}":
            self.index_lines.append(line)


def _raise_bad_row(lines: list[str], first_number: int, path: Path) -> None:
    for number, line in enumerate(lines, start=first_number):
        parts = line.split("\t")
        if len(parts) != 5 or parts[1] not in KINDS:
            raise TableFormatError(f"{path.name}: line {number} is not code, kind, description, added, terminated")
    raise TableFormatError(f"{path.name}: malformed rows near line {first_number}")


def read_table(path: Path, origin: Origin) -> CodeTable:
    """Load a whole table file, building the search index if it is absent or stale."""
    with _open_text(path) as f:
        meta, number = _read_meta(f, path)
        info = _info_from_meta(meta, path, origin)
        found = _Sections()
        section = "#rows"
        for chunk in iter(lambda: f.readlines(_CHUNK), []):
            text = "".join(chunk)
            if section == "#rows" and _plain_rows(text):
                found.add_rows(text, len(chunk), number + 1, path)
                number += len(chunk)
                continue
            for line in chunk:
                number += 1
                section = _read_line(found, section, line.rstrip("\n"), number, path)
    return _assemble(info, found, path)


def _plain_rows(text: str) -> bool:
    """True if a chunk holds only complete row lines (no sections, comments or blanks)."""
    return text.endswith("\n") and text[:1] not in "#\n" and "\n#" not in text and "\n\n" not in text


def _read_line(found: _Sections, section: str, line: str, number: int, path: Path) -> str:
    """Handle one line outside the fast path; returns the section it leaves us in."""
    if line.startswith("##") or not line.strip():
        return section
    if line.startswith("#"):
        return line
    if section == "#rows":
        found.add_rows(line + "\n", 1, number, path)
    else:
        found.add_other(section, line, number, path)
    return section


def _assemble(info: TableInfo, found: _Sections, path: Path) -> CodeTable:
    codes = found.codes
    if any(a >= b for a, b in zip(codes, islice(codes, 1, None), strict=False)):
        raise TableFormatError(f"{path.name}: rows are not sorted by code or repeat a code")
    kinds = "".join(found.kinds)
    descriptions = found.descriptions.finish()
    if len(found.index_lines) == 4:
        index = SearchIndex.from_lines(found.index_lines)
    else:
        index = SearchIndex.build(kinds, descriptions)
    if len(index.by_rank) != len(codes):
        raise TableFormatError(f"{path.name}: search index does not match the rows")
    return CodeTable(
        info=replace(info, count=len(codes)),
        codes=codes,
        kinds=kinds,
        descriptions=descriptions,
        added=_column_ordinals(found.added, path),
        terminated=_column_ordinals(found.terminated, path),
        outline=found.outline,
        index=index,
    )


def _column_ordinals(column: list[str], path: Path) -> list[int] | None:
    if not any(column):
        return None
    try:
        return _ordinals([parse_day(text) for text in column])
    except TableFormatError as error:
        raise TableFormatError(f"{path.name}: {error}") from None


def table_lines(table: CodeTable, with_index: bool = True) -> Iterator[str]:
    """The file's lines, without newlines."""
    info = table.info
    yield MAGIC
    for key in _META_KEYS:
        value = getattr(info, key)
        yield f"#{key} {value.isoformat() if isinstance(value, date) else (value if value is not None else '-')}"
    yield f"#count {len(table)}"
    yield "#rows"
    for row in table.rows():
        yield "\t".join((row.code, row.kind, row.description, _compact_day(row.added), _compact_day(row.terminated)))
    if table.outline:
        yield "#outline"
        for ident, (kind, title) in table.outline.items():
            yield f"{ident}\t{kind}\t{title}"
    if with_index:
        yield f"#index {INDEX_VERSION}"
        yield from table.index.to_lines()


def write_table(table: CodeTable, path: Path, with_index: bool = True) -> None:
    """Write atomically: a reader sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as raw:
            if path.name.endswith(".gz"):
                # mtime=0 keeps regenerated files byte-identical, so git sees no change.
                with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as sink:
                    _write_lines(sink, table, with_index)
            else:
                _write_lines(raw, table, with_index)
            raw.flush()
            os.fsync(raw.fileno())
        os.chmod(temp, 0o644)  # mkstemp creates 0600; tables are not secret
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _write_lines(sink: IO[bytes], table: CodeTable, with_index: bool) -> None:
    sink.writelines((line + "\n").encode("utf-8") for line in table_lines(table, with_index))
