"""837P against FHIR NDJSON for the same billed claims, in one run.

Builds a temporary SQLite database through the migrations with the FHIR
export benchmark's synthetic data (bench_fhir_export.build: checked-out,
locked visits with diagnoses and lines, some subscribers not the patient),
loads the visits with their patients, coverages, payers, diagnoses and lines
as ORM objects once, then times, over the very same objects:

  fhir   intake.fhir claim_resource -> orjson, one Claim per line (NDJSON)
  x12    intake.services.x12_export.claim_for_visit -> intake.x12 checks ->
         the streamed 837P interchange (iter_837p) to a file

Each is run 3 times and the best time kept. Memory: the writer's own peak
(tracemalloc) while streaming N synthetic claims from a generator to a file,
at 10,000 and at 100,000 claims.

    python benchmarks/bench_x12.py              # 10,000 claims
    python benchmarks/bench_x12.py --claims 2000
Targets: x12 time <= 3x fhir time; writer peak grows < 1 MB from 10k to 100k claims.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_fhir_export  # noqa: E402  (its synthetic data, built the same way)

ROUNDS = 3
CREATED = datetime(2025, 11, 20, 9, 30)


def load_visits(app: Any, limit: int) -> tuple[list[Any], Any]:
    from sqlalchemy.orm import selectinload

    from intake.extensions import db
    from intake.models import Coverage, Patient, Practice, Visit

    with app.app_context():
        visits = list(db.session.execute(
            db.select(Visit).order_by(Visit.id).limit(limit).options(
                selectinload(Visit.patient).selectinload(Patient.coverages).selectinload(Coverage.payer),
                selectinload(Visit.provider), selectinload(Visit.diagnoses),
                selectinload(Visit.lines))).scalars())
        office = db.session.get(Practice, 1)
        office.postal_code, office.address_line1, office.city, office.state = (
            "627041234", "100 Main Street", "Springfield", "IL")
        db.session.expunge_all()  # plain objects from here on: no lazy loads during timing
    return visits, office


def fhir_ndjson(visits: list[Any], out: Path) -> int:
    from intake.fhir.mappers import claim_resource
    from intake.fhir.ndjson import write_ndjson

    with open(out, "wb") as fh:
        write_ndjson((claim_resource(visit, coverages=visit.patient.coverages) for visit in visits), fh)
    return out.stat().st_size


def x12_file(visits: list[Any], office: Any, out: Path) -> int:
    from intake.services.x12_export import claim_for_visit, interchange_settings
    from intake.x12 import claim_problems
    from intake.x12.writer import iter_837p

    settings, billing = interchange_settings(office)
    settings = replace(settings, sender_id="BENCH", receiver_id="CLEARHOUSE", submitter_etin="ETIN1",
                       contact_name="Billing", contact_phone="2175550100",
                       receiver_name="Clearinghouse", receiver_etin="CLRH")

    def claims():
        for visit in visits:
            claim = claim_for_visit(visit, office, ())
            if isinstance(claim, list) or claim_problems(claim):
                raise SystemExit(f"bench data: visit {visit.id} held")
            yield claim

    with open(out, "w", encoding="ascii") as fh:
        fh.writelines(iter_837p(claims(), settings=settings, billing=billing, control_number=1,
                                created=CREATED))
    return out.stat().st_size


def best(fn: Any, *args: Any) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(ROUNDS):
        start = time.perf_counter()
        size = fn(*args)
        times.append(time.perf_counter() - start)
    return min(times), size


def writer_peak(n: int, out: Path) -> float:
    """tracemalloc peak (MB) of streaming n synthetic claims from a generator to a file."""
    from intake.x12.writer import iter_837p, text
    from tests.x12 import samples

    base = samples.single_claim()
    text.cache_clear()  # each size starts with an empty value cache (it is bounded; it counts)

    def claims():
        for i in range(n):
            yield replace(base, patient_control_number=f"B{i:09d}")

    tracemalloc.start()
    with open(out, "w", encoding="ascii") as fh:
        for segment in iter_837p(claims(), settings=samples.SETTINGS, billing=samples.BILLING,
                                 control_number=1, created=CREATED):
            fh.write(segment)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=10_000, help="billed claims (default 10,000)")
    args = parser.parse_args()
    patients = (args.claims + bench_fhir_export.VISITS_PER_PATIENT - 1) // bench_fhir_export.VISITS_PER_PATIENT
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "bench.db"
        start = time.perf_counter()
        bench_fhir_export.build(db_path, patients)
        app = bench_fhir_export.make_app(db_path)
        visits, office = load_visits(app, args.claims)
        print(f"built and loaded {len(visits):,} billed claims in {time.perf_counter() - start:.1f} s")
        fhir_ndjson(visits[:200], Path(tmp) / "warm.ndjson")  # imports and first-use costs
        x12_file(visits[:200], office, Path(tmp) / "warm.x12")
        fhir_s, fhir_bytes = best(fhir_ndjson, visits, Path(tmp) / "claims.ndjson")
        x12_s, x12_bytes = best(x12_file, visits, office, Path(tmp) / "claims.x12")
        ratio = x12_s / fhir_s
        print(f"FHIR NDJSON Claims: {fhir_s:.3f} s ({len(visits) / fhir_s:,.0f}/s, {fhir_bytes / 1e6:.1f} MB)")
        print(f"837P interchange:   {x12_s:.3f} s ({len(visits) / x12_s:,.0f}/s, {x12_bytes / 1e6:.1f} MB)")
        print(f"837P / FHIR time = {ratio:.2f}x (target <= 3x)")
        writer_peak(1_000, Path(tmp) / "warm.x12")  # imports and first-use allocations
        small = writer_peak(10_000, Path(tmp) / "m10k.x12")
        large = writer_peak(100_000, Path(tmp) / "m100k.x12")
        growth = large - small
        print(f"837P writer peak: {small:.2f} MB at 10,000 claims, {large:.2f} MB at 100,000 "
              f"({growth:+.2f} MB; target < 1 MB)")
    ok = ratio <= 3 and growth < 1
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
