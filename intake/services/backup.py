"""Backups and restores: the database and the uploaded pictures together.

A backup is one tar file, readable by its owner only:

    intake.db | database.dump    the database (SQLite copy, or pg_dump custom format)
    uploads/...                  every file under INTAKE_UPLOAD_DIR (card and kiosk pictures)
    manifest.json                format, time, database kind and migration, and the
                                 size and SHA-256 of every other member

SQLite is copied with SQLite's online backup API (one consistent snapshot,
writers not blocked); PostgreSQL with `pg_dump` (the password goes in
PGPASSWORD, never on the command line). The database is copied first and
the pictures after: a picture is written before the row that names it is
committed, so every picture the copied database names is in the backup.

`restore()` unpacks the archive into a work folder inside the uploads folder
and checks it whole (every member against the manifest, nothing unlisted,
the database readable and at this code's migration head) before anything
is replaced. Then it makes a backup of the current state
(`instance/backups/intake-before-restore-<time>.tar`), moves the restored
pictures in with renames (inside one file system, so a shared, mounted
uploads folder works) and loads the database: SQLite through the backup API
into the live file, so open connections see the restored data instead of a
file swapped under them; PostgreSQL with `pg_restore --single-transaction`.
If loading fails the pictures are moved back: nothing is left half-restored.

Old single-file SQLite backups (before pictures were included) still restore;
the pictures are then left as they are.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shlex
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any

from flask import current_app
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError

from intake.extensions import db

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"
REQUIRED_TABLES = ("alembic_version", "audit_events", "patients", "users")
# Read from a copied SQLite file, or from pg_dump's snapshot, for the checks and the manifest.
_REVISION_SQL = "SELECT version_num FROM alembic_version"
_AUDIT_HEAD_SQL = "SELECT seq, row_hash FROM audit_events ORDER BY seq DESC LIMIT 1"

ARCHIVE_FORMAT = "intake-backup"
ARCHIVE_VERSION = 1
MANIFEST = "manifest.json"
DATABASE_MEMBER = {"sqlite": "intake.db", "postgresql": "database.dump"}
UPLOADS = "uploads"


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why."""


@dataclass
class BackupResult:
    path: Path
    size_bytes: int
    sha256: str
    revision: str | None  # None only for an unchecked copy of a damaged database
    database: str  # "sqlite" or "postgresql"
    pictures: int  # files from the uploads folder


@dataclass
class BackupInfo:
    """What a checked backup holds."""
    path: Path
    database: str
    revision: str
    pictures: int | None  # None: an old single-file backup, without pictures
    created_at: str | None = None


@dataclass
class RestoreResult:
    restored_from: Path
    previous_saved_as: Path
    revision: str
    pictures: int | None  # None: the pictures were left as they were


def database_url() -> URL:
    return db.engine.url


def backend() -> str:
    return "sqlite" if database_url().get_backend_name() == "sqlite" else "postgresql"


def is_sqlite() -> bool:
    return backend() == "sqlite"


def sqlite_path() -> Path:
    database = database_url().database
    if not database or database == ":memory:":
        raise BackupError("The database is in memory; there is nothing to back up.")
    return Path(database).resolve()


def upload_dir() -> Path:
    return Path(current_app.config["INTAKE_UPLOAD_DIR"]).resolve()


def migration_head() -> str:
    from alembic.script import ScriptDirectory

    config = current_app.extensions["migrate"].migrate.get_config()
    head = ScriptDirectory.from_config(config).get_current_head()
    if head is None:
        raise BackupError("No migrations found.")
    return head


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _unique(folder: Path, stem: str, suffix: str) -> Path:
    path = folder / f"{stem}-{_stamp()}{suffix}"
    n = 2
    while path.exists():
        path = folder / f"{stem}-{_stamp()}-{n}{suffix}"
        n += 1
    return path


def default_backup_path(stem: str = "intake") -> Path:
    return _unique(Path(current_app.instance_path) / "backups", stem, ".tar")


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


# ---- the database ------------------------------------------------------------

def _copy(source: Path, target: Path) -> None:
    """One consistent snapshot of `source` into `target`, in rollback-journal
    mode so the copy is a single self-contained file."""
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


def check_file(path: Path, shown_as: Path | None = None) -> str:
    """Why `path` is not an intake SQLite database at this migration head, or
    its revision when it is (raises BackupError). Messages name `shown_as`."""
    name = shown_as or path
    if not path.is_file():
        raise BackupError(f"{name} does not exist or is not a file.")
    with path.open("rb") as fh:
        if fh.read(16) != SQLITE_MAGIC:
            raise BackupError(f"{name} is not an SQLite database.")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise BackupError(f"{name} cannot be opened: {type(exc).__name__}.") from None
    try:
        integrity = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        if integrity != ["ok"]:
            raise BackupError(f"{name} is damaged: PRAGMA integrity_check found "
                              f"{len(integrity)} problem(s).")
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = [t for t in REQUIRED_TABLES if t not in tables]
        if missing:
            raise BackupError(f"{name} is not an intake database (no table {', '.join(missing)}).")
        versions = [r[0] for r in conn.execute(_REVISION_SQL)]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{name} is damaged or not a database ({type(exc).__name__}).") from None
    finally:
        conn.close()
    _same_revision(name, versions)
    return versions[0]


def _same_revision(name: Path, versions: list[str]) -> None:
    head = migration_head()
    if versions != [head]:
        found = ", ".join(versions) or "none"
        raise BackupError(f"{name} is at migration {found}, this code at {head}: restore it with "
                          f"the intake version that made it, or upgrade a copy first.")


def _load_sqlite(source: Path, live: Path) -> None:
    """The backup API from `source` into the live file: one write transaction,
    after which other connections see the new pages."""
    db.session.remove()
    db.engine.dispose()  # no pooled connection of ours holds the old pages
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(live, timeout=30)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode = WAL")
            if [r[0] for r in dst.execute("PRAGMA integrity_check")] != ["ok"]:
                raise BackupError("The restored database fails integrity_check.")
        finally:
            dst.close()
    finally:
        src.close()


def _libpq_value(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _pg_connection() -> tuple[list[str], dict[str, str]]:
    """libpq arguments from the URL, and the environment carrying the password.
    The URL's options (`?sslmode=verify-full&sslrootcert=...`) are libpq's
    own keywords, as psycopg reads them: they go with the database name as a
    connection string, so the tools connect the way the app does."""
    url = database_url()
    args = []
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    dbname = url.database or ""
    if url.query:
        options = {key: value[-1] if isinstance(value, tuple) else value
                   for key, value in url.query.items()}
        dbname = " ".join(f"{key}={_libpq_value(value)}"
                          for key, value in {"dbname": dbname, **options}.items())
    args += ["--dbname", dbname]
    env = {**os.environ, "PGCONNECT_TIMEOUT": os.environ.get("PGCONNECT_TIMEOUT", "15")}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return args, env


def _need_tool(name: str, by_hand: str) -> None:
    if shutil.which(name) is None:
        raise BackupError(f"{name} is not installed here (Debian: postgresql-client, at the "
                          f"server's major version). By hand: {by_hand}")


def _pg_tool(name: str, args: list[str], by_hand: str, *, connect: bool = True) -> None:
    _need_tool(name, by_hand)
    conn, env = _pg_connection()
    done = subprocess.run([name, *(conn if connect else []), *args], env=env, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines() or ["no message"]
        first_error = next((line for line in said if "error:" in line), said[-1])
        raise BackupError(f"{name} failed (exit {done.returncode}): {first_error.strip()}")


def _pg_by_hand(dump: str, tool: str) -> str:
    conn, _ = _pg_connection()
    if tool == "pg_dump":
        command = ["pg_dump", "--format=custom", "--no-owner", *conn, "--file", dump]
        then = f"and copy {upload_dir()} (the card pictures) with it."
    else:
        command = ["pg_restore", *PG_RESTORE_OPTIONS, *conn, dump]
        then = ("with the app stopped; then put the pictures back in "
                f"{upload_dir()} and run `intake audit anchor --restored`.")
    return f"{shlex.join(command)} (password from ~/.pgpass or PGPASSWORD), {then}"


PG_RESTORE_OPTIONS = ["--clean", "--if-exists", "--no-owner", "--single-transaction",
                      "--exit-on-error"]


def _head(row: Any) -> dict[str, Any] | None:
    return {"seq": row[0], "row_hash": row[1]} if row else None


def _snapshot(work: Path, check: bool) -> tuple[Path, str | None, dict[str, Any] | None]:
    """The database copied into `work`: (file, revision, audit head or None).
    Without `check` a damaged database is copied as it is (before a restore)."""
    if is_sqlite():
        target = work / DATABASE_MEMBER["sqlite"]
        try:
            _copy(sqlite_path(), target)
        except sqlite3.Error as exc:
            raise BackupError(f"{sqlite_path()} cannot be copied ({type(exc).__name__}): move it "
                              f"aside by hand if it is beyond saving.") from None
        if check:
            check_file(target)
        conn = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
        try:
            revision = conn.execute(_REVISION_SQL).fetchone()[0]
            head = conn.execute(_AUDIT_HEAD_SQL).fetchone()
        except (sqlite3.Error, TypeError):
            return target, None, None  # unreadable: only possible unchecked
        finally:
            conn.close()
        return target, revision, _head(head)
    target = work / DATABASE_MEMBER["postgresql"]
    # pg_dump copies a snapshot this transaction exports, so the migration
    # and the audit head read here are the dump's own.
    by_hand = _pg_by_hand("intake.dump", "pg_dump")
    _need_tool("pg_dump", by_hand)
    try:
        conn = db.engine.connect()
    except OperationalError as exc:
        said = str(exc.orig).strip().splitlines() or ["no message"]
        raise BackupError(f"The database cannot be reached for the backup: {said[0]}") from None
    with conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
            revision = conn.exec_driver_sql(_REVISION_SQL).scalar()
            head = conn.exec_driver_sql(_AUDIT_HEAD_SQL).first()
            _pg_tool("pg_dump", ["--format=custom", "--no-owner", f"--snapshot={snapshot}",
                                 "--file", str(target)], by_hand)
    return target, revision, _head(head)


# ---- the archive ---------------------------------------------------------------

def _upload_files(root: Path) -> Iterator[tuple[str, Path]]:
    """(member name, file) for every regular file under the uploads folder,
    sorted; top-level names starting with "." are restore work, not data."""
    if not root.is_dir():
        return
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        if here == root:
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            files = [f for f in files if not f.startswith(".")]
        dirs.sort()
        for name in sorted(files):
            path = here / name
            if path.is_file() and not path.is_symlink():
                yield f"{UPLOADS}/{path.relative_to(root).as_posix()}", path


def _member(name: str, size: int, mtime: float) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, int(mtime), 0o600
    return info


def _write_archive(target: Path, database: Path, manifest: dict[str, Any], uploads: Path) -> int:
    """The database, then the pictures, then the manifest listing them all;
    returns how many pictures."""
    files = manifest["files"] = []
    with target.open("wb") as fh, \
            tarfile.open(fileobj=fh, mode="w", format=tarfile.PAX_FORMAT) as tar:
        name = DATABASE_MEMBER[manifest["database"]["kind"]]
        size = database.stat().st_size
        files.append({"path": name, "bytes": size, "sha256": _sha256(database)})
        with database.open("rb") as stream:
            tar.addfile(_member(name, size, database.stat().st_mtime), stream)
        for name, path in _upload_files(uploads):
            try:
                data, mtime = path.read_bytes(), path.stat().st_mtime
            except FileNotFoundError:
                continue  # deleted since the listing (an expired kiosk picture)
            files.append({"path": name, "bytes": len(data),
                          "sha256": hashlib.sha256(data).hexdigest()})
            tar.addfile(_member(name, len(data), mtime), io.BytesIO(data))
        body = json.dumps(manifest, indent=1, sort_keys=True).encode()
        tar.addfile(_member(MANIFEST, len(body), datetime.now().timestamp()), io.BytesIO(body))
        fh.flush()
        os.fsync(fh.fileno())
    return len(files) - 1


def backup(output: Path | None = None, *, check: bool = True) -> BackupResult:
    """The database and every uploaded picture into one tar file at `output`
    (default instance/backups/intake-<UTC time>.tar), recorded in the audit
    log (the caller commits). `check=False` copies a damaged database too."""
    from intake.services import audit

    target = (Path(output) if output else default_backup_path()).resolve()
    uploads = upload_dir()
    if is_sqlite() and target == sqlite_path():
        raise BackupError("The backup cannot overwrite the live database.")
    if uploads in target.parents:
        raise BackupError(f"The backup cannot go inside the uploads folder {uploads}.")
    if target.exists():
        raise BackupError(f"{target} already exists; choose another file.")
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    _private_file(partial)
    try:
        with tempfile.TemporaryDirectory(prefix=".intake-backup-", dir=target.parent) as work:
            database, revision, head = _snapshot(Path(work), check)
            manifest = {"format": ARCHIVE_FORMAT, "version": ARCHIVE_VERSION,
                        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                        "database": {"kind": backend(), "revision": revision},
                        "audit_head": head}
            pictures = _write_archive(partial, database, manifest, uploads)
        partial.rename(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    result = BackupResult(target, target.stat().st_size, _sha256(target), revision, backend(),
                          pictures)
    audit.record("system.backup", object_type="database",
                 detail=f"file={target.name} bytes={result.size_bytes} pictures={pictures} "
                        f"sha256={result.sha256[:16]}")
    return result


# ---- checking and unpacking ----------------------------------------------------------

@dataclass
class _Unpacked:
    database: Path
    kind: str
    revision: str
    uploads: Path | None  # None: an old single-file backup
    pictures: int | None
    created_at: str | None


def _member_path(archive: Path, name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    allowed_top = {MANIFEST, *DATABASE_MEMBER.values()}
    if (path.is_absolute() or not path.parts or any(p in ("", ".", "..") for p in path.parts)
            or name != path.as_posix()
            or not (name in allowed_top or (path.parts[0] == UPLOADS and len(path.parts) > 1))):
        raise BackupError(f"{archive} holds {name!r}, which no intake backup has: refused.")
    return path


def _unpack_archive(archive: Path, work: Path) -> _Unpacked:
    found: dict[str, tuple[int, str]] = {}
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                path = _member_path(archive, member.name)
                if not member.isfile():
                    raise BackupError(f"{archive} holds {member.name!r}, which is not a plain "
                                      f"file: refused.")
                if member.name in found:
                    raise BackupError(f"{archive} holds {member.name!r} twice: refused.")
                target = work.joinpath(*path.parts)
                target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                digest, size = hashlib.sha256(), 0
                source = tar.extractfile(member)
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as out:
                    for block in iter(partial(source.read, 1 << 20), b""):
                        digest.update(block)
                        size += len(block)
                        out.write(block)
                os.utime(target, (member.mtime, member.mtime))
                found[member.name] = (size, digest.hexdigest())
    except (tarfile.TarError, EOFError) as exc:
        raise BackupError(f"{archive} is damaged or cut short ({type(exc).__name__}).") from None
    if MANIFEST not in found:
        raise BackupError(f"{archive} has no {MANIFEST}: not an intake backup, or cut short.")
    try:
        manifest = json.loads((work / MANIFEST).read_text(encoding="utf-8"))
        listed = {f["path"]: (f["bytes"], f["sha256"]) for f in manifest["files"]}
        kind, revision = manifest["database"]["kind"], manifest["database"]["revision"]
        ok = manifest["format"] == ARCHIVE_FORMAT and kind in DATABASE_MEMBER
    except (ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        raise BackupError(f"{archive}: {MANIFEST} is not an intake backup manifest.")
    if manifest["version"] != ARCHIVE_VERSION:
        raise BackupError(f"{archive} is backup format {manifest['version']}; this code reads "
                          f"format {ARCHIVE_VERSION}.")
    for name, (size, sha) in listed.items():
        if name not in found:
            raise BackupError(f"{archive} is missing {name}, which its manifest lists.")
        if found[name] != (size, sha):
            raise BackupError(f"{archive}: {name} does not match the manifest (size or SHA-256): "
                              f"damaged or altered.")
    unlisted = sorted(set(found) - set(listed) - {MANIFEST})
    if unlisted:
        raise BackupError(f"{archive} holds {unlisted[0]}, which its manifest does not list.")
    member = DATABASE_MEMBER[kind]
    if member not in listed:
        raise BackupError(f"{archive} has no database ({member}).")
    if kind != backend():
        raise BackupError(f"{archive} is a backup of a {kind} database; this app uses {backend()}.")
    database = work / member
    if kind == "sqlite":
        revision = check_file(database, shown_as=Path(f"{archive}:{member}"))
    else:
        _same_revision(archive, [revision])
        by_hand = (f"tar -xf {archive}, compare the files with manifest.json, then "
                   f"{_pg_by_hand(DATABASE_MEMBER['postgresql'], 'pg_restore')}")
        # A readable custom-format dump; pg_restore is needed for the restore itself anyway.
        _pg_tool("pg_restore", ["--list", str(database)], by_hand, connect=False)
    uploads = work / UPLOADS
    uploads.mkdir(exist_ok=True, mode=0o700)
    pictures = sum(1 for name in listed if name.startswith(f"{UPLOADS}/"))
    return _Unpacked(database, kind, revision, uploads, pictures, manifest.get("created_at"))


def _unpack(file: Path, work: Path) -> _Unpacked:
    if not file.is_file():
        raise BackupError(f"{file} does not exist or is not a file.")
    with file.open("rb") as fh:
        magic = fh.read(16)
    if magic == SQLITE_MAGIC:  # an old single-file backup: the database only
        if not is_sqlite():
            raise BackupError(f"{file} is an SQLite database; this app uses PostgreSQL.")
        return _Unpacked(file, "sqlite", check_file(file), None, None, None)
    if magic.startswith(PG_DUMP_MAGIC):
        raise BackupError(f"{file} is a bare pg_dump file, without pictures. Restore it by hand: "
                          f"{_pg_by_hand(str(file), 'pg_restore')}")
    if not tarfile.is_tarfile(file):
        raise BackupError(f"{file} is not an intake backup (neither a backup archive nor an "
                          f"SQLite database).")
    return _unpack_archive(file, work)


@contextmanager
def _unpacked(file: Path) -> Iterator[_Unpacked]:
    """`file` unpacked and checked in a work folder inside the uploads folder
    (so the pictures can be renamed into place), removed afterwards."""
    uploads = upload_dir()
    uploads.mkdir(parents=True, exist_ok=True, mode=0o700)
    work = Path(tempfile.mkdtemp(prefix=".restore-", dir=uploads))
    try:
        yield _unpack(Path(file).resolve(), work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def check_backup(file: Path) -> BackupInfo:
    """Unpack and check `file` without replacing anything (raises BackupError)."""
    with _unpacked(file) as found:
        return BackupInfo(Path(file), found.kind, found.revision, found.pictures, found.created_at)


# ---- restoring ---------------------------------------------------------------------

class _PictureSwap:
    """Moves the live pictures aside and the restored ones in, by renaming the
    top-level entries of the uploads folder; `undo()` puts them back."""

    def __init__(self, live: Path, restored: Path) -> None:
        self.live, self.restored = live, restored
        self.aside = Path(tempfile.mkdtemp(prefix=".replaced-", dir=live))
        self.moved_out: list[str] = []
        self.moved_in: list[str] = []
        try:
            for entry in sorted(live.iterdir()):
                if not entry.name.startswith("."):
                    entry.rename(self.aside / entry.name)
                    self.moved_out.append(entry.name)
            for entry in sorted(restored.iterdir()):
                entry.rename(live / entry.name)
                self.moved_in.append(entry.name)
        except BaseException:
            self.undo()
            raise

    def undo(self) -> None:
        for name in reversed(self.moved_in):
            (self.live / name).rename(self.restored / name)
        for name in reversed(self.moved_out):
            (self.aside / name).rename(self.live / name)
        shutil.rmtree(self.aside, ignore_errors=True)

    def finish(self) -> None:
        shutil.rmtree(self.aside, ignore_errors=True)  # they are in the before-restore backup


def restore(file: Path) -> RestoreResult:
    """Put back the database and pictures from `file` after checking it whole;
    a backup of the current state is made first. Records the restore in the
    (restored) audit log; the caller commits."""
    from intake.services import audit

    file = Path(file).resolve()
    if is_sqlite() and file == sqlite_path():
        raise BackupError("That is the live database.")
    with _unpacked(file) as found:
        try:
            saved = backup(default_backup_path("intake-before-restore"), check=False).path
        except BackupError as exc:
            raise BackupError(f"The current state could not be saved first, so nothing was "
                              f"restored: {exc}") from None
        db.session.rollback()  # its audit row belongs to the database being replaced
        swap = _PictureSwap(upload_dir(), found.uploads) if found.uploads is not None else None
        try:
            _load(found)
        except BaseException as exc:
            if swap is not None:
                swap.undo()
            if isinstance(exc, BackupError):
                raise BackupError(f"{exc} Nothing was restored; the state before is also in "
                                  f"{saved}.") from None
            raise
        if swap is not None:
            swap.finish()
    audit.record("system.restore", object_type="database",
                 detail=f"file={file.name} previous={saved.name} pictures={found.pictures}")
    return RestoreResult(file, saved, found.revision, found.pictures)


def _load(found: _Unpacked) -> None:
    """Replace the live database with the checked one, all or nothing."""
    if found.kind == "postgresql":
        db.session.remove()
        db.engine.dispose()
        _pg_tool("pg_restore", [*PG_RESTORE_OPTIONS, str(found.database)],
                 _pg_by_hand(str(found.database), "pg_restore"))
        return
    live = sqlite_path()
    # The backup API writes in one transaction; this copy covers the check after it.
    previous = live.with_name(f".{live.name}.before-restore")
    previous.unlink(missing_ok=True)
    _private_file(previous)
    try:
        _copy(live, previous)
        try:
            _load_sqlite(found.database, live)
        except BaseException:
            _load_sqlite(previous, live)
            raise
    finally:
        previous.unlink(missing_ok=True)
