"""Real servers and real clients for the concurrency and crash tests.

`Server` runs the app under gunicorn (the repository's gunicorn.conf.py,
several workers and threads) on a free loopback port, in its own process
group so a test can SIGKILL the master and every worker at once. `Desk` and
`Tablet` are HTTP clients that use the pages the way a browser does: they
read the CSRF token from a form and post what the form posts. `load` runs
in a separate OS process (`python -m tests.hardening.servers load SPEC OUT`)
and writes what it did and what it saw as JSON, so the test can check that
every write it was told succeeded is in the database. Synthetic people only.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from contextlib import suppress
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
GUNICORN_CONF = ROOT / "gunicorn.conf.py"
PASSWORD = "hz-password-123"
# The token as forms carry it (either attribute order) or the layout's meta tag.
CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"|name="csrf-token" content="([^"]+)"')
# Connection errors, timeouts and 5xx are errors shown to users.
TIMEOUT = 30


# ---- the app under gunicorn -------------------------------------------------

def app_config(database_url: str, instance: Path) -> dict[str, Any]:
    """Production-like: CSRF on, errors answered as pages (not raised), cheap
    password hashes and no login throttling (every client signs in from
    127.0.0.1; the limiter has its own tests)."""
    return {
        "SECRET_KEY": "hz-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "INTAKE_UPLOAD_DIR": str(instance / "uploads"),
        "INTAKE_ARGON2_TIME_COST": 1,
        "INTAKE_ARGON2_MEMORY_KIB": 1024,
        "RATELIMIT_ENABLED": False,
        "INTAKE_FORCE_HTTPS": False,
    }


def wsgi_app() -> Any:
    """gunicorn's entry point: tests.hardening.servers:wsgi_app()."""
    from intake import create_app

    return create_app(json.loads(os.environ["HZ_APP_CONFIG"]))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn on 127.0.0.1:<free port>; `kill()` is kill -9 of the whole group."""

    def __init__(self, database_url: str, instance: Path, *, workers: int = 2,
                 threads: int = 4, log: Path | None = None, pycache: Path | None = None,
                 preload: bool = False, loglevel: str = "warning"):
        self.database_url = database_url
        self.instance = instance
        self.workers = workers
        self.threads = threads
        self.log = log or instance / "gunicorn.log"
        self.pycache = pycache
        # Import the app once in the master, then fork the workers: faster
        # restarts (create_app opens no connection, so nothing is shared).
        self.preload = preload
        self.loglevel = loglevel
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self, timeout: float = 30) -> Server:
        return self.launch().wait_ready(timeout)

    def launch(self) -> Server:
        """Start gunicorn without waiting for it (see wait_ready)."""
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port),
               "WEB_CONCURRENCY": str(self.workers), "GUNICORN_THREADS": str(self.threads),
               "GUNICORN_LOGLEVEL": self.loglevel, "INTAKE_INSTANCE_PATH": str(self.instance),
               "HZ_APP_CONFIG": json.dumps(app_config(self.database_url, self.instance)),
               "PYTHONWARNINGS": "ignore"}
        if self.pycache:
            # Compiled modules cached between restarts (the environment may
            # set PYTHONDONTWRITEBYTECODE, making every start recompile).
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(self.pycache)
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF),
                 *(["--preload"] if self.preload else []),
                 "tests.hardening.servers:wsgi_app()"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)
        return self

    def wait_ready(self, timeout: float = 30) -> Server:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited {self.proc.returncode}: see {self.log}")
            with suppress(OSError):
                with urllib.request.urlopen(self.url + "/login", timeout=2) as response:
                    if response.status == 200:
                        return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer within {timeout} s: see {self.log}")

    def _signal_group(self, sig: int) -> None:
        if self.proc is not None:
            with suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)

    def kill(self) -> None:
        """kill -9: master and workers, no shutdown code runs."""
        if self.proc is None:
            return
        self._signal_group(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is None:
            return
        self._signal_group(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            self.proc.wait(timeout=10)
        # Workers left behind by a master that died first.
        self._signal_group(signal.SIGKILL)
        self.proc = None

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *_exc: Any) -> None:
        self.stop()


# ---- clients that use the pages ---------------------------------------------

class Interrupted(Exception):
    """The connection failed (server killed, refused, timed out)."""


class Client:
    """A requests session that counts every response by status and records
    every error a user would have seen (5xx or a failed connection)."""

    def __init__(self, base: str, stats: Counter, errors: list[str]):
        import requests

        self.base = base
        self.http = requests.Session()
        self.stats = stats
        self.errors = errors
        self.csrf = ""

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        import requests

        try:
            response = self.http.request(method, self.base + path, allow_redirects=False,
                                         timeout=TIMEOUT, **kwargs)
        except requests.RequestException as exc:
            self.stats["connection_error"] += 1
            self.errors.append(f"{method} {_shape(path)}: {type(exc).__name__}")
            raise Interrupted(type(exc).__name__) from None
        self.stats[str(response.status_code)] += 1
        self.stats["requests"] += 1
        if response.status_code >= 500:
            self.errors.append(f"{method} {_shape(path)}: {response.status_code}")
        match = CSRF.search(response.text) if "text/html" in response.headers.get(
            "Content-Type", "") else None
        if match:
            self.csrf = match.group(1) or match.group(2)
        return response

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def post(self, path: str, data: dict[str, Any] | None = None,
             files: dict[str, Any] | None = None) -> Any:
        return self.request("POST", path, data={**(data or {}), "csrf_token": self.csrf},
                            files=files)


def _shape(path: str) -> str:
    """/staff/patients/12/edit -> /staff/patients/N/edit (ids only, no PHI anyway)."""
    return re.sub(r"/\d+", "/N", path)


def letters(n: int, width: int = 4) -> str:
    """A number as letters (names may hold letters only): 0 -> Aaaa."""
    out = ""
    for _ in range(width):
        out = chr(ord("a") + n % 26) + out
        n //= 26
    return out.capitalize()


def sign_in(client: Client, username: str, password: str = PASSWORD) -> None:
    client.get("/login")
    response = client.post("/login", {"username": username, "password": password})
    if response.status_code != 302:
        raise RuntimeError(f"sign-in refused: {response.status_code}")


def enroll(client: Client, code: str) -> None:
    client.get("/kiosk/enroll")
    response = client.post("/kiosk/enroll", {"code": code})
    if response.status_code != 302:
        raise RuntimeError(f"enrollment refused: {response.status_code}")


def _png(colour: str) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (320, 200), colour).save(buf, "PNG")
    return buf.getvalue()


def _signature() -> str:
    from PIL import Image, ImageDraw

    picture = Image.new("RGBA", (300, 100), (0, 0, 0, 0))
    ImageDraw.Draw(picture).line((10, 80, 120, 20, 200, 70, 290, 30), fill=(0, 0, 0, 255), width=4)
    buf = io.BytesIO()
    picture.save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


SIGNATURE = _signature()
CARD_FRONT, CARD_BACK = _png("navy"), _png("teal")


def kiosk_intake(tablet: Client, family: str, payer_id: int, member_id: str,
                 cards: bool = True, browse: bool = True) -> str | None:
    """One patient through every kiosk page; None when the thank-you page
    came, else the step that did not go on and its status. browse=False
    posts each step without loading its page first (the session's CSRF
    token stays valid): fewer requests, for the crash test's short lives."""
    tablet.get("/kiosk/")  # a fresh CSRF token: submitting clears the kiosk session
    if (status := tablet.post("/kiosk/start", {"language": "en"}).status_code) != 302:
        return f"start {status}"
    steps = [
        ("about", {"given_name": "Zoë", "family_name": family, "birth_date-month": "7",
                   "birth_date-day": "9", "birth_date-year": "1985",
                   "sex": "female", "preferred_language": "en", "races": "2106-3",
                   "ethnicity": "2186-5"}),
        ("contact", {"address_line1": "18 Synthetic Way", "city": "Evanston", "state": "IL",
                     "postal_code": "60201", "phone_mobile": "(847) 555-0111",
                     "email": "zoe@example.org"}),
        ("emergency", {"emergency_name": "Ana Nunes", "emergency_relationship": "sister",
                       "emergency_phone": "847-555-0112"}),
    ]
    for step, data in steps:
        if browse:
            tablet.get(f"/kiosk/step/{step}")
        if (status := tablet.post(f"/kiosk/step/{step}", data).status_code) != 302:
            return f"{step} {status}"
    if browse:
        tablet.get("/kiosk/step/insurance")
    insurance = {"has_insurance": "yes", "primary_payer_id": str(payer_id),
                 "primary_member_id": member_id, "primary_group_number": "G-77",
                 "primary_relationship_code": "self"}
    files = ({"primary_card_front": ("front.png", CARD_FRONT, "image/png"),
              "primary_card_back": ("back.png", CARD_BACK, "image/png")} if cards else None)
    if (status := tablet.post("/kiosk/step/insurance", insurance, files=files).status_code) != 302:
        return f"insurance {status}"
    if browse:
        tablet.get("/kiosk/step/consents")
    consents = {"signer_name": f"Zoë {family}", "signer_relationship": "self",
                "treatment_signature": SIGNATURE, "privacy_typed": f"Zoë {family}",
                "financial_typed": f"Zoë {family}", "communication_typed": f"Zoë {family}",
                "comm_sms": "y"}
    if (status := tablet.post("/kiosk/step/consents", consents).status_code) != 302:
        return f"consents {status}"
    if browse:
        tablet.get("/kiosk/review")
    response = tablet.post("/kiosk/submit")
    if response.status_code == 302 and response.headers["Location"].endswith("/kiosk/done"):
        tablet.get("/kiosk/done")
        return None
    return f"submit {response.status_code} {_shape(response.headers.get('Location', ''))}"


def patient_form(person: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """What the registration / edit form posts for this person."""
    return {"family_name": person["family_name"], "given_name": person["given_name"],
            "birth_date": person["birth_date"], "sex": "female",
            "phone_mobile": person["phone_mobile"], "address_line1": "5 Test Road",
            "city": "Springfield", "state": "IL", "postal_code": "62704",
            "preferred_language": "en", **changes}


def coverage_form(payer_id: int, member_id: str) -> dict[str, Any]:
    return {"payer_id": str(payer_id), "rank": "3", "member_id": member_id, "group_number": "G-1",
            "relationship_code": "self", "copay": "25.00", "effective_date": "2026-01-01"}


COVERAGE_ID = re.compile(r"/coverages/(\d+)/end")


def _desk_round(desk: Client, spec: dict[str, Any], n: int, out: dict[str, Any]) -> None:
    """Edit one of this desk's own charts, and add (or, when full, end) a
    coverage on the chart every desk shares."""
    w = spec["worker"]
    own = spec["own"][n % len(spec["own"])]
    desk.get(f"/staff/patients/{own['id']}/edit")
    value = f"Apt {w}-{n}"
    response = desk.post(f"/staff/patients/{own['id']}/edit",
                         patient_form(own, address_line2=value))
    if response.status_code == 302:
        out["edits"][str(own["id"])] = value
    else:
        out["refused"].append(f"edit {response.status_code}")

    shared = spec["shared_id"]
    desk.get(f"/staff/patients/{shared}/coverages/new")
    member = f"HZ{w}M{n:05d}"
    response = desk.post(f"/staff/patients/{shared}/coverages/new",
                         coverage_form(spec["payer_id"], member))
    if response.status_code == 302:
        out["coverages"].append(member)
        return
    if response.status_code != 422:
        out["refused"].append(f"coverage {response.status_code}")
        return
    # Three active already: end one (another desk may end it first: a 422).
    chart = desk.get(f"/staff/patients/{shared}")
    ids = COVERAGE_ID.findall(chart.text)
    if ids:
        cid = ids[n % len(ids)]
        ended = desk.post(f"/staff/patients/{shared}/coverages/{cid}/end",
                          {"end_date": date.today().isoformat()})
        out["ends"][str(ended.status_code)] = out["ends"].get(str(ended.status_code), 0) + 1


def load(spec: dict[str, Any]) -> dict[str, Any]:
    """One OS process of the concurrency test: until spec["until"] (wall
    clock), alternately submit a kiosk intake and edit charts at the desk."""
    stats: Counter = Counter()
    errors: list[str] = []
    out: dict[str, Any] = {"worker": spec["worker"], "kiosk": [], "edits": {}, "coverages": [],
                           "ends": {}, "refused": [], "errors": errors}
    tablet = Client(spec["url"], stats, errors)
    desk = Client(spec["url"], stats, errors)
    try:
        enroll(tablet, spec["kiosk_code"])
        sign_in(desk, spec["username"])
        while time.time() < spec["start_at"]:
            time.sleep(0.01)
        n = 0
        while time.time() < spec["until"]:
            family = "Hz" + letters(spec["worker"], 1).lower() + letters(n).lower()
            failed = kiosk_intake(tablet, family, spec["payer_id"], f"K{spec['worker']}X{n:05d}",
                                  cards=n % 2 == 0)
            if failed is None:
                out["kiosk"].append(family)
            else:
                out["refused"].append(f"kiosk {failed}")
            _desk_round(desk, spec, n, out)
            n += 1
    except Interrupted:
        pass
    finally:
        tablet.close()
        desk.close()
    out["stats"] = dict(stats)
    return out


def race(spec: dict[str, Any]) -> dict[str, Any]:
    """One desk of the same-person race: at each agreed instant, register
    person r and tick "this is a new patient"."""
    stats: Counter = Counter()
    errors: list[str] = []
    desk = Client(spec["url"], stats, errors)
    results = []
    try:
        sign_in(desk, spec["username"])
        desk.get("/staff/patients/new")
        for r, person in enumerate(spec["people"]):
            at = spec["start_at"] + r * spec["gap"]
            while time.time() < at:
                time.sleep(0.001)
            response = desk.post("/staff/patients/new", patient_form(person, confirm_new="y"))
            results.append({"status": response.status_code,
                            "moment_ago": "registered a moment ago" in response.text
                                          or "already exists" in response.text})
    finally:
        desk.close()
    return {"results": results, "stats": dict(stats), "errors": errors}


def run_in_process(kind: str, spec: dict[str, Any], out: Path) -> subprocess.Popen[bytes]:
    """Start `load` or `race` in a new OS process; its result lands in `out`."""
    spec_file = out.with_suffix(".spec.json")
    spec_file.write_text(json.dumps(spec))
    return subprocess.Popen([sys.executable, "-m", "tests.hardening.servers", kind,
                             str(spec_file), str(out)], cwd=ROOT, stdin=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"},
                            start_new_session=True)


if __name__ == "__main__":
    kind, spec_path, out_path = sys.argv[1:4]
    task = {"load": load, "race": race}[kind]
    result = task(json.loads(Path(spec_path).read_text()))
    Path(out_path).write_text(json.dumps(result))
