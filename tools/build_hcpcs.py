"""Generate the bundled HCPCS Level II and modifier tables from CMS's file.

Inputs, both committed under ``codes/sources/``:

* ``hcpcs-2026-jan/january-2026-alpha-numeric-hcpcs-file.zip``: CMS's
  January 2026 alpha-numeric HCPCS file, unchanged; its SHA-256 must match
  ``hcpcs-2026-jan/SHA256SUMS`` (and ``codes/SOURCES.md``);
* ``cpt-modifier-codes.txt``: the CPT modifier *codes* (no AMA text).

Outputs (never edit them by hand): ``intake/codes/tables/hcpcs-2026.codes.gz``
and ``modifiers-2026.codes.gz``. The file is parsed by the same code as
``intake codes import hcpcs``; the output is byte-identical on every run.

    .venv/bin/python tools/build_hcpcs.py            # writes the tables
    .venv/bin/python tools/build_hcpcs.py --check    # exit 1 if a committed table is stale
"""

from __future__ import annotations

import argparse
import filecmp
import hashlib
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from intake.codes.importers import hcpcs_tables, parse_hcpcs_anweb  # noqa: E402
from intake.codes.table import CodeTable, Row, parse_day, write_table  # noqa: E402

SOURCES = ROOT / "codes" / "sources"
ZIP = SOURCES / "hcpcs-2026-jan" / "january-2026-alpha-numeric-hcpcs-file.zip"
SUMS = SOURCES / "hcpcs-2026-jan" / "SHA256SUMS"
CPT_MODIFIERS = SOURCES / "cpt-modifier-codes.txt"
OUTPUT_DIR = ROOT / "intake" / "codes" / "tables"
YEAR = 2026
RELEASE = "January 2026 file"


def verify_zip() -> str:
    """The zip's SHA-256, after checking it against SHA256SUMS."""
    digest = hashlib.sha256(ZIP.read_bytes()).hexdigest()
    expected = {line.split()[1]: line.split()[0] for line in SUMS.read_text().splitlines() if line.strip()}
    if expected.get(ZIP.name) != digest:
        raise SystemExit(f"{ZIP.name}: sha256 {digest} does not match {SUMS.name}")
    return digest


def cpt_modifier_rows() -> list[Row]:
    """``code[<TAB>added[<TAB>terminated]]`` lines; # starts a comment."""
    rows = []
    for line in CPT_MODIFIERS.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        code, added, ended = (line.split("\t") + ["", ""])[:3]
        rows.append(Row(code.strip(), "C", "", parse_day(added), parse_day(ended)))
    return rows


def build() -> list[CodeTable]:
    digest = verify_zip()
    codes, level2 = parse_hcpcs_anweb(ZIP, year=YEAR)
    tables = hcpcs_tables(codes, level2, cpt_modifier_rows(), YEAR, ZIP.name)
    source = f"CMS January 2026 Alpha-Numeric HCPCS File ({ZIP.name}, sha256 {digest[:16]}...)"
    hcpcs, modifiers = tables
    return [
        replace(hcpcs, info=replace(hcpcs.info, release=f"HCPCS {YEAR} ({RELEASE})", source=source)),
        replace(modifiers, info=replace(
            modifiers.info, release=f"modifiers {YEAR} ({RELEASE}; HCPCS Level II + CPT codes)",
            source=f"{source}; CPT modifier codes from codes/sources/{CPT_MODIFIERS.name}")),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the committed files instead of writing")
    parser.add_argument("--output-dir", type=Path, default=OUTPUT_DIR)
    args = parser.parse_args()
    tables = build()
    stale = []
    with tempfile.TemporaryDirectory() as scratch:
        for table in tables:
            target = args.output_dir / f"{table.info.name}.codes.gz"
            if not args.check:
                write_table(table, target)
                print(f"wrote {target} ({len(table):,} codes, {target.stat().st_size:,} bytes)")
                continue
            fresh = Path(scratch) / target.name
            write_table(table, fresh)
            if not (target.exists() and filecmp.cmp(fresh, target, shallow=False)):
                stale.append(target)
    for target in stale:
        print(f"{target} differs from a fresh build")
    if args.check and not stale:
        print("up to date")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
