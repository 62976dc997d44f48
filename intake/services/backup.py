"""Backups and restores of the database.

SQLite: `backup()` copies the live database with SQLite's online backup API
(`sqlite3.Connection.backup`), which reads one consistent snapshot while the
app keeps running (WAL: writers are not blocked). `restore()` checks a file
(an SQLite database, `PRAGMA integrity_check` ok, an intake schema at this
code's migration head), copies the live database aside as a `.bak`, then
loads the file into the live database with the same backup API, so open
connections see the restored data instead of a file swapped under them.

PostgreSQL: `pg_dump`/`pg_restore` do this better than we could; the
commands are printed (host, port, user and database from the URL, never the
password).
"""

from __future__ import annotations

import hashlib
import os
import shlex
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from flask import current_app
from sqlalchemy.engine import URL

from intake.extensions import db

SQLITE_MAGIC = b"SQLite format 3\x00"
REQUIRED_TABLES = ("alembic_version", "audit_events", "patients", "users")


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why."""


@dataclass
class BackupResult:
    path: Path
    size_bytes: int
    sha256: str
    revision: str


@dataclass
class RestoreResult:
    restored_from: Path
    previous_saved_as: Path
    revision: str


@dataclass
class PostgresCommands:
    backup: list[str]
    restore: list[str]
    notes: list[str] = field(default_factory=list)


def database_url() -> URL:
    return db.engine.url


def is_sqlite() -> bool:
    return database_url().get_backend_name() == "sqlite"


def sqlite_path() -> Path:
    database = database_url().database
    if not database or database == ":memory:":
        raise BackupError("The database is in memory; there is nothing to back up.")
    return Path(database).resolve()


def migration_head() -> str:
    from alembic.script import ScriptDirectory

    config = current_app.extensions["migrate"].migrate.get_config()
    head = ScriptDirectory.from_config(config).get_current_head()
    if head is None:
        raise BackupError("No migrations found.")
    return head


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def default_backup_path() -> Path:
    folder = Path(current_app.instance_path) / "backups"
    path = folder / f"intake-{_stamp()}.db"
    n = 2
    while path.exists():
        path = folder / f"intake-{_stamp()}-{n}.db"
        n += 1
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _private_file(path: Path) -> None:
    """Backups hold every chart: readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)


def _copy(source: Path, target: Path) -> None:
    """One consistent snapshot of `source` into a new file `target`, in
    rollback-journal mode so the backup is a single self-contained file."""
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)  # all pages in one step: one snapshot, never restarted
            dst.execute("PRAGMA journal_mode = DELETE")
        finally:
            dst.close()
    finally:
        src.close()


def check_file(path: Path) -> str:
    """Why `path` is not an intake database at this migration head, or its
    revision when it is (raises BackupError)."""
    if not path.is_file():
        raise BackupError(f"{path} does not exist or is not a file.")
    with path.open("rb") as fh:
        if fh.read(16) != SQLITE_MAGIC:
            raise BackupError(f"{path} is not an SQLite database.")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise BackupError(f"{path} cannot be opened: {type(exc).__name__}.") from None
    try:
        integrity = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        if integrity != ["ok"]:
            raise BackupError(f"{path} is damaged: PRAGMA integrity_check found {len(integrity)} problem(s).")
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = [t for t in REQUIRED_TABLES if t not in tables]
        if missing:
            raise BackupError(f"{path} is not an intake database (no table {', '.join(missing)}).")
        versions = [r[0] for r in conn.execute("SELECT version_num FROM alembic_version")]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is damaged or not a database ({type(exc).__name__}).") from None
    finally:
        conn.close()
    head = migration_head()
    if versions != [head]:
        found = ", ".join(versions) or "none"
        raise BackupError(f"{path} is at migration {found}, this code at {head}: restore it with "
                          f"the intake version that made it, or upgrade a copy first "
                          f"(INTAKE_DATABASE_URL=sqlite:///COPY intake db upgrade).")
    return head


def backup(output: Path | None = None) -> BackupResult:
    """Copy the live SQLite database to `output` (default a timestamped file
    under instance/backups/), check the copy, and record it in the audit log
    (the caller commits)."""
    from intake.services import audit

    source = sqlite_path()
    target = Path(output) if output else default_backup_path()
    target = target.resolve()
    if target == source:
        raise BackupError("The backup cannot overwrite the live database.")
    if target.exists():
        raise BackupError(f"{target} already exists; choose another file.")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    _private_file(partial)
    try:
        _copy(source, partial)
        revision = check_file(partial)
        partial.rename(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    result = BackupResult(target, target.stat().st_size, _sha256(target), revision)
    audit.record("system.backup", object_type="database",
                 detail=f"file={target.name} bytes={result.size_bytes} sha256={result.sha256[:16]}")
    return result


def restore(file: Path) -> RestoreResult:
    """Replace the live SQLite database's contents with `file` after checking
    it; the live database is first copied to `<db>.<time>.bak` beside it.
    Records the restore in the (restored) audit log; the caller commits."""
    from intake.services import audit

    file = Path(file).resolve()
    live = sqlite_path()
    if file == live:
        raise BackupError("That is the live database.")
    revision = check_file(file)
    saved = live.with_name(f"{live.name}.{_stamp()}.bak")
    n = 2
    while saved.exists():
        saved = live.with_name(f"{live.name}.{_stamp()}-{n}.bak")
        n += 1
    _private_file(saved)
    _copy(live, saved)

    db.session.remove()
    db.engine.dispose()  # no pooled connection of ours holds the old pages
    src = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(live, timeout=30)
        try:
            src.backup(dst)  # takes the write lock; other connections then see the new pages
            dst.execute("PRAGMA journal_mode = WAL")
            problems = [r[0] for r in dst.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise BackupError(f"The restored database fails integrity_check; the previous one "
                                  f"is in {saved}.")
        finally:
            dst.close()
    finally:
        src.close()
    audit.record("system.restore", object_type="database",
                 detail=f"file={file.name} previous={saved.name}")
    return RestoreResult(file, saved, revision)


def postgres_commands(output: Path | None = None) -> PostgresCommands:
    """The pg_dump / pg_restore commands for this database, without the
    password (libpq takes it from ~/.pgpass or PGPASSWORD)."""
    url = database_url()
    target = output or Path(current_app.instance_path) / "backups" / f"intake-{_stamp()}.dump"
    conn = []
    if url.host:
        conn += ["--host", url.host]
    if url.port:
        conn += ["--port", str(url.port)]
    if url.username:
        conn += ["--username", url.username]
    conn += ["--dbname", url.database or ""]
    return PostgresCommands(
        backup=["pg_dump", "--format=custom", "--no-owner", *conn, "--file", str(target)],
        restore=["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
                 "--exit-on-error", *conn, str(target)],
        notes=["The password is not shown: put it in ~/.pgpass (mode 0600) or PGPASSWORD.",
               "Stop the app servers and workers before pg_restore, then run "
               "`intake db current` (must show the head) and `intake audit verify`."],
    )


def shell(command: list[str]) -> str:
    return shlex.join(command)
