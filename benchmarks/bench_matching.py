"""Duplicate-chart matching: quality against a Splink baseline, and latency
as the practice grows (issue 18's figures).

Quality. `duplicates_data.make` turns Faker patients into a labelled set
with documented error rates (typos, phonetic respellings, nicknames, swapped
names, date-of-birth typos, moved address, new phone, missing fields). All
rows go into a migrated SQLite database; the practice's model is fitted by
EM (`duplicates.fit_model`); then each chart is put to the live warning
(`duplicates.find`, as registration calls it, threshold in force) and every
pair it raises is a predicted pair. In the same run Splink (DuckDB backend)
is trained on the same rows the textbook way (prior from a deterministic
rule, u by random sampling, m by EM on two blocking rules) and predicts at
match probability 0.5. Pairwise precision, recall and F1 of both are
printed side by side.

Worklist scan. `worklist.run_scan` over 100,000 charts (duplicates made
the same way) against comparing every pair inside every block naively
(each block's pairs, so a pair sharing five blocks is compared five times).

Latency. p95 of one live-warning call (probes drawn from the small
database's rows, with a typo in the family name) at the small size and at
the large one, on SQLite and, given a database URL, on PostgreSQL, in the
same run.

    .venv/bin/python benchmarks/bench_matching.py                 # 6,000 people; 10k vs 1M charts
    .venv/bin/python benchmarks/bench_matching.py --large 200000  # a smaller large database
    .venv/bin/python benchmarks/bench_matching.py --postgres postgresql://.../bench  # and on PostgreSQL
                                                      # (or INTAKE_BENCH_POSTGRES_URL; that database is wiped)

Targets: live F1 >= Splink's F1, live precision >= 0.98, the scan 20x
faster than the naive comparison, p95 at the large size within 2x of the small.
Exit status 1 if one is missed. Synthetic data only.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _support  # noqa: E402
import duplicates_data  # noqa: E402

PRECISION_TARGET = 0.98
LATENCY_TARGET = 2.0
SCAN_TARGET = 20.0


def load(app: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Charts by Core inserts and their blocking keys (what the ORM hook writes
    per chart); returns the ids in row order."""
    from sqlalchemy import insert, select, text

    from intake.extensions import db
    from intake.matching import Record
    from intake.models import Patient, PatientMatchKey
    from intake.services.duplicates import key_rows

    columns = set(Patient.__table__.columns.keys())
    with app.app_context():
        with db.engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA cache_size = -262144")
            for start in range(0, len(rows), 5000):
                chunk = rows[start:start + 5000]
                conn.execute(insert(Patient), [{k: v for k, v in r.items() if k in columns} for r in chunk])
            ids = dict(conn.execute(select(Patient.mrn, Patient.id)).all())
            keys: list[dict[str, Any]] = []
            for r in rows:
                keys += key_rows(ids[r["mrn"]], Record.from_chart(_Row(r)))
                if len(keys) > 50000:
                    conn.execute(insert(PatientMatchKey), keys)
                    keys = []
            if keys:
                conn.execute(insert(PatientMatchKey), keys)
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        db.engine.dispose()
    return [ids[r["mrn"]] for r in rows]


class _Row:
    def __init__(self, row: dict[str, Any]):
        self.__dict__.update(row)


# ---- quality ------------------------------------------------------------------------

def live_pairs(app: Any, rows: list[dict[str, Any]], ids: list[int]) -> set[tuple[int, int]]:
    from intake.extensions import db
    from intake.services import duplicates

    predicted = set()
    with app.app_context():
        duplicates.fit_model()
        db.session.commit()
        params = duplicates.parameters()
        for row, pid in zip(rows, ids, strict=True):
            for c in duplicates.find(row, exclude_id=pid, limit=20, params=params):
                predicted.add((min(pid, c.patient.id), max(pid, c.patient.id)))
        db.session.remove()
    return predicted


def splink_pairs(rows: list[dict[str, Any]], ids: list[int]) -> set[tuple[int, int]]:
    import duckdb
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    con = duckdb.connect()
    con.execute("CREATE TABLE people (unique_id BIGINT, first_name VARCHAR, surname VARCHAR, "
                "dob VARCHAR, phone VARCHAR, email VARCHAR, postcode VARCHAR, address VARCHAR, "
                "sex VARCHAR)")
    con.executemany("INSERT INTO people VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [
        (pid, r["given_norm"] or None, r["family_norm"] or None, r["birth_date"].isoformat(),
         r["phone_mobile"], r["email"], r["postal_code"], r["address_key"], r["sex"])
        for r, pid in zip(rows, ids, strict=True)])
    api = DuckDBAPI(connection=con)
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("first_name"),
            cl.NameComparison("surname"),
            cl.DamerauLevenshteinAtThresholds("dob", [1, 2]),
            cl.ExactMatch("phone"),
            cl.EmailComparison("email"),
            cl.ExactMatch("postcode"),
            cl.ExactMatch("address"),
            cl.ExactMatch("sex"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("dob"), block_on("surname"), block_on("first_name", "substr(dob, 1, 4)"),
            block_on("phone"), block_on("email"), block_on("address"),
        ],
    )
    linker = Linker(api.register("people"), settings, log_level=40)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("first_name", "surname", "dob")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("surname"))
    out = linker.inference.predict(threshold_match_probability=0.5)
    return {(min(r["unique_id_l"], r["unique_id_r"]), max(r["unique_id_l"], r["unique_id_r"]))
            for r in out.as_record_list()}


# ---- the worklist scan ---------------------------------------------------------------

def scan_seconds(app: Any) -> tuple[float, int]:
    from intake.extensions import db
    from intake.services import worklist

    with app.app_context():
        scan = worklist.request_scan(None)
        db.session.info.pop("on_commit", None)  # run it here, timed, not on a worker
        db.session.commit()
        start = time.perf_counter()
        worklist.run_scan(scan.id)
        seconds = time.perf_counter() - start
        found = scan.pairs_found
        db.session.remove()
    return seconds, found


def naive_seconds(app: Any) -> tuple[float, int]:
    """The same blocks, every pair in each block compared (a pair sharing
    five blocks five times), nothing written."""
    from sqlalchemy import select

    from intake.extensions import db
    from intake.matching import Record, score
    from intake.models import PatientMatchKey
    from intake.services import duplicates
    from intake.services.worklist import RECORD_COLUMNS

    with app.app_context():
        start = time.perf_counter()
        params = duplicates.parameters()
        records = {r.id: Record.from_chart(r) for r in db.session.execute(select(*RECORD_COLUMNS))}
        compared = 0
        block: list[int] = []
        current = None
        rows = db.session.execute(select(PatientMatchKey.key, PatientMatchKey.patient_id)
                                  .order_by(PatientMatchKey.key))
        for key, pid in [*rows, (None, None)]:
            if key != current:
                for i, x in enumerate(block):
                    for y in block[i + 1:]:
                        score(records[x], records[y], params)
                        compared += 1
                block, current = [], key
            block.append(pid)
        seconds = time.perf_counter() - start
        db.session.remove()
    return seconds, compared


# ---- latency --------------------------------------------------------------------------

def probes(rows: list[dict[str, Any]], n: int = 200) -> list[dict[str, Any]]:
    rng = random.Random(5)
    picked = [rows[i] for i in rng.sample(range(min(len(rows), 10000)), n)]
    return [dict(r, family_name=duplicates_data.typo(rng, r["family_name"]), phone_mobile=None)
            for r in picked]


def p95_find(app: Any, probe_rows: list[dict[str, Any]]) -> float:
    from intake.extensions import db
    from intake.services import duplicates

    times = []
    with app.app_context():
        params = duplicates.parameters()
        for probe in probe_rows * 2:
            start = time.perf_counter()
            duplicates.find(probe, params=params)
            times.append(time.perf_counter() - start)
            db.session.expire_all()
        db.session.remove()
    return _support.percentile(times[len(probe_rows):], 95)  # the second pass: caches warm


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=6000)
    parser.add_argument("--small", type=int, default=10000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--scan", type=int, default=100_000)
    parser.add_argument("--postgres", default=os.environ.get("INTAKE_BENCH_POSTGRES_URL"),
                        help="also time the live warning on this PostgreSQL database (wiped)")
    args = parser.parse_args()
    ok = True

    rows = duplicates_data.make(args.people)
    with _support.temp_instance() as instance:
        app = _support.migrated_app(instance)
        ids = load(app, rows)
        truth = duplicates_data.true_pairs(rows, ids)
        t0 = time.perf_counter()
        live = duplicates_data.quality(live_pairs(app, rows, ids), truth)
        live_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    base = duplicates_data.quality(splink_pairs(rows, ids), truth)
    base_s = time.perf_counter() - t0
    print(f"quality on {len(rows):,} charts ({len(truth):,} true duplicate pairs):")
    print(f"  {'':22} {'precision':>9} {'recall':>7} {'F1':>6} {'pairs':>6} {'seconds':>8}")
    for name, q, s in (("live warning (EM fit)", live, live_s), ("Splink FS baseline", base, base_s)):
        print(f"  {name:22} {q['precision']:9.3f} {q['recall']:7.3f} {q['f1']:6.3f} {q['pairs']:6d} {s:8.1f}")
    if live["f1"] < base["f1"]:
        print("  MISSED: live F1 below the baseline's")
        ok = False
    if live["precision"] < PRECISION_TARGET:
        print(f"  MISSED: live precision below {PRECISION_TARGET}")
        ok = False

    scan_rows = duplicates_data.make(round(args.scan / 1.2), seed=21)
    with tempfile.TemporaryDirectory(prefix="intake-bench-") as tmp:
        app = _support.migrated_app(Path(tmp))
        load(app, scan_rows)
        naive_s, compared = naive_seconds(app)
        scan_s, found = scan_seconds(app)
    speedup = naive_s / scan_s
    print(f"worklist scan of {len(scan_rows):,} charts: {scan_s:.1f} s ({found:,} pairs listed); "
          f"every pair in the same blocks: {naive_s:.1f} s ({compared:,} comparisons); "
          f"{speedup:.1f}x faster (target >= {SCAN_TARGET:.0f}x)")
    if speedup < SCAN_TARGET:
        print("  MISSED: the scan is not that much faster than the naive comparison")
        ok = False

    big = _support.patient_rows(args.large, seed=7)
    small = big[:args.small]
    probe_rows = probes(small)
    databases = [("SQLite", None)] + ([("PostgreSQL", args.postgres)] if args.postgres else [])
    for label, url in databases:
        results = {}
        for size, chart_rows in ((args.small, small), (args.large, big)):
            with tempfile.TemporaryDirectory(prefix="intake-bench-") as tmp:
                t0 = time.perf_counter()
                app = fresh_app(Path(tmp), url)
                load(app, chart_rows)
                build = time.perf_counter() - t0
                results[size] = p95_find(app, probe_rows)
                print(f"{label}: live warning at {size:,} charts: p95 {results[size] * 1000:.2f} ms "
                      f"(database built in {build:.0f} s)")
        ratio = results[args.large] / results[args.small]
        print(f"{label}: p95 ratio {args.large:,} / {args.small:,}: {ratio:.2f}x "
              f"(target <= {LATENCY_TARGET}x)")
        if ratio > LATENCY_TARGET:
            print(f"  MISSED: live warning latency grows with the practice on {label}")
            ok = False
    return 0 if ok else 1


def fresh_app(instance: Path, url: str | None) -> Any:
    """A migrated app on a new SQLite file, or on the PostgreSQL database at
    `url` emptied first (give it a database of its own: it is wiped)."""
    if url is None:
        return _support.migrated_app(instance)
    from sqlalchemy import create_engine

    from intake.config import normalise_database_url

    url = normalise_database_url(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
    return _support.migrated_app(instance, SQLALCHEMY_DATABASE_URI=url)


if __name__ == "__main__":
    sys.exit(main())
