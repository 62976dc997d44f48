"""The peak hour of a busy office, open-loop, on SQLite and on PostgreSQL (issue 20).

One server as documented: gunicorn with the project's gunicorn.conf.py (2
workers of 4 threads) serving create_app() plus a bare route (`/bench/bare`,
see _support.bench_app), and `intake worker` beside it, on 127.0.0.1.

The office (loaded first, unmeasured, through the services): 20 providers,
2,000 synthetic charts (`services/demo.py`: Faker patients, coverages, past
coded visits), today's day of 170 visits (most still scheduled, some
arrived, checked in, with the provider or checked out), 150 past visits
waiting to be coded (dated inside the bundled code tables, as the demo's
history is), 15 receptionists, 4 kiosk tablets and an API token. The
database is saved once and put back before every run, so each multiple
starts from the same office.

Its peak hour at 1x:
- 80 kiosk intakes an hour (Poisson arrivals), each a person on a tablet: the
  language page, then every ~8 s the next page's post (start, about,
  contact, emergency, insurance, consents, submit), each followed by the
  page it redirects to, with the page's CSRF token, as a browser does;
- 15 receptionists, each acting every 20 s (random phase), in turn: search
  (POST), open a chart, register a new patient (then the chart), open the
  board, add a walk-in visit for today (then the visit), check a patient in
  (the visit page, Arrived, Check in with the review boxes), code a past
  visit (a diagnosis and a charge line, each then the visit page); all real
  form posts with CSRF in a signed-in session;
- one bulk export of the whole practice (FHIR `$export` kick-off with an API
  token, polling at the server's Retry-After, then every file downloaded).
At m x, arrivals are multiplied: m x 80 intakes an hour, 15 m clerks (each
action on one of the 15 sign-ins), the same one export. A bare GET 4 times a
second is the baseline, in the same run.

Open-loop: every intake, desk action and export starts at its scheduled
time on its own thread (a pool far larger than the load), whatever earlier
requests are doing; only the pages of one intake or one desk action follow
each other, as one person's clicks do. How late the client sent its
scheduled requests is printed, so a client that fell behind shows.

The hour is compressed by sampling it: each run measures a window of
`--window` seconds (120) of that hour's schedule. Intakes that had started
before the window (arrivals up to ~56 s earlier) are brought to where they
would be at its start (their earlier pages sent, unmeasured, before the
clock starts), so the window opens in the steady state; intakes still going
at its end stop there. The export runs in every window (the worst case of
the hour). Every request sent inside the window is measured.

Prints, per backend and multiple, p50/p95/p99 per kind of request, errors
(any unexpected status or a redirect to the wrong place), the bare route's
p95, each kind's share of the server's time; then the largest multiple (of
1, 2, 5, 10, 20, within --budget) at which every kind's p95 is within
150 ms with no errors.

    .venv/bin/python benchmarks/bench_peak_hour.py                 # SQLite and PostgreSQL
    .venv/bin/python benchmarks/bench_peak_hour.py --db sqlite     # or BENCH_DB=sqlite
    .venv/bin/python benchmarks/bench_peak_hour.py --quick         # 200 charts, 10x only, a 10-s window

PostgreSQL: BENCH_PG_URL (default postgresql://postgres@127.0.0.1:5432/test_peakbench;
that database is wiped). Targets: at 10x, p95 <= 150 ms for every kind and
0 errors, on each backend run; exit status 1 if missed. Synthetic data only.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _support  # noqa: E402
from _support import Browser, Clock, Recorder, RequestFailed, Sample  # noqa: E402

TARGET_MS = 150
TARGET_MULTIPLE = 10
MULTIPLES = (1, 2, 5, 10, 20)
PG_URL = "postgresql://postgres@127.0.0.1:5432/test_peakbench"

PROVIDERS = 20
CHARTS = 2000
DAY_VISITS = 170
TO_CODE = 150
RECEPTIONISTS = 15
TABLETS = 4
INTAKES_PER_HOUR = 80
PAGE_SECONDS = 8
ACT_EVERY = 20
BARE_EVERY = 0.25
WINDOW = 120
SEED = 20

# Server settings for a benchmark that signs in 15 clerks and enrolls tablets
# from one address, and enrolls them long after the set-up issued the codes.
SERVER_ENV = {"INTAKE_LOGIN_LIMIT": "1000 per minute", "INTAKE_KIOSK_ENROLL_LIMIT": "1000 per minute",
              "INTAKE_KIOSK_ENROLL_CODE_MINUTES": "600"}
VERSION = re.compile(r'name="version" value="(\d+)"')
DIAGNOSES = ("I10", "E11.9", "E78.5", "J06.9", "K21.9")
PROCEDURES = ("99213", "99214", "G0008", "36415")
KIOSK_STEPS = ("about", "contact", "emergency", "insurance", "consents")


# ---- the office, loaded once through the services (unmeasured) -----------------

@dataclass
class Office:
    """What the load needs to know about the loaded office."""
    today: date
    charts: list[tuple[int, str]]  # (patient id, "family given") for search, chart, visits
    providers: list[int]
    scheduled: list[int]  # today's visits still scheduled, to be checked in
    to_code: list[int]
    clerks: list[tuple[str, str]]  # (username, password)
    tablet_codes: list[str]
    token: str
    payer_id: int
    newcomers: list[dict[str, Any]]  # new patients' registration forms, enough for one run


def npi(rng: random.Random) -> str:
    from intake.normalize import luhn_check_digit

    body = f"1{rng.randint(0, 10**8 - 1):08d}"
    return body + luhn_check_digit("80840" + body)


def add_providers(rng: random.Random) -> None:
    from intake.services import practice

    for i in range(PROVIDERS):
        practice.save_provider(None, {"family_name": f"Provider{'ABCDEFGHIJKLMNOPQRSTUVWXYZ'[i]}",
                                      "given_name": "Sam", "credentials": "MD", "npi": npi(rng),
                                      "active": True})


def load_charts(count: int) -> None:
    from intake.extensions import db
    from intake.services import demo

    for i, _ in enumerate(demo.create_demo_patients(count, seed=SEED), start=1):
        if i % 500 == 0:
            db.session.commit()
    db.session.commit()


def shape_day(rng: random.Random, providers: list[int]) -> list[int]:
    """Exactly DAY_VISITS visits today (the demo adds some; extras move to
    tomorrow), then a morning's mix of states; returns the scheduled ones."""
    from intake.extensions import db
    from intake.models import Patient, Visit
    from intake.models.visit import VisitState as S
    from intake.services import visits
    from intake.services.clock import today

    day = today()
    booked = list(db.session.execute(db.select(Visit).filter_by(date_of_service=day)
                                     .order_by(Visit.id)).scalars())
    for extra in booked[DAY_VISITS:]:
        extra.date_of_service = day + timedelta(days=1)
    patient_ids = list(db.session.execute(db.select(Patient.id).order_by(Patient.id)).scalars())
    for pid in rng.sample(patient_ids, max(0, DAY_VISITS - len(booked))):
        visits.create_visit(db.session.get(Patient, pid), {
            "provider_id": rng.choice(providers), "date_of_service": day,
            "place_of_service": "11", "reason": "Follow-up"})
    db.session.flush()
    day_visits = list(db.session.execute(db.select(Visit).filter_by(date_of_service=day)
                                         .order_by(Visit.id)).scalars())
    paths = {S.ARRIVED: [S.ARRIVED], S.CHECKED_IN: [S.ARRIVED, S.CHECKED_IN],
             S.WITH_PROVIDER: [S.ARRIVED, S.CHECKED_IN, S.WITH_PROVIDER],
             S.CHECKED_OUT: [S.ARRIVED, S.CHECKED_IN, S.WITH_PROVIDER, S.CHECKED_OUT]}
    mix = [S.CHECKED_OUT] * 10 + [S.WITH_PROVIDER] * 12 + [S.CHECKED_IN] * 14 + [S.ARRIVED] * 14
    for visit, state in zip(day_visits, mix, strict=False):
        for step in paths[state]:
            visits.move(visit, step, demographics_reviewed=True, insurance_reviewed=True)
    db.session.commit()
    return [v.id for v in day_visits if v.state == S.SCHEDULED]


def visits_to_code(rng: random.Random, providers: list[int]) -> list[int]:
    """Past visits, checked out and not yet coded, on the demo's coded day
    (inside every bundled code table: today may be past them)."""
    from intake.extensions import db
    from intake.models import Patient
    from intake.services import visits
    from intake.services.clock import practice_zone
    from intake.services.demo import CODED_DAY

    patient_ids = list(db.session.execute(db.select(Patient.id)).scalars())
    start = datetime.combine(CODED_DAY, clock_time(9), practice_zone())
    ids = []
    for pid in rng.sample(patient_ids, TO_CODE):
        visit = visits.create_visit(db.session.get(Patient, pid), {
            "provider_id": rng.choice(providers), "date_of_service": CODED_DAY,
            "place_of_service": "11", "reason": "Follow-up"})
        times = {s: start + timedelta(minutes=10 * i)
                 for i, s in enumerate(("arrived", "checked_in", "with_provider", "checked_out"))}
        visits.record_past_day(visit, times, note="benchmark history")
        ids.append(visit.id)
    db.session.commit()
    return ids


def staff_and_devices(rng: random.Random) -> tuple[list[tuple[str, str]], list[str], str]:
    from intake.extensions import db
    from intake.services import kiosk, tokens, users

    clerks = []
    for i in range(RECEPTIONISTS):
        password = "".join(rng.choice("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(24))
        users.create_user(f"desk{i + 1:02d}", password, "receptionist")
        clerks.append((f"desk{i + 1:02d}", password))
    codes = [kiosk.create_device(f"Tablet {i + 1}")[1] for i in range(TABLETS)]
    _token, plain = tokens.create_token("Benchmark back office")
    db.session.commit()
    return clerks, codes, plain


def person_form(fake: Any, rng: random.Random) -> dict[str, Any]:
    """A new patient as the registration form posts it (demo's synthetic data).
    Two of Faker's values the desk form rightly refuses are put the way a
    receptionist types them: Dutch "Berg, van den" names, and territories
    (FM, MH, PW) that are not among the form's states."""
    from intake import vocab
    from intake.services import demo

    data = demo.patient_data(fake, rng)
    for name in ("family_name", "given_name", "emergency_name"):
        if "," in data[name]:
            data[name] = " ".join(reversed(data[name].split(", ", 1)))
    if data["state"] not in {code for code, _label in vocab.US_STATES}:
        data["state"] = "IL"
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in data.items() if v is not None}


def newcomer_forms(count: int) -> list[dict[str, Any]]:
    from faker import Faker

    from intake.services.demo import NAME_LOCALES

    fake = Faker(NAME_LOCALES)
    fake.seed_instance(SEED + 1)  # not the charts' seed: these people are new
    rng = random.Random(f"{SEED}-newcomers")
    return [person_form(fake, rng) for _ in range(count)]


def load_office(instance: Path, charts: int, newcomers: int) -> Office:
    from intake.extensions import db
    from intake.models import Patient, Payer
    from intake.services import audit, practice
    from intake.services.clock import today

    app = _support.make_app(instance)
    _support.migrate(app)
    rng = random.Random(SEED)
    with app.test_request_context():
        audit.act_as("bench:setup")
        add_providers(rng)
        load_charts(charts)
        providers = [p.id for p in practice.list_providers(active_only=True)]
        scheduled = shape_day(rng, providers)
        to_code = visits_to_code(rng, providers)
        clerks, codes, token = staff_and_devices(rng)
        rows = db.session.execute(db.select(Patient.id, Patient.family_name, Patient.given_name)
                                  .order_by(Patient.id)).all()
        payer = db.session.execute(db.select(Payer.id).filter_by(kind="commercial")
                                   .order_by(Payer.id)).scalars().first()
        office = Office(today(), [(r.id, f"{r.family_name} {r.given_name}") for r in rows],
                        providers, scheduled, to_code, clerks, codes, token, payer,
                        newcomer_forms(newcomers))
        db.session.commit()
        db.engine.dispose()
    return office


# ---- the database: wiped, saved after loading, put back before each run -------

class Database:
    """SQLite: a file in the instance, saved with SQLite's backup API.
    PostgreSQL: the given database, saved with pg_dump."""

    def __init__(self, backend: str, instance: Path, pg_url: str):
        self.backend, self.instance, self.pg_url = backend, instance, pg_url
        self.snapshot = instance / ("office.db" if backend == "sqlite" else "office.dump")

    @property
    def url(self) -> str:
        return self.pg_url if self.backend == "postgresql" else f"sqlite:///{self.instance / 'intake.db'}"

    def wipe(self) -> None:
        if self.backend == "postgresql":
            self._psql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")

    def save(self) -> None:
        if self.backend == "sqlite":
            with sqlite3.connect(self.instance / "intake.db") as src, sqlite3.connect(self.snapshot) as dst:
                src.backup(dst)
        else:
            subprocess.run(["pg_dump", "--format=custom", "--file", str(self.snapshot), self.pg_url],
                           check=True)

    def restore(self) -> None:
        for leftover in ("intake.db-wal", "intake.db-shm", "tasks.db", "tasks.db-wal", "tasks.db-shm"):
            (self.instance / leftover).unlink(missing_ok=True)
        if self.backend == "sqlite":
            shutil.copy(self.snapshot, self.instance / "intake.db")
        else:
            self.wipe()
            subprocess.run(["pg_restore", "--no-owner", "--dbname", self.pg_url, str(self.snapshot)],
                           check=True)
            self._psql("ANALYZE;")

    def _psql(self, sql: str) -> None:
        subprocess.run(["psql", "--quiet", "--set=ON_ERROR_STOP=1", "--dbname", self.pg_url,
                        "--command", sql], check=True, stdout=subprocess.DEVNULL,
                       env={**os.environ, "PGOPTIONS": "-c client_min_messages=warning"})


# ---- who does what -------------------------------------------------------------

class Pools:
    """Shared, thread-safe picks for the actions: charts, visits to check in
    (today's scheduled ones, then the walk-ins added during the run) and
    visits to code (each held by one action at a time)."""

    def __init__(self, office: Office, rng: random.Random):
        self.office = office
        self.rng = rng
        self.lock = threading.Lock()
        self.scheduled = collections.deque(office.scheduled)
        self.to_code = collections.deque((v, 0) for v in office.to_code)

    def chart(self) -> tuple[int, str]:
        with self.lock:
            return self.rng.choice(self.office.charts)

    def provider(self) -> int:
        with self.lock:
            return self.rng.choice(self.office.providers)

    def next_scheduled(self) -> int:
        with self.lock:
            if not self.scheduled:
                raise RuntimeError("check in: no scheduled visit left")
            return self.scheduled.popleft()

    def walked_in(self, visit_id: int) -> None:
        with self.lock:
            self.scheduled.append(visit_id)

    def take_to_code(self) -> tuple[int, int]:
        with self.lock:
            if not self.to_code:
                raise RuntimeError("code: no visit free to code")
            return self.to_code.popleft()

    def coded(self, visit_id: int, done: int) -> None:
        with self.lock:
            self.to_code.append((visit_id, done))


def search(b: Browser, pools: Pools, _extra: Any) -> None:
    b.send("POST", "/staff/", "desk search", {"q": pools.chart()[1]})


def open_chart(b: Browser, pools: Pools, _extra: Any) -> None:
    b.page(f"/staff/patients/{pools.chart()[0]}", "desk chart")


def register(b: Browser, pools: Pools, person: dict[str, Any]) -> None:
    b.post("/staff/patients/new", "desk register", {**person, "confirm_new": "y"},
           goes_to="/staff/patients/", then="desk chart")


def open_board(b: Browser, pools: Pools, _extra: Any) -> None:
    b.page("/staff/board", "desk board")


def add_visit(b: Browser, pools: Pools, _extra: Any) -> None:
    """A walk-in for today, who then waits to be checked in."""
    form = {"date_of_service": pools.office.today.isoformat(), "provider_id": pools.provider(),
            "place_of_service": "11", "reason": "Walk-in"}
    where = b.send("POST", f"/staff/patients/{pools.chart()[0]}/visits/new", "desk add visit",
                   form, expect=(302,), goes_to="/staff/visits/").where
    b.page(where, "desk visit page")
    pools.walked_in(int(where.rsplit("/", 1)[1]))


def check_in(b: Browser, pools: Pools, _extra: Any) -> None:
    """The visit page, Arrived, then Check in with the review boxes ticked."""
    visit_id = pools.next_scheduled()
    path = f"/staff/visits/{visit_id}"
    page = b.page(path, "desk visit page")
    version = int(VERSION.search(page).group(1))
    b.post(f"{path}/move", "desk move", {"to_state": "arrived", "version": version},
           goes_to=path, then="desk visit page")
    b.post(f"{path}/move", "desk move", {"to_state": "checked_in", "version": version + 1,
                                         "demographics_reviewed": "y", "insurance_reviewed": "y"},
           goes_to=path, then="desk visit page")


def code_visit(b: Browser, pools: Pools, _extra: Any) -> None:
    """One more diagnosis and a charge line pointing at it."""
    visit_id, done = pools.take_to_code()
    path = f"/staff/visits/{visit_id}"
    try:
        b.post(f"{path}/diagnoses", "desk diagnosis", {"code": DIAGNOSES[done % len(DIAGNOSES)]},
               goes_to=path, then="desk visit page")
        b.post(f"{path}/lines", "desk charge line",
               {"code": PROCEDURES[done % len(PROCEDURES)], "units": "1", "pointers": str(done + 1)},
               goes_to=path, then="desk visit page")
    finally:
        if done + 1 < len(DIAGNOSES):
            pools.coded(visit_id, done + 1)


DESK_ACTIONS: list[Callable[[Browser, Pools, Any], None]] = [
    search, open_chart, register, open_board, add_visit, check_in, code_visit]


def kiosk_pages(n: int, payer_id: int) -> list[tuple[str, dict[str, Any]]]:
    """One intake's step posts, in order (typed signatures, no photos)."""
    rng = random.Random(n)
    given = rng.choice(("Zoë", "Ana", "Łukasz", "Maria", "James", "Olivia", "Mateo", "Aisha"))
    family = rng.choice(("Nunes", "Wójcik", "Garcia", "Smith", "Okafor", "Tran", "Kowalski"))
    name = f"{given} {family}"
    return [
        ("about", {"given_name": given, "family_name": family,
                   "birth_date": f"{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/{rng.randint(1935, 2005)}",
                   "sex": rng.choice(("female", "male")), "preferred_language": "en",
                   "races": ["2106-3"], "ethnicity": "2186-5"}),
        ("contact", {"address_line1": f"{rng.randint(1, 999)} Synthetic Way", "city": "Evanston",
                     "state": "IL", "postal_code": "60201",
                     "phone_mobile": f"(847) 555-01{rng.randint(0, 99):02d}",
                     "email": f"patient{n}@example.org"}),
        ("emergency", {"emergency_name": f"Ana {family}", "emergency_relationship": "sister",
                       "emergency_phone": "847-555-0112"}),
        ("insurance", {"has_insurance": "yes", "primary_payer_id": str(payer_id),
                       "primary_member_id": f"XKZ{rng.randint(10**8, 10**9 - 1)}",
                       "primary_group_number": "G-77", "primary_relationship_code": "self"}),
        ("consents", {"signer_name": name, "signer_relationship": "self", "treatment_typed": name,
                      "privacy_typed": name, "financial_typed": name, "communication_typed": name,
                      "comm_sms": "y"}),
    ]


class Intake:
    """One patient at a tablet: page k is sent PAGE_SECONDS * k after arrival."""

    def __init__(self, tablet: Browser, arrival: float, n: int, payer_id: int):
        self.b = tablet.copy()
        self.arrival = arrival
        self.steps = kiosk_pages(n, payer_id)
        self.next = 0

    def moments(self) -> int:
        return len(self.steps) + 3  # language page, start, the steps, submit

    def at(self, k: int) -> float:
        return self.arrival + PAGE_SECONDS * k

    def page(self, k: int) -> None:
        b = self.b
        if k == 0:
            b.page("/kiosk/", "kiosk language page")
        elif k == 1:
            b.post("/kiosk/start", "kiosk step post", {"language": "en"},
                   goes_to="/kiosk/step/about", then="kiosk step page")
        elif k <= len(self.steps) + 1:
            step, data = self.steps[k - 2]
            following = "/kiosk/review" if k == len(self.steps) + 1 else f"/kiosk/step/{self.steps[k - 1][0]}"
            b.post(f"/kiosk/step/{step}", "kiosk step post", data, goes_to=following,
                   then="kiosk review page" if following == "/kiosk/review" else "kiosk step page")
        else:
            b.post("/kiosk/submit", "kiosk submit", {}, goes_to="/kiosk/done", then="kiosk thanks page")

    def catch_up(self) -> bool:
        """Pages due before the window, sent unmeasured; False if one failed
        (then nothing more is sent for this intake)."""
        try:
            while self.next < self.moments() and self.at(self.next) < 0:
                self.page(self.next)
                self.next += 1
        except RequestFailed:
            self.next = self.moments()
            return False
        return True

    def run(self, clock: Clock, recorder: Recorder) -> None:
        self.b.record = recorder
        while self.next < self.moments() and self.at(self.next) < clock.window:
            clock.wait_until(self.at(self.next), recorder)
            self.page(self.next)
            self.next += 1


def export(b: Browser, token: str, query: str = "") -> None:
    """Kick-off, poll at the server's Retry-After, download every file."""
    auth = {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}
    kickoff = b.send("GET", "/fhir/$export" + query, "export kick-off", expect=(202,),
                     headers={**auth, "Prefer": "respond-async"})
    status_path = urlsplit(kickoff.headers["Content-Location"]).path
    while True:
        reply = b.send("GET", status_path, "export status", headers=auth, expect=(200, 202))
        if reply.status == 200:
            break
        time.sleep(float(reply.headers.get("Retry-After", "1")))
    for output in json.loads(reply.text)["output"]:
        b.send("GET", urlsplit(output["url"]).path, "export file", headers=auth)


# ---- one run: the window's schedule at a multiple, sent open-loop -----------------

@dataclass
class Plan:
    intakes: list[Intake]
    events: list[tuple[float, Callable[[], None]]]  # (t, task), t in seconds from the window's start


def guarded(task: Callable[[], None], recorder: Recorder | None) -> Callable[[], bool]:
    """The task, with a failure already recorded by the request that failed;
    anything else (a bug of the client) is recorded as an error too."""
    def run() -> bool:
        try:
            task()
            return True
        except RequestFailed:
            return False
        except Exception as exc:
            if recorder is not None:
                recorder.add(Sample("client error", 0.0, False, repr(exc)[:200]))
            return False
    return run


def every(start: float, step: float, end: float) -> Iterator[float]:
    """start, start + step, ... while before end."""
    return itertools.takewhile(lambda t: t < end, itertools.count(start, step))


def plan_window(m: int, window: float, clerks: list[Browser], tablets: list[Browser],
                url: str, office: Office, clock: Clock, recorder: Recorder) -> Plan:
    """Every arrival of the window at m x, each a task that waits for its time."""
    rng = random.Random(f"{SEED}-{m}")
    events: list[tuple[float, Callable[[], None]]] = []

    def at(t: float, task: Callable[[], None]) -> None:
        def timed() -> None:
            clock.wait_until(t, recorder)
            guarded(task, recorder)()
        events.append((t, timed))

    intakes = arriving_intakes(m, window, tablets, office, rng)
    for intake in intakes:  # each then waits for its own pages' times
        at(max(intake.arrival, 0.0), lambda i=intake: i.run(clock, recorder))
    for t, action in desk_actions(m, window, clerks, office, rng, recorder):
        at(t, action)
    # The export of the whole practice, early enough to finish in the window.
    exporter = Browser(url)
    exporter.record = recorder
    at(rng.uniform(0, window / 4), lambda: export(exporter, office.token))
    # The bare route, the baseline.
    bare = Browser(url)
    bare.record = recorder
    for t in every(0.0, BARE_EVERY, window):
        at(t, lambda: bare.copy().send("GET", _support.BARE_PATH, "bare GET"))
    return Plan(intakes, sorted(events, key=lambda e: e[0]))


def arriving_intakes(m: int, window: float, tablets: list[Browser], office: Office,
                     rng: random.Random) -> list[Intake]:
    """Poisson arrivals at m x 80 an hour, from one intake's length before the window."""
    intakes: list[Intake] = []
    t = -PAGE_SECONDS * (len(KIOSK_STEPS) + 2)
    while (t := t + rng.expovariate(INTAKES_PER_HOUR * m / 3600)) < window:
        n = len(intakes)
        intakes.append(Intake(tablets[n % len(tablets)], t, n + 1000 * m, office.payer_id))
    return intakes


def registrations(m: int, window: float) -> int:
    """The most registrations one run at m x can post: each clerk's share of the round."""
    per_clerk = (int(window // ACT_EVERY) + 1 + len(DESK_ACTIONS) - 1) // len(DESK_ACTIONS)
    return RECEPTIONISTS * m * per_clerk


def desk_actions(m: int, window: float, clerks: list[Browser], office: Office,
                 rng: random.Random, recorder: Recorder) -> list[tuple[float, Callable[[], None]]]:
    """15 m clerks on the 15 sign-ins, each every ACT_EVERY s from a random
    phase, going round DESK_ACTIONS from a random place."""
    pools = Pools(office, random.Random(f"{SEED}-{m}-picks"))
    newcomers = iter(office.newcomers)
    actions = []
    for c in range(RECEPTIONISTS * m):
        first = rng.randrange(len(DESK_ACTIONS))
        for k, t in enumerate(every(rng.uniform(0, ACT_EVERY), ACT_EVERY, window)):
            action = DESK_ACTIONS[(first + k) % len(DESK_ACTIONS)]
            extra = next(newcomers) if action is register else None
            b = clerks[c % len(clerks)].copy()
            b.record = recorder
            actions.append((t, lambda a=action, b=b, e=extra: a(b, pools, e)))
    return actions


def sign_in(url: str, username: str, password: str) -> Browser:
    b = Browser(url)
    b.page("/login", "sign-in page")
    b.send("POST", "/login", "sign in", {"username": username, "password": password},
           expect=(302,))
    b.page("/staff/", "desk search page")  # the session's CSRF token after sign-in
    return b


def enroll(url: str, code: str) -> Browser:
    b = Browser(url)
    b.page("/kiosk/enroll", "enroll page")
    b.send("POST", "/kiosk/enroll", "enroll", {"code": code}, expect=(302,), goes_to="/kiosk/")
    return Browser(url, {k: v for k, v in b.cookies.items() if "device" in k})


@dataclass
class Result:
    backend: str
    multiple: int
    window: float
    samples: list[Sample]
    lateness: list[float]
    intakes: int
    lost_before: int  # intakes whose pages before the window failed
    setup_seconds: float  # office put back, server up, sign-ins, warm-up
    seconds: float  # the window and its drain
    server_cores: float  # CPU seconds per second used by gunicorn, the window and its drain
    worker_cores: float  # the same for intake worker

    def kinds(self) -> dict[str, list[Sample]]:
        out: dict[str, list[Sample]] = collections.defaultdict(list)
        for s in self.samples:
            out[s.kind].append(s)
        return dict(sorted(out.items()))

    def errors(self) -> list[Sample]:
        return [s for s in self.samples if not s.ok]

    def p95(self, kind: str) -> float:
        return _support.percentile([s.seconds for s in self.kinds()[kind]], 95)

    def slow_kinds(self) -> list[str]:
        """The office's kinds over the target (the bare route is the baseline, not one of them)."""
        return [k for k in self.kinds() if k != "bare GET" and self.p95(k) * 1e3 > TARGET_MS]

    @property
    def passed(self) -> bool:
        return not self.errors() and not self.lost_before and not self.slow_kinds()


def run_multiple(backend: str, db: Database, instance: Path, office: Office, m: int,
                 window: float) -> Result:
    """Office put back, server and worker started, clerks signed in, tablets
    enrolled (unmeasured); then the window at m x."""
    db.restore()
    started = time.perf_counter()
    recorder = Recorder()
    with _support.gunicorn_server(instance, workers=None, env=SERVER_ENV) as url, \
            _support.background_worker(instance, env=SERVER_ENV) as worker:
        # One after another, as people arrive: on SQLite a sign-in holds the
        # write lock through its password hash, and four at once on this
        # 2-core machine made the last wait past the 5-s busy timeout.
        clerks = [sign_in(url, *clerk) for clerk in office.clerks]
        tablets = [enroll(url, code) for code in office.tablet_codes]
        warm_up(url, clerks[0], tablets[0], office)
        ready = time.perf_counter()
        clock = Clock(window)
        plan = plan_window(m, window, clerks, tablets, url, office, clock, recorder)
        with ThreadPoolExecutor(max_workers=1024, thread_name_prefix="load") as pool:
            caught_up = list(pool.map(Intake.catch_up, [i for i in plan.intakes if i.arrival < 0]))
            clock.start = time.perf_counter() + 0.5
            cpu_before = cpu_seconds(url, worker)
            for t, task in plan.events:
                clock.wait_until(t)
                pool.submit(task)
        cpu = [after - before for after, before in zip(cpu_seconds(url, worker), cpu_before, strict=True)]
        cpu_window = clock.now()
    return Result(backend, m, window, recorder.samples, recorder.lateness, len(plan.intakes),
                  caught_up.count(False), ready - started, time.perf_counter() - ready,
                  cpu[0] / cpu_window, cpu[1] / cpu_window)


def cpu_seconds(url: str, worker: int) -> tuple[float, float]:
    """CPU seconds (user + system) used so far by the server and by the worker."""
    return sum(_support.server_cpu(url)), sum(_support.process_cpu(worker))


def warm_up(url: str, clerk: Browser, tablet: Browser, office: Office) -> None:
    """Unmeasured, a few times so each worker sees them: the main pages, the
    code tables (loaded on first use), the task queue (a small export)."""
    from intake.services.demo import CODED_DAY

    def once(_: int) -> None:
        clerk.copy().page("/staff/board", "warm-up")
        clerk.copy().page(f"/staff/patients/{office.charts[0][0]}", "warm-up")
        for system, q in (("icd10cm", "hypertension"), ("procedure", "office")):
            clerk.copy().send("GET", f"/staff/codes/search?q={q}&system={system}&date={CODED_DAY}",
                              "warm-up")
        tablet.copy().page("/kiosk/", "warm-up")
        export(Browser(url), office.token, "?_type=Practitioner")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(once, range(4)))


# ---- the report --------------------------------------------------------------------

def ms(seconds: float) -> str:
    return f"{seconds * 1e3:7.1f}"


def print_result(r: Result) -> None:
    kinds = r.kinds()
    total = sum(s.seconds for s in r.samples if s.kind != "bare GET") or 1.0
    late = max(r.lateness, default=0.0)
    print(f"\n-- {r.backend}, {r.multiple}x: {r.window:.0f}-s window, {len(r.samples):,} requests, "
          f"{r.intakes} intakes in or into it ({r.setup_seconds:.0f} s set-up, {r.seconds:.0f} s run); "
          f"client sent its scheduled requests at most {late * 1e3:.0f} ms late")
    bare = r.p95("bare GET") if "bare GET" in kinds else float("nan")
    print(f"   {'kind':<22}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}"
          f"{'p95/bare':>10}{'time share':>12}")
    for kind, samples in kinds.items():
        times = [s.seconds for s in samples]
        bad = sum(1 for s in samples if not s.ok)
        share = "" if kind == "bare GET" else f"{sum(times) / total:.0%}"
        flag = "  <-- over" if kind in r.slow_kinds() else ""
        print(f"   {kind:<22}{len(samples):>6}{ms(_support.percentile(times, 50)):>9}"
              f"{ms(_support.percentile(times, 95)):>9}{ms(_support.percentile(times, 99)):>9}"
              f"{bad:>8}{r.p95(kind) / bare:>9.1f}x{share:>12}{flag}")
    errors = r.errors()
    if r.lost_before:
        print(f"   {r.lost_before} intakes failed on their pages before the window (counted as errors)")
    if errors:
        shown = collections.Counter(f"{s.kind}: {s.detail}" for s in errors).most_common(5)
        print("   errors: " + "; ".join(f"{what} (x{n})" for what, n in shown))
    if late > 1.0:
        print(f"   WARNING: the client fell {late:.1f} s behind its schedule: the machine stalled "
              f"everything, so these latencies are the machine's, not the server's; run it again")
    print(f"   CPU: the server used {r.server_cores:.2f} cores and the worker {r.worker_cores:.2f} "
          f"(of {os.cpu_count()}, shared with the client and the rest of the machine)")
    if "bare GET" in kinds:
        worst = max((k for k in kinds if k != "bare GET"), key=r.p95)
        print(f"   bare route p95 {bare * 1e3:.1f} ms; slowest kind {worst} p95 "
              f"{r.p95(worst) * 1e3:.1f} ms ({r.p95(worst) / bare:.0f}x the bare route)")


def ladder(backend: str, db: Database, instance: Path, office: Office, multiples: list[int],
           window: float, budget: float) -> list[Result]:
    """Each multiple in turn; beyond the target's, only while every run passed
    and within the time budget (1x and the target's multiple always run)."""
    results: list[Result] = []
    start = time.perf_counter()
    for m in sorted(multiples):
        must = m in (1, TARGET_MULTIPLE)
        if not must and (any(not r.passed for r in results) or time.perf_counter() - start > budget):
            lower_missed = results and not all(r.passed for r in results)
            why = "a lower multiple missed" if lower_missed else "time budget spent"
            print(f"\n-- {backend}, {m}x: skipped ({why})")
            continue
        result = run_multiple(backend, db, instance, office, m, window)
        print_result(result)
        results.append(result)
    return results


def largest_passing(results: list[Result]) -> int | None:
    best = None
    for r in sorted(results, key=lambda r: r.multiple):
        if not r.passed:
            break
        best = r.multiple
    return best


def run_backend(backend: str, args: argparse.Namespace) -> tuple[list[Result], list[str]]:
    with _support.temp_instance() as instance:
        db = Database(backend, instance, args.pg_url)
        if backend == "postgresql":
            os.environ["BENCH_DATABASE_URL"] = args.pg_url
        else:
            os.environ.pop("BENCH_DATABASE_URL", None)
        start = time.perf_counter()
        db.wipe()
        office = load_office(instance, args.charts, registrations(max(args.multiples), args.window))
        db.save()
        print(f"\n== {backend}: {len(office.charts):,} charts, {PROVIDERS} providers, a {DAY_VISITS}-visit "
              f"day ({len(office.scheduled)} still scheduled), {len(office.to_code)} visits to code; "
              f"loaded in {time.perf_counter() - start:.0f} s. gunicorn.conf.py ({os.cpu_count()} CPUs "
              f"shared by server, worker and client) plus intake worker.")
        results = ladder(backend, db, instance, office, args.multiples, args.window, args.budget)
    best = largest_passing(results)
    print(f"\n== {backend}: largest multiple with every kind's p95 <= {TARGET_MS} ms and no errors: "
          f"{f'{best}x' if best else 'none'} (of {', '.join(f'{r.multiple}x' for r in results)})")
    problems = []
    target = next((r for r in results if r.multiple == TARGET_MULTIPLE), None)
    if target is None:
        problems.append(f"{backend}: {TARGET_MULTIPLE}x not run")
    elif not target.passed:
        slow = ", ".join(f"{k} {target.p95(k) * 1e3:.0f} ms" for k in target.slow_kinds())
        problems.append(f"{backend} at {TARGET_MULTIPLE}x: {len(target.errors()) + target.lost_before} errors"
                        + (f"; p95 over {TARGET_MS} ms: {slow}" if slow else ""))
    return results, problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"),
                        default=os.environ.get("BENCH_DB", "both"), help="backend(s) (env BENCH_DB; default both)")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", PG_URL),
                        help="PostgreSQL database to use (wiped)")
    parser.add_argument("--window", type=float, default=WINDOW, help="seconds of the hour measured per run")
    parser.add_argument("--multiples", type=lambda v: [int(x) for x in v.split(",")],
                        default=list(MULTIPLES), help="arrival multiples to step through (default 1,2,5,10,20)")
    parser.add_argument("--charts", type=int, default=CHARTS, help="synthetic charts loaded first")
    parser.add_argument("--budget", type=float, default=900,
                        help="seconds per backend after which multiples other than 1x and 10x are skipped")
    parser.add_argument("--quick", action="store_true", help="200 charts, 10x only, a 10-s window: checks the script")
    args = parser.parse_args()
    if args.quick:
        args.charts, args.window, args.multiples = 200, 10.0, [TARGET_MULTIPLE]
    backends = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    problems: list[str] = []
    for backend in backends:
        _results, missed = run_backend(backend, args)
        problems += missed
    print("\nPASS" if not problems else "\nFAIL: " + "; ".join(problems))
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
