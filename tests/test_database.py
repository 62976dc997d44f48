"""Schema and engine behaviour on the real databases."""

from __future__ import annotations

import sqlite3

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from intake.extensions import db


def test_migrations_produce_the_models_schema(app):
    """The test databases are built by `flask db upgrade` only; the models
    must match them exactly (no drift between create_all and migrations)."""
    with app.app_context():
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_engine_settings(app):
    with app.app_context():
        with db.engine.connect() as conn:
            if db.engine.dialect.name == "postgresql":
                # Names in any script must round-trip.
                assert conn.exec_driver_sql("SHOW server_encoding").scalar() == "UTF8"
                assert conn.exec_driver_sql("SHOW client_encoding").scalar() == "UTF8"
                return
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_sqlite_transactions_take_the_write_lock_at_begin(app):
    """BEGIN IMMEDIATE: while one transaction is open, another writer waits
    from its BEGIN, rather than failing half-way through its work."""
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgresql"):
        pytest.skip("SQLite locking; PostgreSQL uses row locks")
    path = uri.removeprefix("sqlite:///")
    with app.app_context():
        with db.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")  # opens the transaction
            _another_writer_is_locked_out(path)
            conn.rollback()


def _another_writer_is_locked_out(path: str) -> None:
    other = sqlite3.connect(path, timeout=0.05, isolation_level=None)
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    finally:
        other.close()


def _sqlite_path(app) -> str:
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if not uri.startswith("sqlite:///"):
        pytest.skip("SQLite file locking")
    return uri.removeprefix("sqlite:///")


_COUNTER_WORKER = """
import os, sys
from intake import create_app
from intake.extensions import db
app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "SECRET_KEY": "x", "TESTING": True})
with app.app_context():
    for _ in range(int(sys.argv[2])):
        with db.engine.begin() as conn:
            n = conn.exec_driver_sql("SELECT n FROM queue_counter").scalar()
            conn.exec_driver_sql("UPDATE queue_counter SET n = ?", (n + 1,))
"""


def test_sqlite_writers_in_several_processes_lose_nothing(app, tmp_path):
    """Three processes each add 1 a hundred times by reading then writing:
    BEGIN IMMEDIATE makes each transaction whole and the busy timeout makes
    the others wait their turn, so no update is lost and none fails with
    "database is locked"."""
    import os
    import subprocess
    import sys

    path = _sqlite_path(app)
    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.execute("CREATE TABLE queue_counter (n INTEGER NOT NULL)")
        conn.execute("INSERT INTO queue_counter VALUES (0)")
    procs = [subprocess.Popen([sys.executable, "-c", _COUNTER_WORKER, f"sqlite:///{path}", "100"],
                              stderr=subprocess.PIPE, env={**os.environ, "INTAKE_INSTANCE_PATH": str(tmp_path)})
             for _ in range(3)]
    errors = [p.communicate(timeout=120)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT n FROM queue_counter").fetchone()[0] == 300


def test_foreign_keys_are_enforced(app):
    from sqlalchemy.exc import IntegrityError

    from intake.models import Coverage

    with app.app_context():
        db.session.add(Coverage(patient_id=424242, payer_id=1, member_id="X", rank=1))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_request_with_error_saves_nothing(make_app, create_user):
    """A failure half-way through a request rolls back what it had flushed."""
    app = make_app(INTAKE_RAISE_ERRORS=False)
    from intake.models import Patient
    from intake.services import patients

    @app.route("/boom")
    def boom():
        patients.register_patient({"family_name": "Half", "given_name": "Saved",
                                   "birth_date": __import__("datetime").date(1990, 1, 1),
                                   "sex": "female"}, confirm_new=True)
        raise RuntimeError("fails after the flush")

    boom.allowed_roles = frozenset({"public"})
    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert "Nothing was saved" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Patient.id))) == 0


def _another_writer_commits(path: str) -> None:
    """A write transaction from outside the app, which fails after 1 s if
    anything holds SQLite's write lock meanwhile."""
    other = sqlite3.connect(path, timeout=1, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("COMMIT")
    finally:
        other.close()


def test_a_bulk_export_reads_without_the_write_lock(make_app, create_patient, monkeypatch):
    """While the worker writes an export's files, the front desk can write:
    only the job's own updates take the lock. The export still completes."""
    import threading

    import intake.fhir.api as fhir_api
    from intake.models import BulkExport
    from intake.services import bulk

    app = make_app()
    path = _sqlite_path(app)
    create_patient()
    with app.app_context():
        db.session.add(BulkExport(id="job-1", level="system", types=["Patient"],
                                  request_url="http://x/fhir/$export", status="queued"))
        db.session.commit()
    reading, desk_done = threading.Event(), threading.Event()
    real = fhir_api.resource_for

    def slow_resource_for(*args, **kwargs):
        reading.set()
        assert desk_done.wait(5)
        return real(*args, **kwargs)

    def worker() -> None:
        with app.app_context():
            bulk.run_export("job-1")
            db.session.remove()

    monkeypatch.setattr(fhir_api, "resource_for", slow_resource_for)
    thread = threading.Thread(target=worker)
    thread.start()
    assert reading.wait(5)
    _another_writer_commits(path)  # the export does not hold the lock
    desk_done.set()
    thread.join(10)
    with app.app_context():
        job = db.session.get(BulkExport, "job-1")
        assert job.status == "complete" and job.output[0]["count"] == 1


def test_a_failed_commit_is_reported_and_leaves_no_lock_behind(make_app):
    """A COMMIT that fails (here a deferred foreign key) raises SQLAlchemy's
    own IntegrityError, saves nothing, and leaves no writer waiting."""
    import threading
    import time

    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from intake.models import Coverage

    app = make_app()
    _sqlite_path(app)
    with app.app_context():
        db.session.execute(text("PRAGMA defer_foreign_keys = ON"))
        db.session.add(Coverage(patient_id=424242, payer_id=1, member_id="X", rank=1))
        db.session.flush()  # deferred: no error yet
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        assert db.session.scalar(db.select(db.func.count(Coverage.id))) == 0
        db.session.rollback()
    took: list[float] = []

    def other_writer() -> None:
        with app.app_context():
            start = time.monotonic()
            db.session.execute(text("SELECT 1"))
            db.session.commit()
            took.append(time.monotonic() - start)

    thread = threading.Thread(target=other_writer)
    thread.start()
    thread.join(10)
    assert took and took[0] < 1  # not the 5 s busy timeout
