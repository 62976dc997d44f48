"""Bulk FHIR NDJSON export: our path against the raw floor and the naive path.

Builds a temporary SQLite database through the migrations, fills it with N
synthetic patients (Faker name pool, bulk inserts): each with a coverage
(some Medicare, some with a spouse/child subscriber), two checked-out visits
with diagnoses and locked charge lines, each billed (a frozen billed_claims
row, as charges.lock writes it). Then, in ONE run:

  raw    the same rows read in the same batches and written with orjson, no mapping
  ours   rows read in batches -> intake.fhir mappers -> orjson NDJSON
  naive  ORM objects -> fhir.resources R4B models -> model_dump_json (a sample, extrapolated)

Resources: Patient, Coverage, RelatedPerson, Encounter, Claim. Each export
at each size runs in a fresh child process, so its peak RSS is its own;
memory growth is ours(largest) - ours(smallest).

    python benchmarks/bench_fhir_export.py                    # 10k and 100k patients
    python benchmarks/bench_fhir_export.py --patients 2000,10000   # quick
Targets: ours >= 40% of raw, >= 10x naive, growth < 30 MB from 10k to 100k.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BATCH = 2000
VISITS_PER_PATIENT = 2
NAIVE_SAMPLE = 400
UTC = timezone.utc


def make_app(db_path: Path) -> Any:
    os.environ["INTAKE_INSTANCE_PATH"] = str(db_path.parent)
    from intake import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}", "SECRET_KEY": "bench",
                       "TESTING": True})


# -- building the data ---------------------------------------------------------

def build(db_path: Path, patients: int, seed: int = 7) -> None:
    from faker import Faker
    from flask_migrate import upgrade

    from intake.extensions import db
    from intake.models import (BilledClaim, ChargeLine, Coverage, Patient, Payer, Practice, Provider, Visit,
                               VisitDiagnosis)
    from intake.services.demo import synthetic_mbi
    from intake.services.payers import seed_payers

    app = make_app(db_path)
    rng = random.Random(seed)
    fake = Faker("en_US")
    fake.seed_instance(seed)
    families = [fake.last_name() for _ in range(500)]
    givens = [fake.first_name() for _ in range(500)]
    streets = [fake.street_address() for _ in range(500)]
    cities = [fake.city() for _ in range(100)]
    now = datetime(2025, 11, 20, 12, tzinfo=UTC)
    day = date(2025, 11, 14)
    with app.app_context():
        upgrade()
        seed_payers()
        db.session.add(Practice(id=1, name="Bench Family Medicine", npi="1245319599", tax_id="123456789",
                                default_pos="11", created_at=now, updated_at=now))
        db.session.add(Provider(id=1, family_name="Hartley", given_name="Jane", credentials="MD",
                                npi="1234567893", active=True, created_at=now, updated_at=now))
        db.session.commit()
        payers = list(db.session.execute(db.select(Payer.id, Payer.kind, Payer.name, Payer.payer_code)).all())
        insurers = [p for p in payers if p.kind != "self_pay"]
        conn = db.session.connection()
        pid = cid = vid = did = lid = 0
        for start in range(0, patients, 5000):
            P, C, V, D, L, B = [], [], [], [], [], []
            for _ in range(min(5000, patients - start)):
                pid += 1
                family, given = rng.choice(families), rng.choice(givens)
                P.append(dict(id=pid, mrn=f"{pid:010d}", family_name=family, given_name=given,
                              middle_name=None, suffix=None, preferred_name=None,
                              family_norm=family.lower(), given_norm=given.lower(),
                              birth_date=date(1940, 1, 1) + timedelta(days=rng.randint(0, 25000)),
                              sex=rng.choice(["female", "male"]), gender_identity=None,
                              address_line1=rng.choice(streets), address_line2=None, city=rng.choice(cities),
                              state="IL", postal_code=f"{rng.randint(60000, 62999)}", address_key=None,
                              phone_mobile=f"+1312555{rng.randint(0, 9999):04d}", phone_home=None,
                              email=None if rng.random() < 0.4 else f"p{pid}@example.com",
                              preferred_language=rng.choice(["en", "en", "es", "pl"]),
                              races=[rng.choice(["2106-3", "2054-5", "2028-9"])],
                              ethnicity=rng.choice(["2135-2", "2186-5"]), marital_status="M",
                              emergency_name=None, emergency_relationship=None, emergency_phone=None,
                              created_at=now, updated_at=now))
                payer = rng.choice(insurers)
                cid += 1
                spouse = payer.kind == "commercial" and rng.random() < 0.25
                C.append(dict(id=cid, patient_id=pid, payer_id=payer.id, rank=1, status="active",
                              member_id=synthetic_mbi(rng) if payer.kind == "medicare" else f"W{pid:09d}",
                              group_number="GRP-100" if payer.kind == "commercial" else None,
                              plan_name="PPO" if payer.kind == "commercial" else None,
                              effective_date=date(2025, 1, 1), end_date=None, copay_cents=2500,
                              relationship_code="spouse" if spouse else "self",
                              subscriber_family=family if spouse else None,
                              subscriber_given=rng.choice(givens) if spouse else None,
                              subscriber_birth_date=date(1960, 5, 5) if spouse else None,
                              created_at=now, updated_at=now))
                frozen_payer = {"order": 1, "coverage_id": cid, "payer_id": payer.id, "payer_name": payer.name,
                                "payer_code": payer.payer_code, "payer_kind": payer.kind,
                                "member_id": C[-1]["member_id"], "group_number": C[-1]["group_number"],
                                "plan_name": C[-1]["plan_name"], "relationship_code": C[-1]["relationship_code"],
                                "subscriber_family": C[-1]["subscriber_family"],
                                "subscriber_given": C[-1]["subscriber_given"],
                                "subscriber_birth_date": "1960-05-05" if spouse else None,
                                "effective_date": "2025-01-01", "end_date": None}
                for _ in range(VISITS_PER_PATIENT):
                    vid += 1
                    arrived = datetime(2025, 11, 14, 14, tzinfo=UTC)
                    V.append(dict(id=vid, patient_id=pid, provider_id=1, date_of_service=day,
                                  place_of_service="11", reason="Follow-up", state="checked_out",
                                  arrived_at=arrived, checked_in_at=arrived, roomed_at=arrived,
                                  checked_out_at=arrived + timedelta(minutes=40),
                                  demographics_reviewed_at=arrived, insurance_reviewed_at=arrived,
                                  charges_locked_at=now, charges_locked_by_id=None, version=1,
                                  created_at=now, updated_at=now))
                    first = did + 1
                    for seq, (code, display) in enumerate([("E11.9", "Type 2 diabetes mellitus"),
                                                            ("I10", "Essential hypertension")], start=1):
                        did += 1
                        D.append(dict(id=did, visit_id=vid, sequence=seq, code=code, display=display))
                    frozen_lines = []
                    for n, (code, system, price) in enumerate([("99213", "cpt", 9000),
                                                               ("G0008", "hcpcs", 3000)][:rng.randint(1, 2)], 1):
                        lid += 1
                        L.append(dict(id=lid, visit_id=vid, line_no=n, code=code, system=system,
                                      verified=system == "hcpcs", display="", modifier1=None, modifier2=None,
                                      modifier3=None, modifier4=None, units=1, unit_price_cents=price,
                                      pointer1_id=first, pointer2_id=first + 1 if n == 1 else None,
                                      pointer3_id=None, pointer4_id=None))
                        frozen_lines.append({"line_no": n, "code": code, "system": system, "display": "",
                                             "modifiers": [], "units": 1, "unit_price_cents": price,
                                             "pointers": [1, 2] if n == 1 else [1]})
                    B.append(dict(id=vid, visit_id=vid, patient_id=pid, version=1, replaces_id=None,
                                  patient_control_number=f"V{vid:07d}", status="active", billed_at=now,
                                  billed_by_id=None, date_of_service=day, place_of_service="11",
                                  provider_id=1, total_cents=sum(x["unit_price_cents"] for x in frozen_lines),
                                  self_pay=False, payers=[frozen_payer],
                                  diagnoses=[{"sequence": d["sequence"], "code": d["code"],
                                              "display": d["display"]} for d in D[-2:]],
                                  lines=frozen_lines, created_at=now, updated_at=now))
            for model, rows in ((Patient, P), (Coverage, C), (Visit, V), (VisitDiagnosis, D), (ChargeLine, L),
                                (BilledClaim, B)):
                conn.execute(model.__table__.insert(), rows)
        db.session.commit()
        db.engine.dispose()


# -- reading in batches (shared by raw and ours) ---------------------------------

def batches(conn: Any, table: Any, where: Any, size: int = BATCH) -> Iterator[list[Any]]:
    """Keyset pagination on id: memory holds one batch, whatever the table size."""
    from sqlalchemy import select

    last = 0
    while True:
        rows = conn.execute(select(table).where(where, table.c.id > last).order_by(table.c.id).limit(size)).all()
        if not rows:
            return
        yield rows
        last = rows[-1].id


def export(db_path: Path, out_dir: Path, limit: int, mode: str) -> int:
    """Write one NDJSON file per type; returns the number of resources."""
    from sqlalchemy import create_engine

    from intake.fhir import ndjson
    from intake.models import BilledClaim, Coverage, Patient, Payer, Visit

    engine = create_engine(f"sqlite:///{db_path}")
    P, C, V, B = Patient.__table__, Coverage.__table__, Visit.__table__, BilledClaim.__table__
    dumps = orjson.dumps
    nl = orjson.OPT_APPEND_NEWLINE
    total = 0
    with engine.connect() as conn:
        payers = {r.id: r for r in conn.execute(Payer.__table__.select())}
        def rows(table: Any, where: Any) -> Iterator[Any]:
            for batch in batches(conn, table, where):
                yield from batch
        with open(out_dir / "Patient.ndjson", "wb") as fh:
            if mode == "raw":
                for r in rows(P, P.c.id <= limit):
                    fh.write(dumps(r._asdict(), option=nl))
                    total += 1
            else:
                total += ndjson.write_ndjson(ndjson.patients(rows(P, P.c.id <= limit)), fh)
        with open(out_dir / "Coverage.ndjson", "wb") as fh, open(out_dir / "RelatedPerson.ndjson", "wb") as rp:
            for batch in batches(conn, C, C.c.patient_id <= limit):
                if mode == "raw":
                    for r in batch:
                        fh.write(dumps(r._asdict(), option=nl))
                        total += 1
                        if r.relationship_code != "self":
                            rp.write(dumps(r._asdict(), option=nl))
                            total += 1
                else:
                    total += ndjson.write_ndjson(ndjson.coverages(batch, lambda r: payers[r.payer_id]), fh)
                    total += ndjson.write_ndjson(ndjson.related_persons(batch), rp)
        with open(out_dir / "Encounter.ndjson", "wb") as fh:
            if mode == "raw":
                for r in rows(V, V.c.patient_id <= limit):
                    fh.write(dumps(r._asdict(), option=nl))
                    total += 1
            else:
                total += ndjson.write_ndjson(ndjson.encounters(rows(V, V.c.patient_id <= limit)), fh)
        with open(out_dir / "Claim.ndjson", "wb") as fh:
            if mode == "raw":
                for r in rows(B, B.c.patient_id <= limit):
                    fh.write(dumps(r._asdict(), option=nl))
                    total += 1
            else:
                total += ndjson.write_ndjson(ndjson.claims(rows(B, B.c.patient_id <= limit)), fh)
    engine.dispose()
    return total


def child(db_path: Path, limit: int, mode: str) -> None:
    """One export in this fresh process: resources, seconds and own peak RSS."""
    import intake.fhir.ndjson  # noqa: F401  (imports outside the timing)

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        n = export(db_path, Path(out), limit, mode)
        seconds = time.perf_counter() - start
        size = sum(f.stat().st_size for f in Path(out).iterdir())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"resources": n, "seconds": seconds, "maxrss_kb": peak, "start_rss_kb": before,
                      "bytes": size}))


def run_child(db_path: Path, limit: int, mode: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--child", mode, str(limit), str(db_path)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- the naive path (a sample) ---------------------------------------------------

def naive(db_path: Path, sample: int) -> tuple[int, float]:
    """ORM objects -> fhir.resources models -> model_dump_json, for `sample` patients."""
    from sqlalchemy.orm import selectinload

    from intake.extensions import db
    from intake.fhir import mappers as M
    from intake.models import BilledClaim, Coverage, Patient, Visit

    classes = {t: getattr(importlib.import_module(f"fhir.resources.R4B.{t.lower()}"), t)
               for t in ("Patient", "Coverage", "RelatedPerson", "Encounter", "Claim")}
    app = make_app(db_path)
    with app.app_context(), tempfile.TemporaryFile() as fh:
        start = time.perf_counter()
        n = 0
        def emit(resource: dict[str, Any]) -> None:
            nonlocal n
            fh.write(classes[resource["resourceType"]].model_validate(resource).model_dump_json().encode() + b"\n")
            n += 1
        for p in db.session.scalars(db.select(Patient).where(Patient.id <= sample)
                                    .options(selectinload(Patient.coverages).selectinload(Coverage.payer))):
            emit(M.patient_resource(p))
            for c in p.coverages:
                emit(M.coverage_resource(c, c.payer))
                if c.relationship_code != "self":
                    emit(M.related_person_resource(c))
        for v in db.session.scalars(db.select(Visit).where(Visit.patient_id <= sample)):
            emit(M.encounter_resource(v))
        for claim in db.session.scalars(db.select(BilledClaim).where(BilledClaim.patient_id <= sample)):
            emit(M.claim_resource(claim))
        seconds = time.perf_counter() - start
    return n, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", default="10000,100000", help="comma-separated sizes (default 10000,100000)")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "LIMIT", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, limit, db_path = args.child
        child(Path(db_path), int(limit), mode)
        return
    sizes = sorted(int(s) for s in args.patients.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "bench.db"
        start = time.perf_counter()
        build(db_path, sizes[-1])
        print(f"built {sizes[-1]:,} patients ({VISITS_PER_PATIENT} visits each) via migrations "
              f"in {time.perf_counter() - start:.1f} s")
        results = {}
        for size in sizes:
            raw, ours = run_child(db_path, size, "raw"), run_child(db_path, size, "ours")
            results[size] = (raw, ours)
            raw_rate, our_rate = raw["resources"] / raw["seconds"], ours["resources"] / ours["seconds"]
            print(f"{size:>7,} patients  {ours['resources']:>9,} resources  raw {raw_rate:>9,.0f}/s  "
                  f"ours {our_rate:>9,.0f}/s ({our_rate / raw_rate:.0%} of raw)  "
                  f"ours peak RSS {ours['maxrss_kb'] / 1024:.1f} MB  output {ours['bytes'] / 1e6:.1f} MB")
        sample = min(NAIVE_SAMPLE, sizes[0])
        naive(db_path, 20)  # warm-up: pydantic builds validators on first use
        n, seconds = naive(db_path, sample)
        naive_rate = n / seconds
        raw, ours = results[sizes[-1]]
        raw_rate, our_rate = raw["resources"] / raw["seconds"], ours["resources"] / ours["seconds"]
        print(f"naive (ORM -> fhir.resources -> model_dump_json): {n:,} resources from {sample} patients "
              f"in {seconds:.2f} s = {naive_rate:,.0f}/s; "
              f"extrapolated to {ours['resources']:,}: {ours['resources'] / naive_rate:.0f} s")
        growth = (results[sizes[-1]][1]["maxrss_kb"] - results[sizes[0]][1]["maxrss_kb"]) / 1024
        print(f"at {sizes[-1]:,} patients: ours/raw = {our_rate / raw_rate:.0%} (target >= 40%), "
              f"ours/naive = {our_rate / naive_rate:.1f}x (target >= 10x)")
        print(f"peak memory growth {sizes[0]:,} -> {sizes[-1]:,} patients: {growth:+.1f} MB (target < 30 MB)")
        ok = our_rate >= 0.4 * raw_rate and our_rate >= 10 * naive_rate and growth < 30
        print("PASS" if ok else "FAIL")
        sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
