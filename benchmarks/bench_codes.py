"""Code-table figures from issue 3, as ratios against baselines measured in the same run.

    .venv/bin/python benchmarks/bench_codes.py

* check rate vs a bare ``dict.get`` of the same (already normalised) codes: >= 25%
* search vs a naive linear scan over the descriptions, for code-prefix,
  word-prefix and whole-word queries: >= 50x
* loading all bundled tables vs ``import simple_icd_10_cm``, each in a fresh
  subprocess: <= 1/5 the time and <= 1/4 the memory (resident-set growth;
  the engine's side excludes the ``intake`` package import, i.e. Flask)
* importing (reading and validating the whole file into rows) the full CMS
  HCPCS text file (the bundled January 2026 file, 16,615 lines) and a full
  ICD-10-CM order file (written from the bundled FY2026 table in the CDC
  layout, 98,186 lines) vs just reading the file and splitting its lines:
  <= 3x each. The rest of an import (building the search index and writing
  the table) is reported beside it, not targeted.

Exit status 1 if a target is missed. Needs simple-icd-10-cm==1.5.0 for the last row.
"""

from __future__ import annotations

import heapq
import json
import statistics
import subprocess
import sys
import tempfile
import timeit
import zipfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from intake.codes.engine import CodeEngine, load_engine  # noqa: E402
from intake.codes.importers import install, parse_hcpcs_anweb, parse_icd10cm_order, prepare_hcpcs, prepare_icd10cm  # noqa: E402,E501
from intake.codes.search import rank_key, words  # noqa: E402
from intake.codes.systems import System, clean, display_code  # noqa: E402
from intake.codes.table import CodeTable  # noqa: E402

DAY = date(2026, 3, 16)  # inside ICD-10-CM FY2026 and HCPCS 2026
CHECK_CODES = ["E11.9", "I10", "E11.65", "J45.909", "Z00.00", "S72.001A", "G0438", "J1030", "25", "E78.5"]
QUERIES = {
    "code prefix 'E11.6'": "E11.6",
    "word prefix 'diab'": "diab",
    "word prefixes 'fract femur init'": "fract femur init",
    "whole word 'hypertension'": "hypertension",
    "whole words 'chronic kidney disease'": "chronic kidney disease",
}

_LOAD_ENGINE = """
import json, sys, time
def peak_kib():
    # VmHWM, not ru_maxrss: a child's ru_maxrss starts at its parent's size at fork.
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
sys.path.insert(0, {root!r})
import intake  # the parent package (Flask) is not the engine's cost
before = peak_kib()
start = time.perf_counter()
from intake.codes.engine import load_engine
load_engine(None).load_all()
seconds = time.perf_counter() - start
peak = peak_kib()
print(json.dumps({{"seconds": seconds, "kib": peak - before, "peak_kib": peak}}))
"""
_LOAD_PACKAGE = """
import json, time, warnings
def peak_kib():
    # VmHWM, not ru_maxrss: a child's ru_maxrss starts at its parent's size at fork.
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
before = peak_kib()
start = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import simple_icd_10_cm
seconds = time.perf_counter() - start
peak = peak_kib()
print(json.dumps({"seconds": seconds, "kib": peak - before, "peak_kib": peak}))
"""


def best(fn: Callable[[], object], number: int, repeat: int = 5) -> float:
    """Seconds per call, best of ``repeat`` runs."""
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


def check_ratio(engine: CodeEngine) -> tuple[float, float, float]:
    """(rate ratio warm, rate ratio cold, ns per warm check) vs dict.get on normalised keys."""
    table = {code: code for code in CHECK_CODES}
    codes = CHECK_CODES * 100
    get = table.get
    check = engine.check

    def bare() -> None:
        for code in codes:
            get(code)

    def checks() -> None:
        for code in codes:
            check(code, None, DAY)

    def cold() -> None:
        engine._memo.clear()  # first check of each code: normalise, infer, look up, explain
        engine._memo_size = 0
        for code in CHECK_CODES:
            check(code, None, DAY)

    base = best(bare, 50) / len(codes)
    warm = best(checks, 50) / len(codes)
    first = best(cold, 50) / len(CHECK_CODES)
    return base / warm, base / first, warm * 1e9


def naive_scan(table: CodeTable, texts: list[str], ranks: list[tuple[bool, int, int]], query: str,
               limit: int) -> list[int]:
    """The obvious search: test every row, keep matches, return the best ``limit``."""
    prefix = clean(query).replace(".", "")
    if any(ch.isdigit() for ch in prefix):
        return [row for row, code in enumerate(table.codes) if code.startswith(prefix)][:limit]
    needles = [" " + w for w in words(query)]
    hits = [row for row, text in enumerate(texts) if all(n in text for n in needles)]
    return heapq.nsmallest(limit, hits, key=ranks.__getitem__)


def search_ratios(engine: CodeEngine) -> dict[str, float]:
    """Naive scan time / engine search time, per query, on the ICD-10-CM table."""
    table = engine.table_for(System.ICD10CM, DAY)
    assert table is not None
    # Baseline gets its words pre-computed: we time the scan, not the tokenising.
    texts = [" " + " ".join(words(d)) for d in table.descriptions]
    ranks = [rank_key(table.kinds[r], table.descriptions[r], r) for r in range(len(table))]
    ratios = {}
    for label, query in QUERIES.items():
        ours = [h.code for h in engine.search(query, System.ICD10CM, 20, DAY)]
        theirs = [display_code(table.codes[r], System.ICD10CM) for r in naive_scan(table, texts, ranks, query, 20)]
        assert ours == theirs, f"search and linear scan disagree on {label}"
        slow = best(lambda q=query: naive_scan(table, texts, ranks, q, 20), 3, 3)
        fast = best(lambda q=query: engine.search(q, System.ICD10CM, 20, DAY), 50)
        ratios[label] = slow / fast
    return ratios


def subprocess_figures(script: str, runs: int = 3) -> dict[str, float]:
    """Median figures over a few fresh interpreters."""
    results = [json.loads(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                                         check=True).stdout) for _ in range(runs)]
    return {key: statistics.median(r[key] for r in results) for key in results[0]}


HCPCS_ZIP = ROOT / "codes" / "sources" / "hcpcs-2026-jan" / "january-2026-alpha-numeric-hcpcs-file.zip"


def write_icd_order_file(engine: CodeEngine, path: Path) -> None:
    """The bundled FY2026 table in the CDC order-file layout (CRLF, like CDC's)."""
    table = engine.table_for(System.ICD10CM, DAY)
    assert table is not None
    with open(path, "w", newline="\r\n") as out:
        for row, code in enumerate(table.codes):
            text = table.descriptions[row]
            flag = "1" if table.kinds[row] == "B" else "0"
            out.write(f"{row + 1:05d} {code:<7} {flag} {text[:60]:<60} {text}\n")


def import_ratios(engine: CodeEngine) -> list[tuple[str, float, float, float]]:
    """(label, read-and-split seconds, parse seconds, whole import seconds) per file."""
    figures = []
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        with zipfile.ZipFile(HCPCS_ZIP) as archive:
            member = next(n for n in archive.namelist() if n.endswith(".txt") and "ANWEB" in n)
            hcpcs = folder / member
            hcpcs.write_bytes(archive.read(member))
        icd = folder / "icd10cm-order-2026.txt"
        write_icd_order_file(engine, icd)
        cases = [
            ("HCPCS text file", hcpcs, lambda: parse_hcpcs_anweb(hcpcs, year=2026),
             lambda: install(prepare_hcpcs(hcpcs, 2026), folder / "instance", force=True)),
            ("ICD-10-CM order file", icd, lambda: parse_icd10cm_order(icd),
             lambda: install(prepare_icd10cm(icd, 2026), folder / "instance", force=True)),
        ]
        for label, path, parse, whole in cases:
            # Paired rounds, median ratio: this machine's load swings more than the figure.
            rounds = [(best(lambda p=path: p.read_bytes().decode("utf-8").splitlines(), 1, 3), best(parse, 1, 3))
                      for _ in range(7)]
            split, parsed = sorted(rounds, key=lambda r: r[1] / r[0])[len(rounds) // 2]
            figures.append((label, split, parsed, best(whole, 1, 2)))
    return figures


def main() -> int:
    engine = load_engine(None)
    engine.load_all()
    rows: list[tuple[str, str, str, bool]] = []
    warm, cold, ns = check_ratio(engine)
    rows.append(("check rate / dict.get rate (repeat checks)", f"{warm:.0%}", ">= 25%", warm >= 0.25))
    rows.append((f"  ({ns:.0f} ns per check; first check of a code: {cold:.1%} of dict.get)", "", "", True))
    for label, ratio in search_ratios(engine).items():
        rows.append((f"search {label} vs linear scan", f"{ratio:,.0f}x", ">= 50x", ratio >= 50))
    ours = subprocess_figures(_LOAD_ENGINE.format(root=str(ROOT)))
    theirs = subprocess_figures(_LOAD_PACKAGE)
    time_ratio = ours["seconds"] / theirs["seconds"]
    memory_ratio = max(ours["kib"], 1) / max(theirs["kib"], 1)
    rows.append((f"load time: {ours['seconds']:.2f} s vs {theirs['seconds']:.2f} s", f"1/{1 / time_ratio:.1f}",
                 "<= 1/5", time_ratio <= 0.2))
    rows.append((f"load memory: {ours['kib'] / 1024:.0f} MiB vs {theirs['kib'] / 1024:.0f} MiB "
                 f"(peak RSS {ours['peak_kib'] / 1024:.0f} vs {theirs['peak_kib'] / 1024:.0f})",
                 f"1/{1 / memory_ratio:.1f}", "<= 1/4", memory_ratio <= 0.25))
    for label, split, parsed, whole in import_ratios(engine):
        ratio = parsed / split
        rows.append((f"import {label}: {parsed * 1000:.0f} ms vs read+split {split * 1000:.0f} ms",
                     f"{ratio:.1f}x", "<= 3x", ratio <= 3))
        rows.append((f"  (whole import with search index and table file: {whole:.2f} s)", "", "", True))
    width = max(len(r[0]) for r in rows)
    for label, value, target, ok in rows:
        mark = "" if not target else ("ok" if ok else "MISSED")
        print(f"{label:<{width}}  {value:>8}  {target:>7}  {mark}")
    return 0 if all(r[3] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
