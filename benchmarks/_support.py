"""Shared helpers for the benchmarks (not a benchmark: `make bench` runs bench_*.py only).

- a temporary instance folder and an app on a SQLite file in it, migrated by
  Flask-Migrate (the only schema path), starter payers seeded;
- fast synthetic patients: Core bulk inserts of Faker-drawn pools, with the
  normalised columns the registration service fills (name keys, address key,
  E.164 phones, random unique MRNs with their Luhn check digit);
- a gunicorn server on loopback for the HTTP benchmarks, whose app
  (`bench_app()`) is `create_app()` plus one public bare route, `/bench/bare`,
  and the background worker (`intake worker`) beside it;
- a database URL (BENCH_DATABASE_URL) in place of the instance's SQLite file,
  for the benchmarks that also run on PostgreSQL;
- an HTTP client for open-loop loads (`Browser`: cookies, CSRF tokens, one
  connection per request, samples kept only inside the measured window).

Synthetic data only.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BENCH_SECRET = "bench-secret-not-for-production"
BARE_PATH = "/bench/bare"


# ---- instance folder and app --------------------------------------------------

@contextlib.contextmanager
def temp_instance(prefix: str = "intake-bench-") -> Iterator[Path]:
    """A throw-away instance folder (database, uploads), removed afterwards.
    On the default temp dir's disk, so commits pay a real fsync."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        yield Path(tmp)


def database_url(instance: Path) -> str:
    """BENCH_DATABASE_URL when set (PostgreSQL), else a SQLite file in `instance`."""
    return os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{instance / 'intake.db'}"


def app_config(instance: Path, **extra: Any) -> dict[str, Any]:
    return {"SQLALCHEMY_DATABASE_URI": database_url(instance),
            "SECRET_KEY": BENCH_SECRET, "INTAKE_UPLOAD_DIR": str(instance / "uploads"), **extra}


def make_app(instance: Path, **extra: Any) -> Any:
    """`create_app()` on the instance's database (see database_url)."""
    os.environ["INTAKE_INSTANCE_PATH"] = str(instance)
    from intake import create_app

    return create_app(app_config(instance, **extra))


def migrate(app: Any) -> None:
    """Schema by the migrations, starter payers; Alembic's INFO lines kept quiet."""
    from flask_migrate import upgrade

    from intake.extensions import db
    from intake.services.payers import seed_payers

    with app.app_context():
        logging.disable(logging.INFO)  # env.py's fileConfig would print every step
        try:
            upgrade()
        finally:
            logging.disable(logging.NOTSET)
        seed_payers()
        db.session.commit()
        db.engine.dispose()


def migrated_app(instance: Path, **extra: Any) -> Any:
    app = make_app(instance, **extra)
    migrate(app)
    return app


# ---- synthetic patients ---------------------------------------------------------

# Valid US area codes (phonenumbers accepts them); exchanges 200-999.
AREA_CODES = ("312", "773", "847", "630", "217", "309", "618", "815", "708", "224")
STATES = ("IL", "IL", "IL", "IN", "WI", "MO")
UTC = timezone.utc


class Pools:
    """Faker draws done once; rows then pick from them (Faker per row is slow).
    Last names keep Faker's frequency weights (Smith, Garcia... are common), and
    a share of Spanish and Polish names brings accents for the name keys."""

    def __init__(self, seed: int, size: int = 3000):
        from faker import Faker

        from intake.normalize import name_key

        fake = Faker(["en_US", "es_MX", "pl_PL"], use_weighting=True)
        fake.seed_instance(seed)
        en = fake["en_US"]
        picks = [en] * 7 + [fake["es_MX"]] * 2 + [fake["pl_PL"]]
        rng = random.Random(seed)
        self.families = [(n, name_key(n)) for n in (rng.choice(picks).last_name() for _ in range(size))]
        self.givens = [(n, name_key(n)) for n in (rng.choice(picks).first_name() for _ in range(size))]
        self.middles = [en.first_name() for _ in range(200)]
        self.streets = [en.street_address() for _ in range(size)]
        self.cities = [en.city() for _ in range(300)]


def _mrns(rng: random.Random, n: int) -> list[str]:
    """n distinct random MRNs: 9 random digits (no leading zero) + Luhn digit,
    the shape `patients.new_mrn()` makes."""
    from intake.normalize import luhn_check_digit
    from intake.services.patients import MRN_LENGTH

    body = MRN_LENGTH - 1
    return [f"{b}{luhn_check_digit(str(b))}" for b in rng.sample(range(10 ** (body - 1), 10 ** body), n)]


def patient_rows(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """n patient rows. The same seed gives the same first rows at any n, so a
    small database is a prefix of a large one and the same look-ups hit both."""
    from intake.normalize import address_key

    pools = Pools(seed)
    rng = random.Random(seed)
    # MRNs drawn per block of 1,000 so prefixes agree whatever n is.
    mrns: list[str] = []
    seen: set[str] = set()
    block = 0
    while len(mrns) < n:
        for m in _mrns(random.Random(f"{seed}-mrn-{block}"), 1000):
            if m not in seen:
                seen.add(m)
                mrns.append(m)
        block += 1
    now = datetime(2026, 1, 15, 12, tzinfo=UTC)
    identities: set[tuple[str, str, date, str]] = set()
    rows = []
    while len(rows) < n:
        family, family_norm = rng.choice(pools.families)
        given, given_norm = rng.choice(pools.givens)
        birth = date(1930, 1, 1) + timedelta(days=rng.randint(0, 34000))
        mobile = f"+1{rng.choice(AREA_CODES)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
        if (family_norm, given_norm, birth, mobile) in identities:  # uq_patients_identity
            continue
        identities.add((family_norm, given_norm, birth, mobile))
        line1 = rng.choice(pools.streets)
        postal = f"{rng.randint(60000, 62999)}"
        home = (f"+1{rng.choice(AREA_CODES)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
                if rng.random() < 0.3 else None)
        rows.append(dict(
            mrn=mrns[len(rows)], family_name=family, given_name=given,
            middle_name=rng.choice(pools.middles) if rng.random() < 0.3 else None,
            suffix=None, preferred_name=None, family_norm=family_norm, given_norm=given_norm,
            birth_date=birth, sex=rng.choice(("female", "male")), gender_identity=None,
            address_line1=line1, address_line2=None, city=rng.choice(pools.cities),
            state=rng.choice(STATES), postal_code=postal, address_key=address_key(line1, postal),
            phone_mobile=mobile, phone_home=home,
            email=None if rng.random() < 0.4 else f"p{len(rows)}@example.com",
            preferred_language=rng.choice(("en", "en", "en", "es", "pl")),
            races=[rng.choice(("2106-3", "2054-5", "2028-9"))],
            ethnicity=rng.choice(("2135-2", "2186-5")), marital_status=rng.choice(("M", "S", None)),
            emergency_name=None, emergency_relationship=None, emergency_phone=None,
            created_at=now, updated_at=now))
    return rows


def insert_patients(app: Any, rows: list[dict[str, Any]], batch: int = 5000) -> None:
    """Core executemany inserts in one transaction; then ANALYZE, as a
    maintained production database would have statistics."""
    from sqlalchemy import text

    from intake.extensions import db
    from intake.models import Patient

    table = Patient.__table__
    with app.app_context():
        with db.engine.begin() as conn:
            # A big page cache for the load only: the indexes on random keys
            # (MRN, phones, names) otherwise thrash SQLite's 2 MB default.
            conn.exec_driver_sql("PRAGMA cache_size = -262144")
            for start in range(0, len(rows), batch):
                conn.execute(table.insert(), rows[start:start + batch])
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        db.engine.dispose()


# ---- a gunicorn server on loopback ----------------------------------------------

def bench_app() -> Any:
    """The gunicorn app factory (`_support:bench_app()`): create_app() on the
    database named by BENCH_INSTANCE, plus a public bare route for the baseline.
    Extra config comes from INTAKE_* variables as usual."""
    from intake.security import public

    instance = Path(os.environ["BENCH_INSTANCE"])
    app = make_app(instance)

    @public
    def bare() -> str:
        return "ok"

    app.add_url_rule(BARE_PATH, "bench_bare", bare)
    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SERVER_PIDS: dict[str, int] = {}  # base URL -> the gunicorn master's pid, while it runs


def server_cpu(url: str) -> tuple[float, float]:
    """(user, system) CPU seconds used so far by the gunicorn server at `url`:
    its master and live workers (Linux /proc). Differences between two calls
    give the server's CPU per request, which a busy machine blurs less than
    requests per second."""
    return process_cpu(SERVER_PIDS[url])


def process_cpu(root: int) -> tuple[float, float]:
    """(user, system) CPU seconds used so far by process `root` and its children."""
    tick = os.sysconf("SC_CLK_TCK")
    user = system = 0.0
    todo = [root]
    while todo:
        pid = todo.pop()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        user += int(fields[11]) / tick
        system += int(fields[12]) / tick
        todo += [int(c) for c in children]
    return user, system


@contextlib.contextmanager
def gunicorn_server(instance: Path, workers: int | None = 2, env: dict[str, str] | None = None,
                    timeout: float = 30.0) -> Iterator[str]:
    """gunicorn with `workers` workers (None: as gunicorn.conf.py says) serving
    bench_app() on 127.0.0.1 (a free port); yields the base URL. Uses the
    repository's gunicorn.conf.py when there is one (bind overridden). The
    server's process group is killed on the way out, whatever happens."""
    port = free_port()
    cmd = [sys.executable, "-m", "gunicorn"]
    conf = ROOT / "gunicorn.conf.py"
    if conf.exists():
        cmd += ["-c", str(conf)]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    cmd += ["--bind", f"127.0.0.1:{port}",
            "--pythonpath", f"{ROOT / 'benchmarks'},{ROOT}", "--chdir", str(ROOT),
            "--log-level", "warning", "_support:bench_app()"]
    log = open(instance / "server.log", "wb")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                            env=server_env(instance, env), start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({proc.returncode}):\n{server_log(instance)}")
            try:
                with urllib.request.urlopen(url + BARE_PATH, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer in {timeout:.0f} s:\n{server_log(instance)}")
            time.sleep(0.2)
        SERVER_PIDS[url] = proc.pid
        yield url
    finally:
        stop_process_group(proc)
        log.close()


def server_env(instance: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """What the server and the worker both read: the same instance folder (the
    task queue's SQLite file is there), database and secret key."""
    return {**os.environ, "BENCH_INSTANCE": str(instance), "INTAKE_INSTANCE_PATH": str(instance),
            "DATABASE_URL": database_url(instance), "INTAKE_SECRET_KEY": BENCH_SECRET,
            **(extra or {})}


@contextlib.contextmanager
def background_worker(instance: Path, env: dict[str, str] | None = None) -> Iterator[int]:
    """`intake worker` (bulk exports) beside the server, as `make run` starts
    it; yields its pid."""
    log = open(instance / "worker.log", "wb")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen([str(Path(sys.executable).parent / "intake"), "worker"], stdout=log,
                            stderr=subprocess.STDOUT, env=server_env(instance, env),
                            cwd=str(ROOT), start_new_session=True)
    try:
        time.sleep(0.5)
        if proc.poll() is not None:
            raise RuntimeError(f"intake worker exited ({proc.returncode}):\n"
                               + (instance / "worker.log").read_text(errors="replace")[-3000:])
        yield proc.pid
    finally:
        stop_process_group(proc)
        log.close()


def stop_process_group(proc: subprocess.Popen) -> None:
    """SIGTERM to the process group, SIGKILL if it lingers."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def server_log(instance: Path, tail: int = 40) -> str:
    path = instance / "server.log"
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-tail:])


# ---- an HTTP client for open-loop loads: cookies, CSRF, one connection per request

@dataclass
class Sample:
    kind: str
    seconds: float
    ok: bool
    detail: str = ""


class Recorder:
    """Samples of the measured window; requests outside it are not kept."""

    def __init__(self) -> None:
        self.samples: list[Sample] = []
        self.lateness: list[float] = []
        self.lock = threading.Lock()

    def add(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)

    def late(self, seconds: float) -> None:
        with self.lock:
            self.lateness.append(seconds)


class RequestFailed(Exception):
    pass


@dataclass
class Reply:
    status: int
    where: str  # the Location's path, if any
    text: str
    headers: Any


class Browser:
    """One person's cookies and CSRF token. `record` is None outside the window."""

    def __init__(self, url: str, cookies: dict[str, str] | None = None, token: str = ""):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.cookies = dict(cookies or {})
        self.token = token
        self.record: Recorder | None = None

    def copy(self) -> Browser:
        twin = Browser(f"http://{self.host}:{self.port}", self.cookies, self.token)
        twin.record = self.record
        return twin

    def send(self, method: str, path: str, kind: str, form: dict | None = None,
             headers: dict[str, str] | None = None, expect: tuple[int, ...] = (200,),
             goes_to: str = "") -> Reply:
        """One request. Fails unless the status is one of `expect` and a
        redirect's Location contains `goes_to`."""
        body = None
        head = {"Connection": "close", **(headers or {})}
        if self.cookies:
            head["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if form is not None:
            body = urlencode({"csrf_token": self.token, **form}, doseq=True).encode()
            head["Content-Type"] = "application/x-www-form-urlencoded"
        start = time.perf_counter()
        try:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            conn.request(method, path, body=body, headers=head)
            resp = conn.getresponse()
            text = resp.read().decode("utf-8", "replace")
            conn.close()
        except (OSError, http.client.HTTPException) as exc:
            self._note(kind, start, False, type(exc).__name__)
            raise RequestFailed(f"{kind}: {type(exc).__name__}") from exc
        for header in resp.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        reply = Reply(resp.status, urlsplit(resp.getheader("Location") or "").path, text, resp.headers)
        ok = resp.status in expect and goes_to in reply.where
        self._note(kind, start, ok, f"{resp.status} {reply.where}")
        if not ok:
            raise RequestFailed(f"{kind}: {resp.status} {reply.where}")
        return reply

    def page(self, path: str, kind: str) -> str:
        """GET a page and keep its CSRF token."""
        text = self.send("GET", path, kind).text
        if m := CSRF.search(text):
            self.token = m.group(1) or m.group(2)
        return text

    def post(self, path: str, kind: str, form: dict, goes_to: str, then: str) -> str:
        """POST a form, expect a redirect to `goes_to`, GET where it leads (`then`)."""
        reply = self.send("POST", path, kind, form, expect=(302, 303), goes_to=goes_to)
        return self.page(reply.where, then)

    def _note(self, kind: str, start: float, ok: bool, detail: str) -> None:
        if self.record is not None:
            self.record.add(Sample(kind, time.perf_counter() - start, ok, detail))


CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


@dataclass
class Clock:
    """The window's clock: t = 0 at its start, in seconds."""
    window: float
    start: float = 0.0

    def now(self) -> float:
        return time.perf_counter() - self.start

    def wait_until(self, t: float, recorder: Recorder | None = None) -> None:
        delay = t - self.now()
        if delay > 0:
            time.sleep(delay)
        elif recorder is not None:
            recorder.late(-delay)


# ---- small statistics -----------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]
