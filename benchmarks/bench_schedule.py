"""The schedule's figures (issue 17), each a ratio measured in one run.

1. Finding time: the next 20 open slots for one type across 50 providers
   over 90 days, `finding.next_open_slots` (day by day, one week of
   bookings per query, stops when it has enough) against the naive way on
   the same data (`finding.naive_open_slots`: expand every template into
   every slot of the 90 days, then subtract every booking). The first two
   weeks are fully booked and the rest a third booked, as a busy practice
   looks. Both must return the same slots. Target: at least 10x faster.
2. The board: GET /staff/board for a day of 500 appointments against a day
   of 50 (same database, same mix: a third arrived and moving through the
   visit states, some no-shows and cancellations, the rest booked), signed
   in as a receptionist, CPU time of the process per request, median of
   rounds. Target: within 2x.
3. Four processes booking the same 60 slots at once (each its own app and
   connection, a commit per booking): 0 double bookings, 0 server errors;
   exactly one booking per slot. On SQLite, and on PostgreSQL too with
   --pg URL (a database of your own: it is dropped and rebuilt).

    .venv/bin/python benchmarks/bench_schedule.py [--quick] [--pg URL]

Exit status 1 if a target is missed. Synthetic data only.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import re
import statistics
import sys
import time
from datetime import date, datetime, time as clock_time, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _support  # noqa: E402

PROVIDERS = 50
BOARD_SMALL, BOARD_LARGE = 50, 500
RACE_PROCESSES, RACE_SLOTS = 4, 60
PASSWORD = "q7-Vortex-Lantern-93-bramble"


def _week_blocks(type_ids: list[int] | None = None) -> list[dict[str, Any]]:
    blocks = []
    for wd in range(5):
        blocks += [{"weekday": wd, "starts": clock_time(8), "ends": clock_time(17),
                    "type_ids": type_ids},
                   {"weekday": wd, "starts": clock_time(12), "ends": clock_time(13),
                    "kind": "break"}]
    return blocks


def _setup_office(app: Any, providers: int) -> tuple[int, list[int], list[int]]:
    """An appointment type, providers with a weekly template, 300 patients."""
    from intake.extensions import db
    from intake.models import AppointmentType, Patient
    from intake.services import practice
    from intake.services.schedule import hours

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        _support.insert_patients(app, _support.patient_rows(300, seed=17))
    else:  # the race needs one patient; the bulk loader is SQLite's
        from intake.services import patients as charts

        row = _support.patient_rows(1, seed=17)[0]
        with app.app_context():
            charts.register_patient({k: row[k] for k in ("family_name", "given_name",
                                                         "birth_date", "sex")}, confirm_new=True)
            db.session.commit()
    with app.app_context():
        kind = AppointmentType(name="Follow-up", minutes=20)
        db.session.add(kind)
        db.session.flush()
        ids = []
        for n in range(providers):
            p = practice.save_provider(None, {"family_name": f"Doctor{n}", "given_name": "Sam",
                                              "credentials": "MD", "npi": _npi(n),
                                              "taxonomy": "207Q00000X", "active": True})
            hours.save_template(p, date(2020, 1, 6), _week_blocks())
            ids.append(p.id)
        db.session.commit()
        patients = list(db.session.execute(db.select(Patient.id)).scalars())
        return kind.id, ids, patients


def _npi(n: int) -> str:
    """A valid NPI (Luhn over 80840 + 9 digits)."""
    base = f"1{n:08d}"
    digits = [int(d) for d in "80840" + base]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return base + str((10 - total % 10) % 10)


def _insert_appointments(app: Any, rows: list[dict[str, Any]]) -> None:
    """Core inserts of booked appointments and the 5-minute cells they hold."""
    from intake.extensions import db
    from intake.models import Appointment, AppointmentCell
    from intake.services.schedule.booking import cells

    with app.app_context():
        with db.engine.begin() as conn:
            ids = conn.execute(Appointment.__table__.insert().returning(
                Appointment.id, sort_by_parameter_order=True), rows).scalars().all()
            conn.execute(AppointmentCell.__table__.insert(), [
                {"provider_id": r["provider_id"], "cell": c, "appointment_id": i}
                for i, r in zip(ids, rows, strict=True) for c in cells(r["start_at"], r["minutes"])])


# ---- 1. finding time ---------------------------------------------------------------

def bench_finding(app: Any, type_id: int, providers: list[int], patients: list[int],
                  rounds: int) -> tuple[float, float, float]:
    from intake.services.clock import practice_zone
    from intake.services.schedule import finding

    rng = random.Random(5)
    with app.app_context():
        zone = practice_zone()
        first = datetime.now(zone).date() + timedelta(days=1)
        after = datetime.combine(first, clock_time(0), zone)
        rows = []
        for d in range(90):
            day = first + timedelta(days=d)
            if day.weekday() >= 5:
                continue
            for pid in providers:
                for start_min in list(range(8 * 60, 12 * 60, 20)) + list(range(13 * 60, 17 * 60, 20)):
                    if d < 14 or rng.random() < 0.33:
                        at = datetime.combine(day, clock_time(start_min // 60, start_min % 60), zone)
                        rows.append({"patient_id": rng.choice(patients), "provider_id": pid,
                                     "type_id": type_id, "start_at": at.astimezone(timezone.utc),
                                     "minutes": 20, "status": "booked", "version": 1})
    _insert_appointments(app, rows)
    with app.app_context():
        fast_result = finding.next_open_slots(type_id, after=after, limit=20)
        naive_result = finding.naive_open_slots(type_id, after=after, limit=20)
        assert fast_result == naive_result and len(fast_result) == 20, "the two ways disagree"
        fast, naive = [], []
        for _ in range(rounds):  # CPU time: the machine is shared, SQLite is in-process
            t = time.process_time()
            finding.next_open_slots(type_id, after=after, limit=20)
            fast.append(time.process_time() - t)
            t = time.process_time()
            finding.naive_open_slots(type_id, after=after, limit=20)
            naive.append(time.process_time() - t)
    print(f"  {len(rows):,} bookings over 90 days, {len(providers)} providers")
    return statistics.median(fast), statistics.median(naive), len(rows)


# ---- 2. the board ------------------------------------------------------------------

def _fill_day(app: Any, day: date, n: int, type_id: int, providers: list[int],
              patients: list[int], rng: random.Random) -> None:
    """n appointments on `day`: a third arrived (a visit in some state), a
    tenth no-show or cancelled, the rest booked."""
    from intake.extensions import db
    from intake.models import Appointment, Visit
    from intake.services.clock import practice_zone

    states = ["arrived", "checked_in", "with_provider", "checked_out"]
    with app.app_context():
        zone = practice_zone()
        for i in range(n):
            pid = providers[i % len(providers)]
            slot = i // len(providers)
            at = datetime.combine(day, clock_time(8), zone) + timedelta(minutes=20 * (slot % 24))
            appt = Appointment(patient_id=rng.choice(patients), provider_id=pid, type_id=type_id,
                               start_at=at.astimezone(timezone.utc), minutes=20, status="booked",
                               reason="Follow-up")
            roll = i % 10
            if roll < 3:
                visit = Visit(patient_id=appt.patient_id, provider_id=pid, date_of_service=day,
                              place_of_service="11", state=states[i % 4],
                              arrived_at=appt.start_at + timedelta(minutes=rng.randint(-5, 25)))
                db.session.add(visit)
                db.session.flush()
                appt.status, appt.visit_id = "arrived", visit.id
            elif roll == 3:
                appt.status = "no_show"
            elif roll == 4:
                appt.status, appt.cancel_reason = "cancelled", "Patient called"
            db.session.add(appt)
        db.session.commit()


def bench_board(app: Any, type_id: int, providers: list[int], patients: list[int],
                rounds: int) -> tuple[float, float]:
    from intake.extensions import db
    from intake.services import users

    rng = random.Random(9)
    small_day, large_day = date(2026, 3, 2), date(2026, 3, 3)
    _fill_day(app, small_day, BOARD_SMALL, type_id, providers, patients, rng)
    _fill_day(app, large_day, BOARD_LARGE, type_id, providers, patients, rng)
    with app.app_context():
        users.create_user("benchdesk", PASSWORD, "receptionist")
        db.session.commit()
    client = app.test_client()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"',
                      client.get("/login").get_data(as_text=True))[1]
    signed_in = client.post("/login", data={"username": "benchdesk", "password": PASSWORD,
                                            "csrf_token": token})
    assert signed_in.status_code == 302, signed_in.status_code

    def cpu(day: date) -> float:
        t = time.process_time()
        response = client.get(f"/staff/board?day={day.isoformat()}")
        spent = time.process_time() - t
        assert response.status_code == 200
        return spent

    small = client.get(f"/staff/board?day={small_day.isoformat()}").get_data(as_text=True)
    large = client.get(f"/staff/board?day={large_day.isoformat()}").get_data(as_text=True)
    assert small.count("<tr") == BOARD_SMALL + 1 and large.count("<tr") == BOARD_LARGE + 1
    for _ in range(3):  # warm the template and statement caches
        cpu(small_day), cpu(large_day)
    s, l_ = [], []
    for n in range(rounds):
        if n % 2:
            s.append(cpu(small_day))
            l_.append(cpu(large_day))
        else:
            l_.append(cpu(large_day))
            s.append(cpu(small_day))
    return statistics.median(s), statistics.median(l_)


# ---- 3. four processes booking the same slots ---------------------------------------

def _race_worker(url: str, instance: str, type_id: int, provider_id: int, patient_id: int,
                 starts: list[str], barrier: Any, out: Any) -> None:
    import os

    os.environ["INTAKE_INSTANCE_PATH"] = instance
    from intake import create_app
    from intake.extensions import db
    from intake.services import FieldErrors
    from intake.services.schedule import booking

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": _support.BENCH_SECRET})
    booked = told = errors = 0
    barrier.wait()
    with app.app_context():
        for iso in starts:
            try:
                booking.book({"patient_id": patient_id, "provider_id": provider_id,
                              "type_id": type_id, "start": datetime.fromisoformat(iso)})
                db.session.commit()
                booked += 1
            except FieldErrors:
                db.session.rollback()
                told += 1
            except Exception:  # noqa: BLE001 - counted: the figure is "0 server errors"
                db.session.rollback()
                errors += 1
    out.put((booked, told, errors))


def bench_race(url: str, instance: Path) -> tuple[int, int, int, int]:
    """Returns (booked, told, errors, double bookings)."""
    from intake import create_app
    from intake.extensions import db
    from intake.models import Appointment, AppointmentType, Provider
    from intake.services.clock import practice_zone
    from intake.services.schedule import hours

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": _support.BENCH_SECRET})
    with app.app_context():
        zone = practice_zone()
        kind = db.session.execute(db.select(AppointmentType)).scalars().first()
        if kind is None:
            kind = AppointmentType(name="Follow-up", minutes=20)
            db.session.add(kind)
        provider = db.session.execute(db.select(Provider).order_by(Provider.id)).scalars().first()
        if not provider.id or not hours.Week([provider.id], date.today(), date.today(),
                                             zone).templates[provider.id]:
            hours.save_template(provider, date(2020, 1, 6), _week_blocks())
        db.session.commit()
        day = datetime.now(zone).date() + timedelta(days=120)
        while day.weekday() != 1:
            day += timedelta(days=1)
        # 60 slots on 3 Tuesdays, 20 a day; every process books all of them,
        # half the processes from the last one back.
        starts = []
        for week in range(3):
            base = datetime.combine(day + timedelta(weeks=week), clock_time(8), zone)
            starts += [base + timedelta(minutes=20 * i) for i in range(12)]
            starts += [base + timedelta(minutes=20 * i) for i in range(15, 23)]
        starts = starts[:RACE_SLOTS]
        patient_id = db.session.execute(db.text("SELECT min(id) FROM patients")).scalar()
        type_id, provider_id = kind.id, provider.id
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(RACE_PROCESSES), ctx.Queue()
    procs = []
    for n in range(RACE_PROCESSES):
        mine = [s.isoformat() for s in (starts if n % 2 == 0 else list(reversed(starts)))]
        procs.append(ctx.Process(target=_race_worker, args=(url, str(instance), type_id,
                                                             provider_id, patient_id, mine,
                                                             barrier, out)))
    for p in procs:
        p.start()
    results = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(60)
    with app.app_context():
        rows = db.session.execute(
            db.select(Appointment.start_at, Appointment.minutes)
            .where(Appointment.provider_id == provider_id, Appointment.status == "booked",
                   Appointment.start_at >= datetime.combine(day, clock_time(0), zone))
            .order_by(Appointment.start_at)).all()
    doubles = sum(1 for (a, am), (b, _) in zip(rows, rows[1:], strict=False)
                  if a + timedelta(minutes=am) > b)
    return (sum(r[0] for r in results), sum(r[1] for r in results),
            sum(r[2] for r in results), doubles)


def _pg_app(url: str, instance: Path) -> Any:
    from sqlalchemy import create_engine, text

    from intake.config import normalise_database_url

    url = normalise_database_url(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    app = _support.make_app(instance, SQLALCHEMY_DATABASE_URI=url)
    _support.migrate(app)
    return app, url


def profile_finding() -> None:
    """--profile: where next_open_slots spends its time."""
    import cProfile
    import pstats

    from intake.services.clock import practice_zone
    from intake.services.schedule import finding

    with _support.temp_instance() as instance:
        app = _support.migrated_app(instance)
        type_id, providers, patients = _setup_office(app, PROVIDERS)
        bench_finding(app, type_id, providers, patients, 1)
        with app.app_context():
            after = datetime.combine(datetime.now(practice_zone()).date() + timedelta(days=1),
                                     clock_time(0), practice_zone())
            with cProfile.Profile() as prof:
                finding.next_open_slots(type_id, after=after, limit=20)
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--pg", help="PostgreSQL URL of a database to rebuild for the race")
    parser.add_argument("--profile", action="store_true", help="profile the slot search only")
    args = parser.parse_args()
    if args.profile:
        profile_finding()
        return 0
    rounds = 5 if args.quick else 15
    failed = []
    with _support.temp_instance() as instance:
        app = _support.migrated_app(instance)
        type_id, providers, patients = _setup_office(app, PROVIDERS)

        print("1. next 20 open slots, 50 providers, 90 days (CPU per search)")
        fast, naive, _ = bench_finding(app, type_id, providers, patients, max(3, rounds // 3))
        ratio = naive / fast
        print(f"  next_open_slots {fast * 1000:8.1f} ms   naive {naive * 1000:8.1f} ms   "
              f"{ratio:5.1f}x faster (target >= 10x)")
        if ratio < 10:
            failed.append("finding")

        print(f"2. the board: {BOARD_LARGE} vs {BOARD_SMALL} appointments (CPU per request)")
        small, large = bench_board(app, type_id, providers, patients, rounds)
        ratio = large / small
        print(f"  {BOARD_SMALL:>3}: {small * 1000:7.1f} ms   {BOARD_LARGE}: {large * 1000:7.1f} ms"
              f"   {ratio:4.2f}x (target <= 2x)")
        if ratio > 2:
            failed.append("board")

        targets = [("SQLite", str(app.config["SQLALCHEMY_DATABASE_URI"]), instance)]
        if args.pg:
            pg_app, pg_url = _pg_app(args.pg, instance)
            _setup_office(pg_app, 1)
            targets.append(("PostgreSQL", pg_url, instance))
        for name, url, inst in targets:
            print(f"3. {RACE_PROCESSES} processes booking the same {RACE_SLOTS} slots ({name})")
            booked, told, errors, doubles = bench_race(url, inst)
            print(f"  booked {booked}, told 'taken' {told}, server errors {errors}, "
                  f"double bookings {doubles}")
            if errors or doubles or booked != RACE_SLOTS or booked + told != RACE_PROCESSES * RACE_SLOTS:
                failed.append(f"race {name}")
    print("FAILED: " + ", ".join(failed) if failed else "all targets met")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
