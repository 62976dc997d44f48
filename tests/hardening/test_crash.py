"""Crashes (issue 7): kill -9 the whole gunicorn server (master and workers)
20 times while a kiosk tablet submits intakes and a desk accepts them into
new charts (patient + coverage + card pictures + signed consents in one
transaction), registers patients and takes payments. Each time the server
is started again on the same database. Afterwards nothing is half-saved:
every chart, coverage, card, consent, payment and submission is whole, every
write a client was told succeeded is there, and SQLite's integrity check
passes (PostgreSQL is checked the same way when the run uses it)."""

from __future__ import annotations

import itertools
import random
import re
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import text

from intake.extensions import db
from intake.models import (AuditEvent, CardImage, Coverage, KioskSubmission, Patient, Payment,
                           SignedConsent)
from tests.conftest import payer_id
from tests.hardening.servers import (Client, Interrupted, enroll, kiosk_intake, letters,
                                     patient_form, sign_in)
from tests.kiosk.factories import enroll_code

KILLS = 20
SUBMISSION = re.compile(r"/staff/kiosk/(\d+)\"")


class Clients:
    """What the tablet and the desk did, across every server life."""

    def __init__(self) -> None:
        self.stats: Counter = Counter()
        self.errors: list[str] = []
        self.kiosk: list[str] = []  # families whose submission the tablet saw confirmed
        self.accepted: list[int] = []  # submissions the desk saw accepted
        self.registered: list[str] = []  # families the desk saw registered
        self.payments: list[int] = []  # patient ids of payments the desk saw recorded
        self.n = itertools.count(1)  # shared by both threads: next() is atomic

    def tablet(self, client: Client, payer: int, stop: threading.Event) -> None:
        while not stop.is_set():
            n = next(self.n)
            family = "Crash" + letters(n).lower()
            try:
                if kiosk_intake(client, family, payer, f"C{n:06d}", cards=True,
                                browse=False) is None:
                    self.kiosk.append(family)
            except Interrupted:
                return

    def desk(self, client: Client, stop: threading.Event) -> None:
        while not stop.is_set():
            n = next(self.n)
            try:
                queue = client.get("/staff/kiosk")
                for sub_id in SUBMISSION.findall(queue.text)[:2]:
                    client.get(f"/staff/kiosk/{sub_id}")
                    done = client.post(f"/staff/kiosk/{sub_id}/accept", {"confirm_new": "y"})
                    if done.status_code == 302:
                        self.accepted.append(int(sub_id))
                family = "Desk" + letters(n).lower()
                person = {"family_name": family, "given_name": "Crash",
                          "birth_date": "1960-02-03", "phone_mobile": f"+1773555{n % 10000:04d}"}
                client.get("/staff/patients/new")
                made = client.post("/staff/patients/new", patient_form(person, confirm_new="y"))
                if made.status_code != 302:
                    continue
                self.registered.append(family)
                pid = int(made.headers["Location"].rstrip("/").split("/")[-1])
                client.get(f"/staff/patients/{pid}/payments/new")
                paid = client.post(f"/staff/patients/{pid}/payments/new", {
                    "visit_id": "0", "kind": "prepayment", "method": "cash", "amount": "12.34"})
                if paid.status_code == 302:
                    self.payments.append(pid)
            except Interrupted:
                return


@pytest.mark.slow
def test_kill_9_twenty_times_leaves_nothing_half_saved(app, tmp_path: Path, hz_server,
                                                       hz_receptionist):
    payer = payer_id(app)
    code = enroll_code(app)[1]
    username = hz_receptionist()
    done = Clients()
    tablet = Client("", done.stats, done.errors)
    desk = Client("", done.stats, done.errors)
    rng = random.Random(7)
    started = time.monotonic()
    kills = 0
    try:
        upcoming = hz_server(wait=False, workers=2, threads=2, preload=True)
        for life in range(KILLS):
            server = upcoming.wait_ready()
            # The next life starts while this one serves: restarts overlap the load.
            upcoming = hz_server(wait=False, workers=2, threads=2, preload=True)
            tablet.base = desk.base = server.url
            if life == 0:
                enroll(tablet, code)
            sign_in(desk, username)  # a fresh sign-in each life: the old session may be mid-write
            stop = threading.Event()
            threads = [threading.Thread(target=done.tablet, args=(tablet, payer, stop)),
                       threading.Thread(target=done.desk, args=(desk, stop))]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.8, 2.0))
            server.kill()  # kill -9 while requests are in flight
            kills += 1
            stop.set()
            for t in threads:
                t.join(timeout=40)
                assert not t.is_alive()
        # One more life: the server starts cleanly on what the kills left.
        server = upcoming.wait_ready()
        desk.base = server.url
        sign_in(desk, username)
        assert desk.get("/staff/kiosk").status_code == 200
        server.stop()
    finally:
        tablet.close()
        desk.close()
    elapsed = time.monotonic() - started

    interrupted = done.stats["connection_error"]
    server_errors = [e for e in done.errors if not e.endswith("Error")]
    print(f"\ncrash: {kills} kills in {elapsed:.0f} s; {done.stats['requests']} responses "
          f"{dict(sorted(done.stats.items()))}; interrupted requests {interrupted}; "
          f"kiosk submissions confirmed {len(done.kiosk)}, accepted {len(done.accepted)}, "
          f"charts registered {len(done.registered)}, payments {len(done.payments)}")
    assert kills == KILLS
    assert server_errors == []  # only connections cut by the kills, never a 5xx
    assert done.kiosk and done.accepted and done.registered and done.payments

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            assert db.session.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            assert db.session.execute(text("PRAGMA foreign_key_check")).all() == []
        _assert_nothing_half_saved(done, Path(app.config["INTAKE_UPLOAD_DIR"]))


def _assert_nothing_half_saved(done: Clients, uploads: Path) -> None:
    subs = list(db.session.execute(db.select(KioskSubmission)).scalars())
    by_family = {}
    for sub in subs:
        if sub.status == "pending":
            # A submission is whole: demographics, its coverage, four consents.
            assert sub.data["patient"]["family_name"]
            assert len(sub.data["coverages"]) == 1 and len(sub.data["consents"]) == 4
            by_family[sub.data["patient"]["family_name"]] = sub
        else:
            assert sub.status == "accepted" and sub.data == {} and sub.patient_id
    # Every write a client was told succeeded is there.
    accepted = {s.id: s for s in subs if s.status == "accepted"}
    assert set(done.accepted) <= set(accepted)
    families = set(db.session.execute(db.select(Patient.family_name)).scalars())
    assert set(done.kiosk) <= set(by_family) | families
    assert set(done.registered) <= families

    audited = {(a.action, a.object_id) for a in db.session.execute(db.select(AuditEvent)).scalars()}
    for patient in db.session.execute(db.select(Patient)).scalars():
        assert ("patient.create", patient.id) in audited
        sub = next((s for s in accepted.values() if s.patient_id == patient.id), None)
        coverages = list(db.session.execute(
            db.select(Coverage).filter_by(patient_id=patient.id)).scalars())
        consents = db.session.scalar(db.select(db.func.count(SignedConsent.id))
                                     .filter_by(patient_id=patient.id))
        if sub is not None:
            # A chart from the kiosk: its coverage with both card pictures, four consents.
            assert len(coverages) == 1 and coverages[0].rank == 1
            assert sorted(c.side for c in coverages[0].cards) == ["back", "front"]
            assert consents == 4
            assert ("kiosk.accept", sub.id) in audited
        else:
            assert patient.family_name.startswith("Desk") and not coverages and consents == 0
    for card in db.session.execute(db.select(CardImage)).scalars():
        assert (uploads / "cards" / card.stored_name).is_file()  # written before the commit
    payments = list(db.session.execute(db.select(Payment)).scalars())
    assert set(done.payments) <= {p.patient_id for p in payments}
    for payment in payments:
        assert payment.amount_cents == 1234 and payment.kind == "prepayment"
        assert ("payment.create", payment.id) in audited
