"""Issue 19 item 13: `make run` serves with gunicorn (the project's
gunicorn.conf.py) and starts the worker; `make dev` keeps Werkzeug's
reloader. Runs the real target on a free port in a temporary instance."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from contextlib import suppress
from pathlib import Path

import pytest

from tests.conftest import PG_URL
from tests.hardening.servers import ROOT


def _free_port() -> int:
    import socket

    for port in range(51800, 51900):  # this helper's range (TEAM.md)
        with socket.socket() as s, suppress(OSError):
            s.bind(("127.0.0.1", port))
            return port
    raise RuntimeError("no free port in 51800-51899")


def _group_commands(pgid: int) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with suppress(OSError):
            if os.getpgid(int(proc.name)) == pgid:
                found.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode())
    return found


@pytest.mark.skipif(bool(PG_URL), reason="make run sets up SQLite in the instance folder")
def test_make_run_is_gunicorn_and_the_worker(tmp_path):
    port = _free_port()
    env = {**os.environ, "INTAKE_INSTANCE_PATH": str(tmp_path),
           "INTAKE_ADMIN_PASSWORD": "vivid-harbor-lantern-93", "WEB_CONCURRENCY": "1"}
    env.pop("INTAKE_DATABASE_URL", None)
    env.pop("DATABASE_URL", None)
    log = (tmp_path / "make.log").open("wb")
    # -o: the venv is installed already; do not reinstall because pyproject changed.
    proc = subprocess.Popen(["make", "-o", ".venv/.app-installed", "run", f"PORT={port}"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline, server = time.monotonic() + 90, None
        while time.monotonic() < deadline and server is None:
            assert proc.poll() is None, (tmp_path / "make.log").read_text()
            with suppress(OSError):
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as r:
                    server = r.headers.get("Server", "")
            time.sleep(0.2)
        assert server is not None, (tmp_path / "make.log").read_text()
        assert "Werkzeug" not in server and "Python" not in server
        commands = _group_commands(proc.pid)
        assert any("gunicorn" in c and "gunicorn.conf.py" in c for c in commands), commands
        assert any("intake worker" in c for c in commands), commands
        assert not any(" run --host" in c for c in commands)
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()
    # The worker anchored the audit chain as it stopped.
    assert (tmp_path / "audit-anchors.jsonl").exists(), (tmp_path / "make.log").read_text()


def test_make_dev_keeps_the_reloader():
    dry = subprocess.run(["make", "-n", "-o", ".venv/.app-installed", "-o", "init", "dev"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "intake run --reload" in dry and "intake worker" in dry and "gunicorn" not in dry
