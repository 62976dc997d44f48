"""The `intake` console script: a Flask CLI group over `create_app`.
Commands call the same services as the views and commit explicitly."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from intake import create_app
from intake.codes.cli import codes_cli
from intake.fhir.cli import fhir_cli
from intake.x12_cli import x12_cli
from intake.extensions import db
from intake.models.user import Role
from intake.services import FieldErrors, audit

if TYPE_CHECKING:
    from intake.services.audit import ChainReport


def _create_app() -> object:
    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True,
             load_dotenv=False, set_debug_flag=False)
def cli() -> None:
    """intake: medical-office patient intake."""


def _fail(exc: FieldErrors) -> None:
    db.session.rollback()
    for field, messages in exc.errors.items():
        for message in messages:
            click.echo(f"error: {field}: {message}", err=True)
    sys.exit(1)


def ensure_secret_key(instance_path: str) -> str:
    """Write a random secret key into the instance folder once (mode 0600)."""
    from intake import private

    key_file = Path(instance_path) / "secret_key"
    if not key_file.exists():
        private.write_new(key_file, secrets.token_urlsafe(48))
    return key_file.read_text().strip()


@cli.command("init")
@with_appcontext
def init_command() -> None:
    """Create or upgrade the database, load reference data, create the first admin."""
    from flask_migrate import upgrade

    from intake.services import payers, users

    app = current_app
    from intake import keys, private

    private.make_dir(app.instance_path)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = ensure_secret_key(app.instance_path)
    for name in ("audit", "backup"):  # outside the database: keep copies off the machine
        keys.load(name)
    upgrade()
    audit.act_as("cli:init")
    added = payers.seed_payers()
    password = os.environ.get("INTAKE_ADMIN_PASSWORD")
    try:
        admin, generated = users.ensure_admin(password)
    except FieldErrors as exc:
        _fail(exc)
    db.session.commit()
    click.echo(f"Database ready ({db.engine.url.render_as_string(hide_password=True)}).")
    if added:
        click.echo(f"Added {added} starter payers.")
    if admin is not None and generated:
        # Plain lines, set apart: the one thing from the first run to copy down.
        click.echo("")
        click.echo("Created admin account 'admin' with password:")
        click.echo(f"    {generated}")
        click.echo("This password is shown once. Change it after signing in.")
        click.echo("")
    elif admin is not None:
        click.echo("Created admin account 'admin' with the password from INTAKE_ADMIN_PASSWORD.")


@cli.group("users")
def users_group() -> None:
    """Staff accounts."""


@users_group.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def users_create(username: str, role: str, password_stdin: bool) -> None:
    """Create a staff account."""
    from intake.services import users

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    audit.act_as("cli:users")
    try:
        user = users.create_user(username, password, role)
    except FieldErrors as exc:
        _fail(exc)
    db.session.commit()
    click.echo(f"Created {role} account {user.username} (id {user.id}).")


@cli.command("demo")
@click.option("--patients", "count", type=click.IntRange(1, 1_000_000), default=50,
              show_default=True, help="How many synthetic patients to add.")
@click.option("--kiosk", "kiosk_count", type=click.IntRange(0, 1000), default=3, show_default=True,
              help="Pending kiosk submissions for the review queue.")
@click.option("--seed", type=int, default=None, help="Repeatable data.")
@with_appcontext
def demo_command(count: int, kiosk_count: int, seed: int | None) -> None:
    """Add synthetic (Faker) patients with coverages. Never real people."""
    from intake.services import demo, payers

    from intake.models import User
    from intake.models.user import Role as R

    audit.act_as("cli:demo")
    payers.seed_payers()
    from intake.models import KioskSubmission, Payment, Visit

    # Demo payments need someone who took them: spread over the desk's staff.
    staff = list(db.session.execute(db.select(User.id).where(
        User.role.in_([R.RECEPTIONIST, R.ADMIN])).order_by(User.id)).scalars())

    def counts() -> tuple[int, int, int]:
        return tuple(db.session.execute(db.select(db.func.count()).select_from(model)).scalar_one()
                     for model in (Visit, Payment, KioskSubmission))

    visits_before, payments_before, _ = counts()
    batch = 500
    with click.progressbar(length=count, label="Creating patients") as bar:
        for i, _ in enumerate(demo.create_demo_patients(count, seed=seed, staff_id=staff), start=1):
            bar.update(1)
            if i % batch == 0:
                db.session.commit()
    if kiosk_count:
        demo.create_demo_kiosk_submissions(kiosk_count, seed=seed)
    from intake.services.schedule import demo as schedule_demo

    booked = schedule_demo.create_demo_schedule(seed=seed)
    code = demo.demo_kiosk_code()
    visits_after, payments_after, _ = counts()
    db.session.commit()
    minutes = current_app.config["INTAKE_KIOSK_ENROLL_CODE_MINUTES"]
    click.echo(f"Added {count} synthetic patients with coverages, "
               f"{visits_after - visits_before} visits (past ones coded and locked, some today), "
               f"{payments_after - payments_before} copays taken by {len(staff)} staff account"
               f"{'' if len(staff) == 1 else 's'}, {booked} appointments and "
               f"{kiosk_count} kiosk submissions to review.")
    click.echo("")
    click.echo("To try the kiosk, open /kiosk/enroll on a tablet (or another browser) and type:")
    click.echo(f"    {code}")
    click.echo(f"It works once, within {minutes} minutes (Admin -> Kiosks issues new ones).")


@cli.group("tokens")
def tokens_group() -> None:
    """Read-only bearer tokens for the FHIR API."""


@tokens_group.command("create")
@click.argument("name")
@click.option("--types", default="*", show_default=True,
              help="Resource types it may read, comma-separated (Patient,Coverage), or *.")
@click.option("--bulk/--no-bulk", default=True, show_default=True,
              help="Whether it may start bulk exports ($export).")
@click.option("--days", type=click.IntRange(1, 3650), default=None,
              help="Days until it expires (default INTAKE_TOKEN_DAYS, 365).")
@with_appcontext
def tokens_create(name: str, types: str, bulk: bool, days: int | None) -> None:
    """Create a token for NAME (a system); it is printed once, with what it
    may do and when it expires."""
    from intake.services import tokens

    audit.act_as("cli:tokens")
    wanted = None if types.strip() == "*" else [t.strip() for t in types.split(",") if t.strip()]
    try:
        token, plain = tokens.create_token(name, types=wanted, bulk=bulk, days=days)
    except FieldErrors as exc:
        _fail(exc)
    db.session.commit()
    reads = "every resource type" if token.resource_types is None else \
        ", ".join(sorted(token.resource_types))
    click.echo(f"Token {token.id} for {token.name} (read-only): reads {reads}; bulk exports "
               f"{'allowed' if token.bulk else 'not allowed'}; expires "
               f"{token.expires_at:%Y-%m-%d %H:%M} UTC. Shown once:")
    click.echo(plain)


@tokens_group.command("list")
@with_appcontext
def tokens_list() -> None:
    """List tokens (never their secret)."""
    from intake.services import tokens

    for t in tokens.list_tokens():
        state = "revoked" if t.revoked_at else ("expired" if tokens.is_expired(t) else "active")
        used = t.last_used_at.isoformat(timespec="seconds") if t.last_used_at else "never"
        expires = t.expires_at.isoformat(timespec="seconds") if t.expires_at else "never"
        click.echo(f"{t.id}\t{t.prefix}…\t{t.name}\t{state}\tlast used {used}\t"
                   f"expires {expires}\t{t.scope}")


@tokens_group.command("revoke")
@click.argument("token_id", type=int)
@with_appcontext
def tokens_revoke(token_id: int) -> None:
    """Revoke a token at once."""
    from intake.services import tokens

    audit.act_as("cli:tokens")
    try:
        token = tokens.revoke(token_id)
    except FieldErrors as exc:
        _fail(exc)
    db.session.commit()
    click.echo(f"Token {token.id} ({token.name}) revoked.")


WORKER_MAX_POLL_SECONDS = 0.25


@cli.command("worker")
@click.option("--threads", type=click.IntRange(1, 16), default=2, show_default=True)
@with_appcontext
def worker_command(threads: int) -> None:
    """Run the background worker (bulk exports, expiry of export files)."""
    from huey.consumer import Consumer

    from intake.tasks import huey  # create_app has pointed it at this app

    from intake.services import audit

    app = current_app._get_current_object()
    try:
        # An idle consumer backs off between polls of the queue; capped at 0.25 s
        # (huey's default is 10 s) so a queued export starts within a second.
        Consumer(huey, workers=threads, worker_type="thread", periodic=True,
                 initial_delay=0.1, backoff=1.15, max_delay=WORKER_MAX_POLL_SECONDS).run()
    finally:
        audit.anchor_at_shutdown(app)  # the unanchored tail as short as can be


cli.add_command(codes_cli, "codes")
cli.add_command(fhir_cli, "fhir")
cli.add_command(x12_cli, "x12")


# ---- audit chain, backups (issue 7) -----------------------------------------

@cli.group("audit")
def audit_group() -> None:
    """The audit log: append-only and hash-chained."""


@audit_group.command("verify")
@click.option("--anchors", "anchor_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Anchor file to check against (default INTAKE_AUDIT_ANCHOR_FILE "
                                 "or instance/audit-anchors.jsonl, when it exists).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@with_appcontext
def audit_verify(anchor_file: Path | None, as_json: bool) -> None:
    """Walk the audit chain and check it against the anchors written outside
    the database; exit status 1 naming the first row that was edited, that
    follows a deleted row, or the newest rows that were deleted."""
    import json

    from intake.services import audit

    if anchor_file is None and audit.anchor_path().exists():
        anchor_file = audit.anchor_path()
    elif anchor_file is not None and not anchor_file.exists():
        click.echo(f"error: {anchor_file} does not exist.", err=True)
        sys.exit(1)
    report = audit.verify(anchor_file=anchor_file)
    db.session.rollback()
    if as_json:
        click.echo(json.dumps(report.as_dict()))
    elif report.ok:
        head = f"head seq {report.head_seq} {report.head_hash}" if report.rows else "empty"
        click.echo(f"Audit chain intact: {report.rows} rows, {head}.")
        click.echo(_anchor_summary(report))
    elif report.broken_id is not None:
        click.echo(f"Audit chain BROKEN at row id {report.broken_id} (seq {report.broken_seq}): "
                   f"{report.reason}.", err=True)
    else:
        click.echo(f"Audit chain BROKEN: {report.reason}.", err=True)
    if not report.ok:
        sys.exit(1)


def _anchor_summary(report: ChainReport) -> str:
    if report.anchor_file is None:
        return ("No anchor file: deleting the newest rows would go unnoticed "
                "(run `intake worker`, or `intake audit anchor`).")
    if report.anchored_seq is None:
        return f"No anchors in force in {report.anchor_file}."
    restores = f"; {report.restores} restore(s) recorded" if report.restores else ""
    tail = (f"\n{report.unanchored_rows} row(s) after the newest anchor are not anchored yet: "
            f"deleting them would go unnoticed until the next anchor (`intake audit anchor`)."
            if report.unanchored_rows else "")
    return (f"Anchors: {report.anchors} in {report.anchor_file}, the newest at seq "
            f"{report.anchored_seq} ({report.anchored_at}){restores}.{tail}")


@audit_group.command("anchor")
@click.option("--file", "anchor_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Anchor file (default INTAKE_AUDIT_ANCHOR_FILE or "
                                 "instance/audit-anchors.jsonl).")
@click.option("--restored", is_flag=True,
              help="Only after restoring a backup by hand (pg_restore): the chain was wound back "
                   "on purpose; the anchors written before no longer apply.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@with_appcontext
def audit_anchor(anchor_file: Path | None, restored: bool, as_json: bool) -> None:
    """Append the chain's head (seq, hash, time) to the anchor file, kept
    outside the database. The worker does this every INTAKE_AUDIT_ANCHOR_MINUTES."""
    import json

    from intake.services import audit

    path = anchor_file or audit.anchor_path()
    try:
        made = audit.anchor(path, kind="restore" if restored else "head")
    except OSError as exc:
        click.echo(f"error: cannot write {path} ({type(exc).__name__}).", err=True)
        sys.exit(1)
    finally:
        db.session.rollback()
    if as_json:
        click.echo(json.dumps({"file": str(path), **({"seq": made.seq, "row_hash": made.row_hash,
                                                       "anchored_at": made.anchored_at,
                                                       "kind": made.kind} if made else {})}))
    elif made is None:
        click.echo("The audit log is empty: nothing to anchor.")
    else:
        click.echo(f"Anchored seq {made.seq} {made.row_hash} at {made.anchored_at} in {path}.")


@contextmanager
def _refused_backup() -> Iterator[None]:
    """A BackupError ends the command: nothing written, its message, exit 1."""
    from intake.services.backup import BackupError

    try:
        yield
    except BackupError as exc:
        db.session.rollback()
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


@cli.command("backup")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Backup file (default instance/backups/intake-<UTC time>.tar).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@with_appcontext
def backup_command(output: Path | None, as_json: bool) -> None:
    """Back up the database and the uploaded pictures (card photos) into one
    tar file with a manifest of SHA-256 sums, while the app runs. SQLite is
    copied with its online backup API, PostgreSQL with pg_dump."""
    import json

    from intake.services import backup

    audit.act_as("cli:backup")
    with _refused_backup():
        result = backup.backup(output)
    db.session.commit()
    if as_json:
        click.echo(json.dumps({"path": str(result.path), "bytes": result.size_bytes,
                               "sha256": result.sha256, "revision": result.revision,
                               "database": result.database, "pictures": result.pictures}))
    else:
        click.echo(f"Backed up the {result.database} database (migration {result.revision}) and "
                   f"{result.pictures} picture(s) to {result.path} ({result.size_bytes} bytes, "
                   f"sha256 {result.sha256}).")


@cli.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Confirm: replace the database and pictures with FILE's.")
@with_appcontext
def restore_command(file: Path, yes: bool) -> None:
    """Put back the database and pictures from a backup made by `intake
    backup`, after checking all of it; the current state is backed up first.
    Stop the app and the worker first. Old single-file SQLite backups restore
    the database only."""
    from intake.services import audit, backup

    with _refused_backup():
        info = backup.check_backup(file)
    pictures = "no pictures (an old single-file backup: the pictures stay as they are)" \
        if info.pictures is None else f"{info.pictures} picture(s)"
    if not yes:
        click.echo(f"{file} is a good backup: the {info.database} database at migration "
                   f"{info.revision} and {pictures}. Restoring replaces the database and the "
                   f"pictures; run again with --yes to do it.", err=True)
        sys.exit(1)
    audit.act_as("cli:restore")
    with _refused_backup():
        result = backup.restore(file)
    db.session.commit()
    click.echo(f"Restored {result.restored_from}: the database at migration {result.revision} "
               f"and {pictures}. The state before is in {result.previous_saved_as}.")
    try:  # the chain was wound back on purpose: say so where the anchors are
        audit.anchor(kind="restore")
    except OSError as exc:
        click.echo(f"warning: could not write the restore to the anchor file "
                   f"({type(exc).__name__}); run `intake audit anchor --restored`.", err=True)
    anchor_file = audit.anchor_path() if audit.anchor_path().exists() else None
    report = audit.verify(anchor_file=anchor_file)
    db.session.rollback()
    if not report.ok:
        click.echo(f"warning: the restored audit chain is BROKEN (seq {report.broken_seq}): "
                   f"{report.reason}.", err=True)
        sys.exit(1)
    click.echo(f"Audit chain intact: {report.rows} rows.")
