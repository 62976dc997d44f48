"""`intake backup` and `intake restore`: a round trip loses nothing, a bad
file is refused before anything is replaced, and on PostgreSQL the printed
pg_dump / pg_restore commands (never the password) do the same job."""

from __future__ import annotations

import hashlib
import json
import shlex
import shutil
import sqlite3
import subprocess
import threading
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text

from intake.cli import cli
from intake.extensions import db
from intake.models import AuditEvent, Patient, Payment
from tests.conftest import FY2026_DAY, PG_URL

sqlite_only = pytest.mark.skipif(bool(PG_URL), reason="SQLite backup API (PostgreSQL: pg_dump)")
postgres_only = pytest.mark.skipif(not PG_URL, reason="runs pg_dump against the test database")


def checksums(app: Flask) -> dict[str, tuple[int, str]]:
    """Row count and SHA-256 of every table's rows in primary-key order."""
    out = {}
    with app.app_context():
        for table in db.metadata.sorted_tables:
            rows = db.session.execute(db.select(table).order_by(*table.primary_key.columns)).all()
            digest = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
            out[table.name] = (len(rows), digest)
        db.session.rollback()
    return out


def audit_rows(app: Flask) -> list[tuple]:
    with app.app_context():
        table = AuditEvent.__table__
        rows = [tuple(r) for r in db.session.execute(db.select(table).order_by(table.c.seq))]
        db.session.rollback()
        return rows


@pytest.fixture
def office(app, create_user, create_patient, create_coverage, create_visit):
    """Patients, coverages, a visit with charges, payments, and their audit rows."""
    from intake.models import Visit
    from intake.services import charges, payments

    staff_id, _ = create_user("receptionist")
    a = create_patient()
    b = create_patient(family_name="Okafor", given_name="Ada", birth_date=date(1990, 5, 6),
                       phone_mobile="+13125550177", email="ada@example.org")
    create_coverage(a)
    create_coverage(b, kind="medicare", member_id="1EG4TE5MK73")
    visit_id = create_visit(a, day=FY2026_DAY)
    with app.app_context():
        visit = db.session.get(Visit, visit_id)
        charges.add_diagnosis(visit, "E11.9")
        charges.save_line(visit, {"code": "99213", "pointers": [1], "unit_price_cents": 9000})
        for patient_id, cents in ((a, 2500), (b, 4000)):
            payments.record_payment(db.session.get(Patient, patient_id),
                                    {"amount_cents": cents, "kind": "copay", "method": "cash"},
                                    received_by_id=staff_id)
        db.session.commit()
    return {"a": a, "b": b, "staff": staff_id}


def _change_everything(app: Flask, office: dict) -> None:
    from intake.services import patients

    with app.app_context():
        patient = db.session.get(Patient, office["a"])
        patients.update_patient(patient, {"given_name": "Changed", "city": "Elsewhere"})
        patients.register_patient({"family_name": "Newcomer", "given_name": "Nia",
                                   "birth_date": date(2001, 1, 1), "sex": "female"},
                                  confirm_new=True)
        db.session.commit()
        db.session.execute(text("DELETE FROM payments WHERE patient_id = :p"), {"p": office["b"]})
        db.session.commit()


@sqlite_only
def test_round_trip_loses_nothing(app, runner, office, tmp_path):
    before = checksums(app)
    audit_before = audit_rows(app)
    target = tmp_path / "nightly.db"
    made = runner.invoke(cli, ["backup", "--output", str(target), "--json"])
    assert made.exit_code == 0, made.output
    info = json.loads(made.output)
    assert Path(info["path"]) == target and info["sha256"] == hashlib.sha256(target.read_bytes()).hexdigest()
    assert target.stat().st_mode & 0o077 == 0  # owner only: it holds every chart
    assert not Path(str(target) + "-wal").exists()  # one self-contained file

    _change_everything(app, office)
    changed = checksums(app)
    assert changed["patients"] != before["patients"] and changed["payments"][0] == 1

    refused = runner.invoke(cli, ["restore", str(target)])
    assert refused.exit_code == 1 and "--yes" in refused.output
    assert checksums(app)["patients"] == changed["patients"]  # nothing touched

    restored = runner.invoke(cli, ["restore", str(target), "--yes"])
    assert restored.exit_code == 0, restored.output
    assert "Audit chain intact" in restored.output
    after = checksums(app)
    for table, figures in before.items():
        if table != "audit_events":
            assert after[table] == figures, table
    audit_after = audit_rows(app)
    assert audit_after[:len(audit_before)] == audit_before  # every row, byte for byte
    with app.app_context():
        actions = db.session.execute(db.select(AuditEvent.action).where(
            AuditEvent.seq > len(audit_before)).order_by(AuditEvent.seq)).scalars().all()
    assert actions == ["system.restore"]  # the backup's own row was written after the copy
    verify = runner.invoke(cli, ["audit", "verify"])
    assert verify.exit_code == 0, verify.output

    # The database as it was before the restore is kept beside it.
    saved = list(Path(app.instance_path).glob("intake.db.*.bak"))
    assert len(saved) == 1
    with sqlite3.connect(saved[0]) as conn:
        assert conn.execute("SELECT count(*) FROM payments").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM patients").fetchone()[0] == 3
    conn.close()


@sqlite_only
def test_default_backup_goes_to_instance_backups_and_is_audited(app, runner, office):
    first = runner.invoke(cli, ["backup"])
    second = runner.invoke(cli, ["backup"])
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    files = sorted((Path(app.instance_path) / "backups").glob("intake-*.db"))
    assert len(files) == 2 and all(f.name.endswith("Z.db") or "Z-" in f.name for f in files)
    with app.app_context():
        rows = db.session.execute(db.select(AuditEvent).filter_by(action="system.backup")).scalars().all()
        assert len(rows) == 2 and rows[0].actor == "cli:backup" and "sha256=" in rows[0].detail
    exists = runner.invoke(cli, ["backup", "--output", str(files[0])])
    assert exists.exit_code == 1 and "already exists" in exists.output


@sqlite_only
def test_backup_is_consistent_while_the_app_writes(app, runner, tmp_path):
    """A writer commits audit rows the whole time; the copy is one snapshot:
    integrity ok and its chain verifies (no half-written commit)."""
    from intake.services import audit

    stop = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            with app.app_context():
                while not stop.is_set():
                    for n in range(5):
                        audit.record("test.busy", object_id=n)
                    db.session.commit()
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        copies = []
        for n in range(3):
            target = tmp_path / f"busy-{n}.db"
            result = runner.invoke(cli, ["backup", "--output", str(target)])
            assert result.exit_code == 0, result.output
            copies.append(target)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not errors, errors
    for copy in copies:
        restored_app = _app_on(copy, tmp_path)
        with restored_app.app_context():
            report = audit.verify()
            rows = db.session.execute(db.select(AuditEvent.action)).scalars().all()
            assert report.ok and len([a for a in rows if a == "test.busy"]) % 5 == 0
            db.session.remove()
            db.engine.dispose()


def _app_on(path: Path, instance: Path) -> Flask:
    from intake import create_app

    return create_app({"TESTING": True, "SECRET_KEY": "x",
                       "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})


@sqlite_only
def test_restore_refuses_what_is_not_a_good_backup(app, runner, office, tmp_path):
    before = checksums(app)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE notes (id INTEGER)").connection.close()
    old = tmp_path / "old.db"
    assert runner.invoke(cli, ["backup", "--output", str(old)]).exit_code == 0
    with sqlite3.connect(old) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0004_kiosk'")
    conn.close()
    damaged = tmp_path / "damaged.db"
    assert runner.invoke(cli, ["backup", "--output", str(damaged)]).exit_code == 0
    data = bytearray(damaged.read_bytes())
    page = 4096
    for offset in range(2 * page, len(data) - page, page):  # scribble over b-tree pages
        data[offset:offset + 64] = b"\xff" * 64
    damaged.write_bytes(bytes(data))

    cases = {junk: "not an SQLite database", other: "not an intake database",
             old: "is at migration 0004_kiosk", damaged: "damaged",
             tmp_path / "missing.db": "does not exist"}
    for path, words in cases.items():
        result = runner.invoke(cli, ["restore", str(path), "--yes"])
        assert result.exit_code == 1, (path, result.output)
        assert words in result.output, (path, result.output)
    assert not list(Path(app.instance_path).glob("*.bak"))
    after = checksums(app)
    assert {t: v for t, v in after.items() if t != "audit_events"} == \
        {t: v for t, v in before.items() if t != "audit_events"}


def test_postgres_prints_commands_without_the_password(make_app, tmp_path):
    app = make_app(SQLALCHEMY_DATABASE_URI="postgresql+psycopg://intake:s3cret-pw@db.example:5433/office")
    runner = app.test_cli_runner()
    for args in (["backup"], ["backup", "--json"], ["restore", str(tmp_path / "x.dump")]):
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, result.output
        assert "s3cret" not in result.output
        assert "pg_dump" in result.output and "pg_restore" in result.output
        assert "db.example" in result.output and "5433" in result.output and "office" in result.output
    with app.app_context():
        db.engine.dispose()


@postgres_only
def test_postgres_round_trip_with_the_printed_commands(app, runner, office, tmp_path):
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    dump = tmp_path / "office.dump"
    printed = json.loads(runner.invoke(cli, ["backup", "--output", str(dump), "--json"]).output)
    before = checksums(app)
    subprocess.run(shlex.split(printed["backup"]), check=True, timeout=120)
    _change_everything(app, office)
    assert checksums(app) != before
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    subprocess.run(shlex.split(printed["restore"]), check=True, timeout=120)
    assert checksums(app) == before
    assert runner.invoke(cli, ["audit", "verify"]).exit_code == 0
    with app.app_context():  # the append-only trigger came back with the schema
        with pytest.raises(Exception, match="append-only"):
            db.session.execute(text("DELETE FROM audit_events"))
        db.session.rollback()
