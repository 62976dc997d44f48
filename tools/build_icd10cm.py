"""Generate intake/codes/tables/icd10cm-fy2026.codes.gz from the PyPI package simple-icd-10-cm.

Build-time only: the application never imports simple_icd_10_cm (it takes
seconds and ~190 MB to load). Repeatable: the output is byte-identical for
the same package version.

    .venv/bin/pip install simple-icd-10-cm==1.5.0
    .venv/bin/python tools/build_icd10cm.py            # writes the table
    .venv/bin/python tools/build_icd10cm.py --check    # exit 1 if the committed file differs
"""

from __future__ import annotations

import argparse
import filecmp
import sys
import tempfile
import warnings
from datetime import date
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from intake.codes.systems import System  # noqa: E402
from intake.codes.table import CodeTable, Row, TableInfo, write_table  # noqa: E402

PACKAGE_VERSION = "1.5.0"
OUTPUT = ROOT / "intake" / "codes" / "tables" / "icd10cm-fy2026.codes.gz"
INFO = TableInfo(
    name="icd10cm-fy2026",
    system=System.ICD10CM,
    release="FY2026 (April 1, 2026 update)",
    source=f"CDC/NCHS ICD-10-CM tabular list, April 1, 2026 update, via PyPI simple-icd-10-cm {PACKAGE_VERSION}",
    licence="public domain (US government work, CDC/NCHS)",
    effective_from=date(2025, 10, 1),
    effective_to=date(2026, 9, 30),
)


def load_package() -> ModuleType:
    """Import the package, silencing the DeprecationWarning it raises on 3.11."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from importlib.metadata import version

        if version("simple-icd-10-cm") != PACKAGE_VERSION:
            raise SystemExit(f"need simple-icd-10-cm=={PACKAGE_VERSION}, found {version('simple-icd-10-cm')}")
        import simple_icd_10_cm

        return simple_icd_10_cm


def tidy(text: str) -> str:
    """One line, single spaces: the table format is tab-separated."""
    return " ".join(text.split())


def build(icd: ModuleType) -> CodeTable:
    """Codes become rows (leaf = billable, else header); chapters, blocks and headings the outline."""
    rows: dict[str, Row] = {}
    outline: dict[str, tuple[str, str]] = {}
    for code in icd.get_all_codes(with_dots=True):
        if icd.is_chapter(code):
            outline[code] = ("chapter", tidy(icd.get_description(code)))
        elif icd.is_block(code) and code not in rows and "-" in code:
            # A section with no codes of its own ("C00-C75") is a heading; the package counts it as a leaf.
            kind = "heading" if icd.is_leaf(code) else "block"
            outline[code] = (kind, tidy(icd.get_description(code)))
        elif code in rows:
            # A block named like its only category (B20): listed once as block, once as code.
            outline[code] = ("block", tidy(icd.get_description(code, prioritize_blocks=True)))
        else:
            kind = "B" if icd.is_leaf(code) else "H"
            rows[code] = Row(code.replace(".", ""), kind, tidy(icd.get_description(code)))
    return CodeTable.from_rows(INFO, rows.values(), outline)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the committed file instead of writing")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    table = build(load_package())
    if not args.check:
        write_table(table, args.output)
        print(f"wrote {args.output} ({len(table)} codes, {args.output.stat().st_size:,} bytes)")
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        fresh = Path(scratch) / args.output.name
        write_table(table, fresh)
        same = args.output.exists() and filecmp.cmp(fresh, args.output, shallow=False)
    print("up to date" if same else f"{args.output} differs from a fresh build")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
