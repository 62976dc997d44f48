"""`intake backup` and `intake restore`: one tar file with the database, the
uploaded pictures and a manifest; a round trip loses nothing (rows, audit
chain, every picture byte for byte), a bad or altered backup is refused
before anything is replaced, a failed restore leaves everything as it was,
and PostgreSQL goes through pg_dump / pg_restore (never showing the password)."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import shutil
import sqlite3
import tarfile
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text

from intake.cli import cli
from intake.extensions import db
from intake.models import AuditEvent, CardImage, Coverage, Patient
from intake.services import backup as backup_service
from tests.conftest import PG_URL

sqlite_only = pytest.mark.skipif(bool(PG_URL), reason="SQLite backup API (PostgreSQL: pg_dump)")
postgres_only = pytest.mark.skipif(not PG_URL, reason="runs pg_dump against the test database")
# On PostgreSQL a backup is pg_dump's, a restore pg_restore's.
needs_tools = pytest.mark.skipif(bool(PG_URL) and shutil.which("pg_dump") is None,
                                 reason="pg_dump / pg_restore are not installed")


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


def _change_everything(app: Flask, backup_office: dict) -> None:
    from intake.services import patients

    with app.app_context():
        patient = db.session.get(Patient, backup_office["a"])
        patients.update_patient(patient, {"given_name": "Changed", "city": "Elsewhere"})
        patients.register_patient({"family_name": "Newcomer", "given_name": "Nia",
                                   "birth_date": date(2001, 1, 1), "sex": "female"},
                                  confirm_new=True)
        db.session.commit()
        db.session.execute(text("DELETE FROM payments WHERE patient_id = :p"), {"p": backup_office["b"]})
        db.session.commit()


def _photo(colour: tuple[int, int, int]) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (320, 200), colour).save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture
def cards(app, desk, backup_office) -> dict[int, tuple[int, bytes]]:
    """Card pictures uploaded at the desk for both patients, and a kiosk
    picture: {card id: (patient id, the bytes served)}."""
    for n, patient_id in enumerate((backup_office["a"], backup_office["b"])):
        with app.app_context():
            coverage_id = db.session.execute(db.select(Coverage.id).filter_by(
                patient_id=patient_id)).scalars().first()
        for side, colour in (("front", (200, 30, 30 + n)), ("back", (30, 200, 30 + n))):
            response = desk.post(f"/staff/patients/{patient_id}/coverages/{coverage_id}/cards",
                                 data={"side": side, "image": (io.BytesIO(_photo(colour)), "c.jpg")},
                                 content_type="multipart/form-data")
            assert response.status_code == 302
    kiosk = Path(app.config["INTAKE_UPLOAD_DIR"]) / "kiosk"
    kiosk.mkdir(parents=True, exist_ok=True)
    (kiosk / "draft-card.jpg").write_bytes(_photo((1, 2, 3)))
    served = {}
    with app.app_context():
        for card in db.session.execute(db.select(CardImage)).scalars():
            served[card.id] = (card.coverage.patient_id, _served(desk, card.coverage.patient_id, card.id))
            assert hashlib.sha256(served[card.id][1]).hexdigest() == card.sha256
        db.session.rollback()
    assert len(served) == 4
    return served


def _served(desk, patient_id: int, card_id: int) -> bytes | None:
    response = desk.get(f"/staff/patients/{patient_id}/cards/{card_id}")
    data = response.data if response.status_code == 200 else None
    response.close()
    return data


def pictures(app: Flask) -> dict[str, bytes]:
    """Every file under the uploads folder, by relative path (not restore work)."""
    root = Path(app.config["INTAKE_UPLOAD_DIR"])
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.relative_to(root).parts[0].startswith(".")}


def _wipe_pictures(app: Flask) -> None:
    shutil.rmtree(app.config["INTAKE_UPLOAD_DIR"])
    with app.app_context():
        db.session.execute(text("DELETE FROM card_images"))
        db.session.commit()


def members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}


def database_of(archive: Path, folder: Path) -> Path:
    path = folder / f"{archive.stem}-intake.db"
    path.write_bytes(members(archive)["intake.db"])
    return path


def _backup(runner, target: Path) -> dict:
    made = runner.invoke(cli, ["backup", "--output", str(target), "--json"])
    assert made.exit_code == 0, made.output
    return json.loads(made.output)


def untouched(app: Flask) -> Callable[[], None]:
    """A check that nothing was replaced: rows (but audit), pictures, no
    before-restore backup, no work folders left behind."""
    rows, files = checksums(app), pictures(app)

    def check() -> None:
        after = checksums(app)
        assert {t: v for t, v in after.items() if t != "audit_events"} == \
            {t: v for t, v in rows.items() if t != "audit_events"}
        assert pictures(app) == files
        assert not list((Path(app.instance_path) / "backups").glob("intake-before-restore-*"))
        uploads = Path(app.config["INTAKE_UPLOAD_DIR"])
        assert not [p for p in uploads.iterdir() if p.name.startswith(".")] if uploads.exists() else True
        assert not list(Path(app.instance_path).glob(".*before-restore"))
    return check




@sqlite_only
def test_round_trip_loses_nothing(app, runner, backup_office, cards, tmp_path):
    before = checksums(app)
    audit_before = audit_rows(app)
    files_before = pictures(app)
    target = tmp_path / "nightly.tar"
    info = _backup(runner, target)
    assert Path(info["path"]) == target and info["sha256"] == hashlib.sha256(target.read_bytes()).hexdigest()
    assert info["database"] == "sqlite" and info["pictures"] == 5 == len(files_before)
    assert target.stat().st_mode & 0o077 == 0  # owner only: it holds every chart

    inside = members(target)
    body = inside.pop("manifest.json")
    manifest = json.loads(body)
    key = bytes.fromhex((Path(app.instance_path) / "backup.key").read_text().strip())
    assert inside.pop("manifest.sig").decode() == hmac.new(
        key, b"backup-manifest\0" + body, "sha256").hexdigest()
    assert manifest["database"] == {"kind": "sqlite", "revision": info["revision"]}
    assert manifest["audit_head"]["seq"] == len(audit_before)
    assert {f["path"]: f["sha256"] for f in manifest["files"]} == \
        {name: hashlib.sha256(data).hexdigest() for name, data in inside.items()}
    assert {n.removeprefix("uploads/"): d for n, d in inside.items() if n != "intake.db"} == files_before

    _change_everything(app, backup_office)
    _wipe_pictures(app)
    changed = checksums(app)
    assert changed["patients"] != before["patients"] and changed["payments"][0] == 1

    refused = runner.invoke(cli, ["restore", str(target)])
    assert refused.exit_code == 1 and "--yes" in refused.output and "5 picture(s)" in refused.output
    assert checksums(app)["patients"] == changed["patients"] and pictures(app) == {}

    restored = runner.invoke(cli, ["restore", str(target), "--yes"])
    assert restored.exit_code == 0, restored.output
    assert "Audit chain intact" in restored.output
    after = checksums(app)
    for table, figures in before.items():
        if table != "audit_events":
            assert after[table] == figures, table
    assert pictures(app) == files_before
    audit_after = audit_rows(app)
    assert audit_after[:len(audit_before)] == audit_before  # every row, byte for byte
    with app.app_context():
        actions = db.session.execute(db.select(AuditEvent.action).where(
            AuditEvent.seq > len(audit_before)).order_by(AuditEvent.seq)).scalars().all()
    assert actions == ["system.restore"]  # the backup's own row was written after the copy
    verify = runner.invoke(cli, ["audit", "verify"])
    assert verify.exit_code == 0 and "1 restore(s) recorded" in verify.output, verify.output

    # The state before the restore was backed up first, pictures (none) and all.
    saved = list((Path(app.instance_path) / "backups").glob("intake-before-restore-*.tar"))
    assert len(saved) == 1 and saved[0].stat().st_mode & 0o077 == 0
    assert [n for n in members(saved[0]) if n.startswith("uploads/")] == []
    with sqlite3.connect(database_of(saved[0], tmp_path)) as conn:
        assert conn.execute("SELECT count(*) FROM payments").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM patients").fetchone()[0] == 3
    conn.close()


@needs_tools
def test_restore_brings_the_card_pictures_back_and_they_are_served(
        app, runner, desk, cards, tmp_path):
    """Both databases: back up, lose the pictures and their rows, restore:
    every picture byte-identical to what was uploaded and served again."""
    target = tmp_path / "with-pictures.tar"
    assert _backup(runner, target)["pictures"] == 5
    _wipe_pictures(app)
    for card_id, (patient_id, _) in cards.items():
        assert _served(desk, patient_id, card_id) is None
    restored = runner.invoke(cli, ["restore", str(target), "--yes"])
    assert restored.exit_code == 0, restored.output
    for card_id, (patient_id, data) in cards.items():
        assert _served(desk, patient_id, card_id) == data
    with app.app_context():
        for card in db.session.execute(db.select(CardImage)).scalars():
            path = Path(app.config["INTAKE_UPLOAD_DIR"]) / "cards" / card.stored_name
            assert hashlib.sha256(path.read_bytes()).hexdigest() == card.sha256
        db.session.rollback()
    assert (Path(app.config["INTAKE_UPLOAD_DIR"]) / "kiosk" / "draft-card.jpg").is_file()
    assert runner.invoke(cli, ["audit", "verify"]).exit_code == 0


@needs_tools
def test_default_backup_goes_to_instance_backups_and_is_audited(app, runner, backup_office):
    first = runner.invoke(cli, ["backup"])
    second = runner.invoke(cli, ["backup"])
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    files = sorted((Path(app.instance_path) / "backups").glob("intake-*.tar"))
    assert len(files) == 2 and all(f.name.endswith("Z.tar") or "Z-" in f.name for f in files)
    assert "0 picture(s)" in first.output
    with app.app_context():
        rows = db.session.execute(db.select(AuditEvent).filter_by(action="system.backup")).scalars().all()
        assert len(rows) == 2 and rows[0].actor == "cli:backup" and "sha256=" in rows[0].detail
        db.session.rollback()
    exists = runner.invoke(cli, ["backup", "--output", str(files[0])])
    assert exists.exit_code == 1 and "already exists" in exists.output
    inside = runner.invoke(cli, ["backup", "--output", str(Path(app.config["INTAKE_UPLOAD_DIR"]) / "b.tar")])
    assert inside.exit_code == 1 and "inside the uploads folder" in inside.output


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
            target = tmp_path / f"busy-{n}.tar"
            result = runner.invoke(cli, ["backup", "--output", str(target)])
            assert result.exit_code == 0, result.output
            copies.append(target)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not errors, errors
    for copy in copies:
        restored_app = _app_on(database_of(copy, tmp_path), tmp_path)
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


def _archive(path: Path, files: dict[str, bytes], manifest: dict | None = None,
             extra: Callable[[tarfile.TarFile], None] | None = None) -> Path:
    """A hand-made archive; the manifest lists `files` unless given. Signed
    with the instance's backup key (the checks past the signature under test)."""
    if manifest is None:
        manifest = json.loads(files.pop("manifest.json"))
    body = json.dumps(manifest).encode()
    key = bytes.fromhex((path.parent / "backup.key").read_text().strip())
    signature = hmac.new(key, b"backup-manifest\0" + body, "sha256").hexdigest().encode()
    with tarfile.open(path, "w") as tar:
        for name, data in {**files, "manifest.json": body, "manifest.sig": signature}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if extra:
            extra(tar)
    return path


def _refused(runner, cases: dict[Path, str]) -> None:
    for path, words in cases.items():
        for args in ([], ["--yes"]):
            result = runner.invoke(cli, ["restore", str(path), *args])
            assert result.exit_code == 1, (path, result.output)
            assert words in result.output, (path, result.output)


@sqlite_only
def test_restore_refuses_files_that_are_not_good_backups(app, runner, backup_office, tmp_path):
    good = tmp_path / "good.tar"
    _backup(runner, good)
    check = untouched(app)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE notes (id INTEGER)").connection.close()
    old = database_of(good, tmp_path)
    with sqlite3.connect(old) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0004_kiosk'")
    conn.close()
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(members(good)["intake.db"])
    data = bytearray(damaged.read_bytes())
    page = 4096
    for offset in range(2 * page, len(data) - page, page):  # scribble over b-tree pages
        data[offset:offset + 64] = b"\xff" * 64
    damaged.write_bytes(bytes(data))
    old_archive = _archive(tmp_path / "old.tar", dict(members(good), **{"intake.db": old.read_bytes()}),
                           {**json.loads(members(good)["manifest.json"]), "files": [
                               {"path": "intake.db", "bytes": old.stat().st_size,
                                "sha256": hashlib.sha256(old.read_bytes()).hexdigest()}]})
    _refused(runner, {
        junk: "not an intake backup", other: "not signed", old: "not signed", damaged: "not signed",
        old_archive: "old.tar:intake.db is at migration 0004_kiosk",
        tmp_path / "missing.db": "does not exist",
    })
    check()


@needs_tools
def test_restore_refuses_an_altered_or_foreign_archive(app, runner, backup_office, cards, tmp_path):
    """Every member is checked against the manifest, nothing unlisted or
    outside the archive's own folders is accepted: before anything is replaced."""
    good = tmp_path / "good.tar"
    _backup(runner, good)
    check = untouched(app)
    inside = members(good)
    manifest = json.loads(inside["manifest.json"])
    a_picture = next(n for n in inside if n.startswith("uploads/cards/"))
    other_kind = "postgresql" if manifest["database"]["kind"] == "sqlite" else "sqlite"

    def link(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo("uploads/cards/evil.jpg")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info)

    altered = dict(inside, **{a_picture: inside[a_picture][:-1] + b"\x00"})
    unlisted = dict(inside, **{"uploads/cards/extra.jpg": b"x"})
    missing = {k: v for k, v in inside.items() if k != a_picture}
    no_manifest = tmp_path / "no-manifest.tar"
    with tarfile.open(no_manifest, "w") as tar:
        tar.add(good, arcname="intake.db")
    cut = tmp_path / "cut.tar"
    cut.write_bytes(good.read_bytes()[:len(good.read_bytes()) // 2])
    _refused(runner, {
        _archive(tmp_path / "altered.tar", altered): f"{a_picture} does not match the manifest",
        _archive(tmp_path / "unlisted.tar", unlisted): "uploads/cards/extra.jpg, which its manifest does not list",
        _archive(tmp_path / "missing.tar", missing, manifest): f"is missing {a_picture}",
        _archive(tmp_path / "escape.tar", {**inside, "../escape.jpg": b"x"}): "'../escape.jpg'",
        _archive(tmp_path / "absolute.tar", {**inside, "/tmp/abs.jpg": b"x"}): "'/tmp/abs.jpg'",
        _archive(tmp_path / "link.tar", dict(inside), extra=link): "not a plain file",
        _archive(tmp_path / "wrong-version.tar", dict(inside),
                 {**manifest, "version": 99}): "backup format 99",
        _archive(tmp_path / "other-kind.tar", dict(inside), {**manifest, "database": {
            "kind": other_kind, "revision": "x"}}): "has no database",
        no_manifest: "has no manifest.json",
        cut: "damaged or cut short",
    })
    assert not (tmp_path / "escape.jpg").exists() and not (tmp_path.parent / "escape.jpg").exists()
    check()


@sqlite_only
def test_an_old_single_file_backup_is_refused(app, runner, backup_office, cards, tmp_path):
    """Issue 19 item 3: unsigned, so no special path; the message says how by hand."""
    _backup(runner, tmp_path / "x.tar")
    old_style = database_of(tmp_path / "x.tar", tmp_path)  # what `intake backup` used to write
    check = untouched(app)
    for args in ([], ["--yes"]):
        refused = runner.invoke(cli, ["restore", str(old_style), *args])
        assert refused.exit_code == 1 and "an old single-file backup" in refused.output
        assert "not signed" in refused.output and "intake audit anchor --restored" in refused.output
    check()


@needs_tools
def test_a_failed_restore_leaves_the_pictures_and_the_database(app, runner, cards, tmp_path,
                                                                monkeypatch):
    target = tmp_path / "good.tar"
    _backup(runner, target)
    _wipe_pictures(app)
    (Path(app.config["INTAKE_UPLOAD_DIR"]) / "cards").mkdir(parents=True)
    (Path(app.config["INTAKE_UPLOAD_DIR"]) / "cards" / "newer.jpg").write_bytes(b"newer")
    check = untouched(app)

    def fails(found: object) -> None:
        raise backup_service.BackupError("pg_restore failed (exit 1): no space left.")

    monkeypatch.setattr(backup_service, "_load", fails)
    result = runner.invoke(cli, ["restore", str(target), "--yes"])
    assert result.exit_code == 1 and "Nothing was restored" in result.output, result.output
    saved = list((Path(app.instance_path) / "backups").glob("intake-before-restore-*.tar"))
    assert len(saved) == 1 and "uploads/cards/newer.jpg" in members(saved[0])
    saved[0].unlink()
    check()


@sqlite_only
def test_a_restored_database_that_fails_its_check_is_put_back(app, runner, backup_office, tmp_path,
                                                              monkeypatch):
    target = tmp_path / "good.tar"
    _backup(runner, target)
    _change_everything(app, backup_office)
    check = untouched(app)
    real = backup_service._load_sqlite
    calls: list[Path] = []

    def loads_then_fails(source: Path, live: Path) -> None:
        calls.append(source)
        real(source, live)
        if len(calls) == 1:
            raise backup_service.BackupError("The restored database fails integrity_check.")

    monkeypatch.setattr(backup_service, "_load_sqlite", loads_then_fails)
    result = runner.invoke(cli, ["restore", str(target), "--yes"])
    assert result.exit_code == 1 and "Nothing was restored" in result.output, result.output
    assert len(calls) == 2  # the restored copy, then the database as it was
    for saved in (Path(app.instance_path) / "backups").glob("intake-before-restore-*.tar"):
        saved.unlink()
    check()


def test_postgres_without_pg_dump_says_what_to_do(make_app, tmp_path, monkeypatch):
    app = make_app(SQLALCHEMY_DATABASE_URI="postgresql+psycopg://intake:s3cret-pw@db.example:5433/office")
    runner = app.test_cli_runner()
    monkeypatch.setattr(backup_service.shutil, "which", lambda name: None)
    result = runner.invoke(cli, ["backup"])
    assert result.exit_code == 1 and "s3cret" not in result.output
    assert "pg_dump is not installed" in result.output and "pg_dump --format=custom" in result.output
    assert "db.example" in result.output and "5433" in result.output and "office" in result.output
    assert app.config["INTAKE_UPLOAD_DIR"] in result.output  # the pictures go with it
    bare = tmp_path / "x.dump"
    bare.write_bytes(b"PGDMP" + b"\0" * 100)
    result = runner.invoke(cli, ["restore", str(bare), "--yes"])
    assert result.exit_code == 1 and "s3cret" not in result.output
    assert "bare pg_dump file" in result.output and "pg_restore --clean" in result.output
    assert "intake audit anchor --restored" in result.output
    with app.app_context():
        db.engine.dispose()


def test_postgres_pg_dump_failure_is_reported_without_the_password(make_app, tmp_path):
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    app = make_app(SQLALCHEMY_DATABASE_URI="postgresql+psycopg://intake:s3cret-pw@127.0.0.1:1/office")
    result = app.test_cli_runner().invoke(cli, ["backup", "--output", str(tmp_path / "b.tar")])
    assert result.exit_code == 1 and "cannot be reached" in result.output, result.output
    assert "port 1" in result.output
    assert "s3cret" not in result.output
    assert not list(tmp_path.glob("b.tar*")) and not list(tmp_path.glob(".intake-backup-*"))
    with app.app_context():
        db.engine.dispose()


def test_postgres_url_options_reach_pg_dump(make_app, monkeypatch):
    """sslmode and the other libpq keywords in DATABASE_URL go to the tools
    in a connection string, so a backup connects the way the app does."""
    app = make_app(SQLALCHEMY_DATABASE_URI="postgresql+psycopg://intake:s3cret-pw@db.example:5433/"
                                           "office?sslmode=verify-full&sslrootcert=/etc/ssl/it's.pem")
    monkeypatch.setattr(backup_service.shutil, "which", lambda name: None)
    result = app.test_cli_runner().invoke(cli, ["backup"])
    assert result.exit_code == 1 and "s3cret" not in result.output
    assert "sslmode=" in result.output and "verify-full" in result.output, result.output
    with app.app_context():
        args, env = backup_service._pg_connection()
        assert args[-2:] == ["--dbname", "dbname='office' sslmode='verify-full' "
                                         "sslrootcert='/etc/ssl/it\\'s.pem'"]
        assert env["PGPASSWORD"] == "s3cret-pw"
        db.engine.dispose()


@postgres_only
@needs_tools
def test_postgres_backup_with_url_options_records_its_audit_head(make_app, tmp_path):
    """Options in the URL are passed on (a wrong one fails the backup), and
    the manifest names the audit head of the dump's own snapshot."""
    from intake.services import audit

    app = make_app(SQLALCHEMY_DATABASE_URI=f"{PG_URL}?sslmode=disable&application_name=intake-test")
    with app.app_context():
        audit.record("test.before_backup")
        db.session.commit()
    runner = app.test_cli_runner()
    target = tmp_path / "office.tar"
    result = runner.invoke(cli, ["backup", "--output", str(target)])
    assert result.exit_code == 0, result.output
    with tarfile.open(target) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    with app.app_context():
        head = db.session.execute(text("SELECT seq, row_hash FROM audit_events "
                                       "WHERE action != 'system.backup' ORDER BY seq DESC LIMIT 1")).one()
        db.session.rollback()
    assert manifest["audit_head"] == {"seq": head.seq, "row_hash": head.row_hash}
    bad = make_app(SQLALCHEMY_DATABASE_URI=f"{PG_URL}?sslmode=no-such-mode")
    with bad.app_context():
        with pytest.raises(backup_service.BackupError):
            backup_service.backup(tmp_path / "bad.tar")
        db.engine.dispose()


@postgres_only
@needs_tools
def test_postgres_round_trip(app, runner, backup_office, cards, tmp_path):
    before, files = checksums(app), pictures(app)
    target = tmp_path / "office.tar"
    info = _backup(runner, target)
    assert info["database"] == "postgresql" and "database.dump" in members(target)
    _change_everything(app, backup_office)
    _wipe_pictures(app)
    assert checksums(app) != before
    restored = runner.invoke(cli, ["restore", str(target), "--yes"])
    assert restored.exit_code == 0, restored.output
    after = checksums(app)
    assert {t: v for t, v in after.items() if t != "audit_events"} == \
        {t: v for t, v in before.items() if t != "audit_events"}
    assert pictures(app) == files
    assert runner.invoke(cli, ["audit", "verify"]).exit_code == 0
    with app.app_context():  # the append-only trigger came back with the schema
        with pytest.raises(Exception, match="append-only"):
            db.session.execute(text("DELETE FROM audit_events"))
        db.session.rollback()
