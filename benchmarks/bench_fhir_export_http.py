"""Bulk FHIR export end to end over HTTP against the same export in process.

Builds a temporary SQLite database through the migrations with N synthetic
patients (bench_fhir_export's builder: coverages, two billed visits each),
then in ONE run:

  in-process  bulk.write_files() for every system-level type, in a fresh
              process (the worker's own code, no HTTP, no queue)
  http        gunicorn (2 workers) + `intake worker` (huey): kick-off
              GET /fhir/$export, poll the status URL as its Retry-After says, download
              every file of the manifest; timed from the kick-off to the
              last byte of the last file

Also measured: how long a queued export waits for the worker (the job's
transactionTime minus the kick-off), after the worker has been idle long
enough for its polling back-off to reach its cap.

    python benchmarks/bench_fhir_export_http.py                  # 100k patients
    python benchmarks/bench_fhir_export_http.py --patients 5000  # quick
Targets: http >= 60% of in-process resources/s; pickup <= 1 s.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

import _support
import bench_fhir_export

POLL_SECONDS = 0.1
IDLE_BEFORE_KICKOFF = 3.0


def in_process(instance: Path) -> dict[str, Any]:
    """bulk.write_files for every system-level type, in this (fresh) process."""
    app = _support.make_app(instance)
    from intake.services import bulk

    with app.app_context(), tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        output = bulk.write_files(Path(out), list(bulk.SYSTEM_TYPES), None, lambda done, total: False)
        seconds = time.perf_counter() - start
    return {"resources": sum(o["count"] for o in output), "seconds": seconds}


def _token(instance: Path) -> str:
    app = _support.make_app(instance)
    from intake.extensions import db
    from intake.services import tokens

    with app.app_context():
        _, plain = tokens.create_token("bench back office")
        db.session.commit()
    return plain


@contextlib.contextmanager
def worker(instance: Path) -> Any:
    """`intake worker` on the same database and queue; stopped on the way out."""
    env = {**os.environ, "INTAKE_INSTANCE_PATH": str(instance),
           "INTAKE_DATABASE_URL": f"sqlite:///{instance / 'intake.db'}",
           "INTAKE_SECRET_KEY": _support.BENCH_SECRET}
    log = open(instance / "worker.log", "wb")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen([str(Path(sys.executable).parent / "intake"), "worker"], stdout=log,
                            stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while b"consumer started" not in (instance / "worker.log").read_bytes().lower():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the worker did not start:\n" + (instance / "worker.log").read_text())
            time.sleep(0.1)
        yield proc
    finally:
        _support.stop_process_group(proc)
        log.close()


def _get(url: str, token: str, **headers: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}", **headers})
    return urllib.request.urlopen(request, timeout=600)  # noqa: S310 (loopback)


def over_http(base: str, token: str, out: Path) -> dict[str, Any]:
    """Kick-off to the last file downloaded."""
    start_wall = time.time()
    start = time.perf_counter()
    with _get(f"{base}/fhir/$export", token, Prefer="respond-async", Accept="application/fhir+json") as r:
        assert r.status == 202, r.status
        status_url = r.headers["Content-Location"]
    while True:
        with _get(status_url, token) as r:
            if r.status == 200:
                manifest = json.loads(r.read())
                break
            wait = float(r.headers.get("Retry-After") or POLL_SECONDS)
        time.sleep(wait)  # as a Bulk Data client does: every poll is an authenticated request
    resources = 0
    for n, item in enumerate(manifest["output"]):
        with _get(item["url"], token) as r, open(out / f"{n}.ndjson", "wb") as fh:
            while chunk := r.read(1 << 20):
                fh.write(chunk)
        resources += item["count"]
    seconds = time.perf_counter() - start
    picked_up = datetime.fromisoformat(manifest["transactionTime"].replace("Z", "+00:00")).timestamp()
    return {"resources": resources, "seconds": seconds, "pickup": picked_up - start_wall,
            "files": len(manifest["output"])}


def child(instance: Path) -> None:
    print(json.dumps(in_process(instance)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--child", metavar="INSTANCE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child))
        return
    with _support.temp_instance() as instance:
        start = time.perf_counter()
        bench_fhir_export.build(instance / "intake.db", args.patients)
        print(f"built {args.patients:,} patients via migrations in {time.perf_counter() - start:.1f} s")
        token = _token(instance)
        run = subprocess.run([sys.executable, __file__, "--child", str(instance)], capture_output=True,
                             text=True, check=True)
        local = json.loads(run.stdout.strip().splitlines()[-1])
        local_rate = local["resources"] / local["seconds"]
        print(f"in-process: {local['resources']:,} resources in {local['seconds']:.1f} s = {local_rate:,.0f}/s")
        with _support.gunicorn_server(instance) as base, worker(instance), \
                tempfile.TemporaryDirectory() as out:
            time.sleep(IDLE_BEFORE_KICKOFF)  # an idle worker: its poll back-off at its cap
            http = over_http(base, token, Path(out))
        http_rate = http["resources"] / http["seconds"]
        print(f"http: {http['resources']:,} resources in {http['files']} files, kick-off to last file "
              f"{http['seconds']:.1f} s = {http_rate:,.0f}/s ({http_rate / local_rate:.0%} of in-process, "
              f"target >= 60%)")
        print(f"queued export picked up after {http['pickup']:.2f} s (target <= 1 s)")
        ok = (http["resources"] == local["resources"] and http_rate >= 0.6 * local_rate
              and http["pickup"] <= 1.0)
        print("PASS" if ok else "FAIL")
        sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
