"""Patient search at 100k patients against the same search at 1k (issue 7's figure).

Builds two SQLite databases through the migrations (temporary folders) and
fills them with synthetic patients by bulk inserts; the small one holds the
first rows of the large one, so the same look-ups hit both. Then, in ONE run
and side by side (each kind timed on one database, then at once on the
other, which goes first alternating by round), times `patients.search_patients`
as the front desk's search box calls it, including its audit row and the
commit that writes it (chained and fsynced), over a fixed mix of queries:

  name prefix   'smi', 'garcia m'
  dob           a date of birth (MM/DD/YYYY)
  phone         a mobile number as typed, '(312) 555-0143'
  mrn           a 10-digit MRN
  name + dob    'ross 11/04/2000'
  full name     'maria jose de la cruz', 'de la cruz, maria jose'
  no match      two names nobody has (the search before registering)

Per kind: the median over rounds of the mean time per search. Also shown, not
judged: the same searches without the audit commit (the query alone), so
the fsync does not hide how the query itself grows.

    .venv/bin/python benchmarks/bench_search.py            # 1,000 vs 100,000 patients
    .venv/bin/python benchmarks/bench_search.py --quick    # fewer rounds
    .venv/bin/python benchmarks/bench_search.py --explain  # query plans of every kind

Target: every kind, and all kinds together, at 100k within 1.5x of 1k.
Exit status 1 if a target is missed (the query plans of the kinds that
missed are printed). Synthetic data only.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _support  # noqa: E402

TARGET = 1.5
SEED = 7


def queries(rows: list[dict[str, Any]]) -> dict[str, list[str]]:
    """The fixed mix, from patients among the small database's rows."""
    picks = [rows[i] for i in (17, 171, 333, 580, 901)]

    def dob(r: dict[str, Any]) -> str:
        return r["birth_date"].strftime("%m/%d/%Y")

    def phone(r: dict[str, Any]) -> str:
        digits = r["phone_mobile"][2:]
        return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"

    return {
        "name prefix": ["smi", "garcia m"],
        "dob": [dob(r) for r in picks],
        "phone": [phone(r) for r in picks],
        "mrn": [r["mrn"] for r in picks],
        "name + dob": [f"{r['family_norm'].split()[0]} {dob(r)}" for r in picks],
        # Whole names typed given-first and with a comma (issue 21: every reading).
        "full name": [f"{r['given_norm']} {r['family_norm']}" for r in picks[:3]]
        + [f"{r['family_norm']}, {r['given_norm']}" for r in picks[3:]],
        # Searched before registering someone new: no chart has these names.
        "no match": ["qzxv wypk", "jvqo, xqzt"],
    }


class Database:
    """One migrated, filled database and an app on it."""

    def __init__(self, instance: Path, rows: list[dict[str, Any]]):
        start = time.perf_counter()
        self.app = _support.migrated_app(instance)
        _support.insert_patients(self.app, rows)
        self.build_seconds = time.perf_counter() - start
        self.size = len(rows)

    def run(self, fn: Callable[[], Any]) -> Any:
        from intake.services import audit

        with self.app.app_context():
            audit.act_as("bench")
            return fn()


def search_once(query: str, commit: bool) -> int:
    from intake.extensions import db
    from intake.services.patients import search_patients

    found, _kind = search_patients(query)
    if commit:
        db.session.commit()  # the audit row: chained and inserted here, as at a request's end
    else:
        db.session.rollback()
    return len(found)


def time_kind(database: Database, qs: list[str], repeat: int, commit: bool) -> float:
    """Mean seconds per search over `repeat` passes of the kind's queries."""

    def body() -> float:
        start = time.perf_counter()
        for _ in range(repeat):
            for q in qs:
                search_once(q, commit)
        return (time.perf_counter() - start) / (repeat * len(qs))

    return database.run(body)


def check_results(database: Database, mix: dict[str, list[str]], rows: list[dict[str, Any]]) -> dict[str, list[int]]:
    """Every exact look-up finds its patient; returns result counts per kind."""
    from intake.extensions import db
    from intake.services.patients import search_patients

    def body() -> dict[str, list[int]]:
        counts: dict[str, list[int]] = {}
        for kind, qs in mix.items():
            counts[kind] = []
            for q in qs:
                found, _ = search_patients(q)
                counts[kind].append(len(found))
                if kind == "no match":
                    assert not found, f"{q!r} found someone"
                elif kind != "name prefix":
                    mrns = {p.mrn for p in found}
                    assert mrns & {r["mrn"] for r in rows[:1000]}, f"{kind} search found nobody"
            db.session.rollback()
        return counts

    return database.run(body)


def explain(database: Database, query: str) -> list[str]:
    """Every patients query search_patients runs for `query` (a name search
    runs one per reading of its words), and SQLite's plan for each."""
    from sqlalchemy import event

    from intake.extensions import db

    def body() -> list[str]:
        seen: list[tuple[str, Any]] = []

        def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
            if "FROM patients" in statement:
                seen.append((statement, parameters))

        engine = db.engine
        event.listen(engine, "before_cursor_execute", capture)
        try:
            search_once(query, commit=False)
        finally:
            event.remove(engine, "before_cursor_execute", capture)
        if not seen:
            return ["(no patients query captured)"]
        conn = db.session.connection().connection.driver_connection
        lines = []
        for statement, params in seen:
            plan = conn.execute("EXPLAIN QUERY PLAN " + statement, params).fetchall()
            where = statement.split("WHERE", 1)[-1].split("ORDER BY")[0].strip()
            tail = " ".join(statement.split("ORDER BY", 1)[-1].split()) if "ORDER BY" in statement else ""
            lines += [f"WHERE {' '.join(where.split())}", f"  ORDER BY {tail}" if tail else "",
                      f"params {params}"]
            lines += [f"  {'  ' * (0 if r[1] == 0 else 1)}{r[3]}" for r in plan]
        db.session.rollback()
        return [line for line in lines if line]

    return database.run(body)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=1000, help="patients in the small database (default 1000)")
    parser.add_argument("--large", type=int, default=100_000, help="patients in the large database (default 100000)")
    parser.add_argument("--rounds", type=int, default=7, help="timing rounds per database (default 7)")
    parser.add_argument("--repeat", type=int, default=10, help="passes of each kind's queries per round (default 10)")
    parser.add_argument("--quick", action="store_true", help="3 rounds x 4 passes")
    parser.add_argument("--explain", action="store_true", help="print the query plan of every kind")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.repeat = 3, 4

    start = time.perf_counter()
    rows = _support.patient_rows(args.large, SEED)
    gen_seconds = time.perf_counter() - start
    mix = queries(rows)
    with _support.temp_instance() as small_dir, _support.temp_instance() as large_dir:
        small = Database(small_dir, rows[:args.small])
        large = Database(large_dir, rows)
        print(f"built {args.small:,} and {args.large:,} patients via migrations: rows generated in "
              f"{gen_seconds:.1f} s, loaded in {small.build_seconds:.1f} s and {large.build_seconds:.1f} s")
        counts = {db.size: check_results(db, mix, rows) for db in (small, large)}
        for db in (small, large):  # warm-up: page cache, compiled statements
            for qs in mix.values():
                time_kind(db, qs, 1, commit=True)

        timings: dict[tuple[int, str, bool], list[float]] = {}
        # Each measurement at one size is taken right beside the same one at
        # the other (which goes first alternates by round), so a burst of load
        # from elsewhere on the machine lands on both sizes, not on one.
        for _round in range(args.rounds):
            pair = (small, large) if _round % 2 == 0 else (large, small)
            for kind, qs in mix.items():
                for commit in (True, False):
                    for db in pair:
                        timings.setdefault((db.size, kind, commit), []).append(
                            time_kind(db, qs, args.repeat, commit))

        def med(size: int, kind: str, commit: bool) -> float:
            return statistics.median(timings[(size, kind, commit)])

        print(f"search_patients + audit commit, median of {args.rounds} rounds x {args.repeat} passes "
              f"(query alone in brackets, not judged)")
        head = (f"{'kind':<12} {'queries':<36} {'results':>11}  {args.small:>7,}  {args.large:>7,}  "
                f"{'ratio':>6}  "
                f"{'(query alone: ' + format(args.small, ',') + ' / ' + format(args.large, ',') + ', ratio)':<40}")
        print(head)
        misses = []
        total = {size: 0.0 for size in (small.size, large.size)}
        total_q = {size: 0.0 for size in (small.size, large.size)}
        for kind, qs in mix.items():
            a, b = med(small.size, kind, True), med(large.size, kind, True)
            qa, qb = med(small.size, kind, False), med(large.size, kind, False)
            n = len(qs)
            total[small.size] += a * n
            total[large.size] += b * n
            total_q[small.size] += qa * n
            total_q[large.size] += qb * n
            ratio = b / a
            ok = ratio <= TARGET
            if not ok:
                misses.append(kind)
            shown = ", ".join(qs) if kind == "name prefix" else f"{qs[0]} (+{n - 1} more)"
            results = (f"{statistics.mean(counts[small.size][kind]):.0f} / "
                       f"{statistics.mean(counts[large.size][kind]):.0f}")
            print(f"{kind:<12} {shown:<36} {results:>11}  {a * 1e3:>5.2f}ms  {b * 1e3:>5.2f}ms  {ratio:>5.2f}x  "
                  f"({qa * 1e3:.2f} / {qb * 1e3:.2f} ms, {qb / qa:.2f}x)  {'ok' if ok else 'MISSED'}")
        n_all = sum(len(qs) for qs in mix.values())
        overall = total[large.size] / total[small.size]
        overall_q = total_q[large.size] / total_q[small.size]
        if overall > TARGET:
            misses.append("overall")
        print(f"{'all kinds':<12} {f'{n_all} queries, equal weight':<36} {'':>11}  "
              f"{total[small.size] / n_all * 1e3:>5.2f}ms  {total[large.size] / n_all * 1e3:>5.2f}ms  "
              f"{overall:>5.2f}x  "
              f"({total_q[small.size] / n_all * 1e3:.2f} / {total_q[large.size] / n_all * 1e3:.2f} ms, "
              f"{overall_q:.2f}x)  "
              f"{'ok' if overall <= TARGET else 'MISSED'}")
        print(f"target: {args.large:,} patients within {TARGET}x of {args.small:,}, per kind and overall")
        show = list(mix) if args.explain else [k for k in misses if k != "overall"]
        for kind in show:
            for q in mix[kind][:2] if kind == "name prefix" else mix[kind][:1]:
                print(f"\nquery plan at {args.large:,} patients, {kind} {q!r}:")
                for line in explain(large, q):
                    print(f"  {line}")
        ok = not misses
        print("PASS" if ok else f"FAIL ({', '.join(misses)})")
        for db in (small, large):
            db.run(lambda: __import__("intake.extensions", fromlist=["db"]).db.engine.dispose())
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
