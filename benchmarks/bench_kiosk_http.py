"""Kiosk submission throughput against a bare Flask route on the same server (issue 7).

gunicorn with 2 workers on 127.0.0.1 (a free port) serves `create_app()` on a
temporary SQLite database made by the migrations, plus one public bare route
(`/bench/bare`, returning "ok") added for this benchmark only (see
_support.bench_app). Then, in ONE run:

1. unmeasured: one kiosk device enrolled through /kiosk/enroll; N complete
   drafts (and a few more for the warm-up) prepared through the real pages,
   each with its own cookie jar: start, every step posted (about, contact,
   emergency, insurance without card photos, consents signed by typing), the
   review page reached; then both routes warmed up, so each worker has built
   its statements and caches before anything is timed (the first Sends of a
   worker took up to 100 ms);
2. measured, with the same client harness (http.client, one keep-alive
   connection per thread, C threads), in R interleaved rounds of a bare
   phase then a submit phase: the N final POSTs to /kiosk/submit that turn a
   complete draft into a submission, and bare GETs. Each phase's rate counts
   its steady part only: until the last request is handed to a client
   thread, not the drain after it (see Run).

Prints requests per second for both, p50/p95 latency, and the ratio: the
median of the R rounds' ratios, since this machine's speed swings within a
run (a round's bare rate ranged from 500 to 1,250 req/s in one run) and a
round's two phases, back to back, share its conditions; the pooled ratio of
all rounds is printed beside it. Then the server's CPU per request (user and
system time of the gunicorn processes, read from /proc around each phase),
whose ratio moves less than the rates when other work shares the machine.
Then checks that the database holds exactly N pending submissions and no
drafts.

    .venv/bin/python benchmarks/bench_kiosk_http.py              # 400 drafts, 10 rounds, 4 client threads
    .venv/bin/python benchmarks/bench_kiosk_http.py --quick      # 100 drafts
    .venv/bin/python benchmarks/bench_kiosk_http.py --drafts 600 --threads 8

Target: submissions per second >= 35% of bare GETs per second (the median
round). Exit status 1 if the target is missed or any request fails.
Loopback only; the server's process group is always killed at the end.
Synthetic data only.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _support  # noqa: E402

TARGET = 0.35
DEVICE_COOKIE = "intake_kiosk_device"
SESSION_COOKIE = "intake_kiosk_session"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
# The server keeps drafts alive longer than the kiosk's 2-minute idle wipe, so
# a long preparation phase cannot expire the first drafts before they are submitted.
SERVER_ENV = {"INTAKE_KIOSK_IDLE_TIMEOUT_SECONDS": "3600", "INTAKE_KIOSK_IDLE_WARNING_SECONDS": "3500"}


# ---- set-up (unmeasured) -------------------------------------------------------

def setup_database(instance: Path) -> tuple[str, int]:
    """Migrated database, one kiosk device waiting for enrollment: (code, commercial payer id)."""
    from intake.extensions import db
    from intake.models import Payer
    from intake.services import kiosk

    app = _support.migrated_app(instance)
    with app.app_context():
        _device, code = kiosk.create_device("Benchmark tablet")
        db.session.commit()
        payer = db.session.execute(db.select(Payer.id).filter_by(kind="commercial")
                                   .order_by(Payer.id)).scalars().first()
        db.engine.dispose()
    return code, payer


def csrf_token(html: str) -> str:
    m = CSRF.search(html)
    if not m:
        raise RuntimeError("no csrf_token on the page")
    return m.group(1) or m.group(2)


def enroll(url: str, code: str) -> str:
    """The device cookie, got the way an administrator enrolls a tablet."""
    import requests

    with requests.Session() as s:
        token = csrf_token(s.get(url + "/kiosk/enroll").text)
        r = s.post(url + "/kiosk/enroll", data={"csrf_token": token, "code": code}, allow_redirects=False)
        if r.status_code != 302 or DEVICE_COOKIE not in s.cookies:
            raise RuntimeError(f"enrollment failed: {r.status_code}")
        return s.cookies[DEVICE_COOKIE]


@dataclass
class Draft:
    cookie: str  # the Cookie header for this patient's submit
    token: str  # the review page's csrf_token
    start_seconds: float  # POST /kiosk/start, for the set-up figures


GIVEN = ("Zoë", "Ana", "Łukasz", "Maria", "James", "Nguyen", "Olivia", "Mateo", "Aisha", "Noah")
FAMILY = ("Nunes", "Wójcik", "Garcia", "Smith", "Okafor", "Tran", "Kowalski", "Rossi", "Haddad", "Brown")


def prepare_draft(url: str, device_cookie: str, payer_id: int, n: int) -> Draft:
    """One patient's way from the language screen to the review page."""
    import requests

    rng = random.Random(n)
    given, family = rng.choice(GIVEN), rng.choice(FAMILY)
    name = f"{given} {family}"
    with requests.Session() as s:
        s.cookies.set(DEVICE_COOKIE, device_cookie, path="/kiosk")
        token = csrf_token(s.get(url + "/kiosk/").text)
        start = time.perf_counter()
        r = s.post(url + "/kiosk/start", data={"csrf_token": token, "language": "en"}, allow_redirects=False)
        start_seconds = time.perf_counter() - start
        if r.status_code != 302:
            raise RuntimeError(f"start: {r.status_code}")
        steps = [
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
        # Each step posted as its page posts it (the session's CSRF token holds for
        # every page); each must redirect to the next step, the last to the review.
        where = r.headers["Location"]
        for step, data in steps:
            if not where.endswith(f"/kiosk/step/{step}"):
                raise RuntimeError(f"expected the {step} step, redirected to {where}")
            r = s.post(url + f"/kiosk/step/{step}", data={"csrf_token": token, **data}, allow_redirects=False)
            where = r.headers.get("Location", f"(status {r.status_code})")
        if not where.endswith("/kiosk/review"):
            raise RuntimeError(f"review not reached: {where}")
        page = s.get(url + "/kiosk/review", allow_redirects=False)
        if page.status_code != 200:
            raise RuntimeError(f"review page: {page.status_code}")
        cookie = f"{DEVICE_COOKIE}={device_cookie}; {SESSION_COOKIE}={s.cookies[SESSION_COOKIE]}"
        return Draft(cookie, csrf_token(page.text), start_seconds)


# ---- the measured harness ---------------------------------------------------------

@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None = None


@dataclass
class Run:
    """One phase: every request's latency and status, and the steady part of
    the phase: from the start until the last request was handed to a client
    thread (`seconds`), with the requests finished by then (`done`). After
    that moment fewer threads than asked for have work, so the drain is left
    out of the rate: it costs a phase of slow requests more than one of fast
    ones (about one latency per thread), which would bias the ratio."""

    seconds: float
    done: int
    latencies: list[float]
    statuses: list[tuple[int, str]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.done / self.seconds

    def p(self, q: float) -> float:
        return _support.percentile(self.latencies, q)


def load(url: str, reqs: list[Request], threads: int) -> Run:
    """Send `requests` with `threads` client threads, each over its own
    keep-alive connection (http.client reconnects when the server closes)."""
    host, port = urlsplit(url).hostname, urlsplit(url).port
    lock = threading.Lock()
    queue = iter(range(len(reqs)))
    latencies: list[float] = [0.0] * len(reqs)
    finished: list[float] = [0.0] * len(reqs)
    statuses: list[tuple[int, str]] = [(0, "")] * len(reqs)
    handed_out = [0.0]  # when the last request was taken
    barrier = threading.Barrier(threads + 1)

    def worker() -> None:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        barrier.wait()
        while True:
            with lock:
                i = next(queue, None)
                if i == len(reqs) - 1:
                    handed_out[0] = time.perf_counter()
            if i is None:
                break
            req = reqs[i]
            t = time.perf_counter()
            try:
                conn.request(req.method, req.path, body=req.body, headers=req.headers)
                resp = conn.getresponse()
                resp.read()
                statuses[i] = (resp.status, resp.getheader("Location") or "")
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                statuses[i] = (-1, type(exc).__name__)
            finished[i] = time.perf_counter()
            latencies[i] = finished[i] - t
        conn.close()

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in pool:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in pool:
        t.join()
    steady = handed_out[0] - start
    return Run(steady, sum(1 for f in finished if f <= handed_out[0]), latencies, statuses)


def bare_requests(n: int) -> list[Request]:
    return [Request("GET", _support.BARE_PATH, {})] * n


def submit_requests(drafts: list[Draft]) -> list[Request]:
    return [Request("POST", "/kiosk/submit",
                    {"Cookie": d.cookie, "Content-Type": "application/x-www-form-urlencoded"},
                    urlencode({"csrf_token": d.token}).encode()) for d in drafts]


def combine(runs: list[Run]) -> Run:
    """Rounds as one run: their steady requests over the sum of their steady times."""
    return Run(sum(r.seconds for r in runs), sum(r.done for r in runs),
               [x for r in runs for x in r.latencies], [x for r in runs for x in r.statuses])


def failures(run: Run, ok: Any) -> list[tuple[int, str]]:
    return [s for s in run.statuses if not ok(s)]


def check_database(instance: Path) -> tuple[int, int]:
    """(pending submissions, drafts left) in the server's database."""
    from intake.extensions import db
    from intake.models import KioskDraft, KioskSubmission

    app = _support.make_app(instance)
    with app.app_context():
        subs = db.session.execute(db.select(db.func.count()).select_from(KioskSubmission)
                                  .filter_by(status="pending")).scalar_one()
        drafts = db.session.execute(db.select(db.func.count()).select_from(KioskDraft)).scalar_one()
        db.session.rollback()
        db.engine.dispose()
    return subs, drafts


def fmt(run: Run) -> str:
    return (f"{run.rate:>8,.0f} req/s   p50 {run.p(50) * 1e3:6.1f} ms   p95 {run.p(95) * 1e3:6.1f} ms   "
            f"({len(run.latencies):,} requests; {run.done:,} in {run.seconds:.2f} s steady)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--drafts", type=int, default=400, help="kiosk submissions to measure (default 400)")
    parser.add_argument("--threads", type=int, default=4, help="concurrent client threads (default 4)")
    parser.add_argument("--bare", type=int, default=4000, help="bare GETs in all (default 4000)")
    parser.add_argument("--rounds", type=int, default=10, help="interleaved bare/submit rounds (default 10)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--warmup", type=int, default=40,
                        help="unmeasured submissions first, with the bare warm-up (default 40)")
    parser.add_argument("--quick", action="store_true", help="100 drafts, 1000 bare GETs")
    args = parser.parse_args()
    if args.quick:
        args.drafts, args.bare = 100, 1000

    with _support.temp_instance() as instance:
        code, payer_id = setup_database(instance)
        conf = "gunicorn.conf.py" if (_support.ROOT / "gunicorn.conf.py").exists() else "command-line flags"
        with _support.gunicorn_server(instance, workers=args.workers, env=SERVER_ENV) as url:
            print(f"gunicorn, {args.workers} workers ({conf}) on {url}, SQLite database by the migrations; "
                  f"{os.cpu_count()} CPUs shared by server and client")
            device_cookie = enroll(url, code)
            start = time.perf_counter()
            with ThreadPoolExecutor(args.threads) as pool:
                drafts = list(pool.map(lambda n: prepare_draft(url, device_cookie, payer_id, n),
                                       range(args.drafts + args.warmup)))
            warmup, drafts = drafts[:args.warmup], drafts[args.warmup:]
            starts = [d.start_seconds for d in drafts]
            print(f"prepared {len(drafts)} complete drafts through the kiosk pages in "
                  f"{time.perf_counter() - start:.1f} s, {args.threads} at a time "
                  f"(POST /kiosk/start: median of the first 20 {statistics.median(starts[:20]) * 1e3:.1f} ms, "
                  f"of the last 20 {statistics.median(starts[-20:]) * 1e3:.1f} ms)")

            load(url, bare_requests(300), args.threads)  # warm-up
            warm = load(url, submit_requests(warmup), args.threads)
            if failures(warm, lambda s: s[0] == 302 and s[1].endswith("/kiosk/done")):
                raise RuntimeError(f"warm-up submissions failed: {warm.statuses[:3]}")
            # Interleaved rounds, so a change in the machine's load hits both sides alike.
            bares, submits = [], []
            cpu_bare, cpu_submit = [0.0, 0.0], [0.0, 0.0]
            for part in range(args.rounds):
                before = _support.server_cpu(url)
                bares.append(load(url, bare_requests(args.bare // args.rounds), args.threads))
                middle = _support.server_cpu(url)
                submits.append(load(url, submit_requests(drafts[part::args.rounds]), args.threads))
                after = _support.server_cpu(url)
                for i in (0, 1):
                    cpu_bare[i] += middle[i] - before[i]
                    cpu_submit[i] += after[i] - middle[i]
        subs, left = check_database(instance)

    bare, submit = combine(bares), combine(submits)
    bad_bare = failures(bare, lambda s: s[0] == 200)
    bad_submit = failures(submit, lambda s: s[0] == 302 and s[1].endswith("/kiosk/done"))
    rounds = sorted(s.rate / b.rate for b, s in zip(bares, submits, strict=False))
    ratio = statistics.median(rounds)
    print(f"measured: {args.rounds} interleaved rounds, {args.threads} client threads "
          "on http.client keep-alive connections")
    print(f"{'bare GET ' + _support.BARE_PATH:<25} {fmt(bare)}")
    print(f"{'kiosk POST /kiosk/submit':<25} {fmt(submit)}")
    print("  per round, bare / submit req/s: "
          + ", ".join(f"{b.rate:,.0f} / {s.rate:,.0f}" for b, s in zip(bares, submits, strict=False)))
    print(f"submissions / bare: {ratio:.0%}, the median of the rounds' ratios (target >= {TARGET:.0%}); "
          f"rounds {rounds[0]:.0%} to {rounds[-1]:.0%}; all rounds pooled {submit.rate / bare.rate:.0%}")
    per_bare = [t / len(bare.latencies) * 1e3 for t in cpu_bare]
    per_submit = [t / len(submit.latencies) * 1e3 for t in cpu_submit]
    print(f"server CPU per request (user + system, ms): bare {per_bare[0]:.2f} + {per_bare[1]:.2f}, "
          f"submit {per_submit[0]:.2f} + {per_submit[1]:.2f}; bare / submit CPU: "
          f"{sum(per_bare) / sum(per_submit):.0%} (steadier than the rates on a busy machine)")
    expected = len(drafts) + args.warmup
    print(f"database after the run: {subs} pending submissions (expected {expected}: {len(drafts)} "
          f"measured, {args.warmup} warm-up), {left} drafts left (expected 0)")
    problems = []
    if bad_bare:
        problems.append(f"{len(bad_bare)} bare requests failed, e.g. {bad_bare[0]}")
    if bad_submit:
        problems.append(f"{len(bad_submit)} submissions failed, e.g. {bad_submit[0]}")
    if subs != expected or left:
        problems.append("submissions lost or drafts left behind")
    if ratio < TARGET:
        problems.append(f"ratio {ratio:.0%} below {TARGET:.0%}")
    print("PASS" if not problems else "FAIL: " + "; ".join(problems))
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
