"""The `intake` console script: a Flask CLI group over `create_app`.
Commands call the same services as the views and commit explicitly."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import click
from flask import current_app, g
from flask.cli import FlaskGroup, with_appcontext

from intake import create_app
from intake.codes.cli import codes_cli
from intake.extensions import db
from intake.models.user import Role
from intake.services import FieldErrors


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
    key_file = Path(instance_path) / "secret_key"
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return key_file.read_text().strip()


@cli.command("init")
@with_appcontext
def init_command() -> None:
    """Create or upgrade the database, load reference data, create the first admin."""
    from flask_migrate import upgrade

    from intake.services import payers, users

    app = current_app
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = ensure_secret_key(app.instance_path)
    upgrade()
    g.audit_actor = "cli:init"
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
        click.echo(f"Created admin account 'admin' with password: {generated}")
        click.echo("This password is shown once. Change it after signing in.")
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
    g.audit_actor = "cli:users"
    try:
        user = users.create_user(username, password, role)
    except FieldErrors as exc:
        _fail(exc)
    db.session.commit()
    click.echo(f"Created {role} account {user.username} (id {user.id}).")


@cli.command("demo")
@click.option("--patients", "count", type=click.IntRange(1, 1_000_000), default=50,
              show_default=True, help="How many synthetic patients to add.")
@click.option("--seed", type=int, default=None, help="Repeatable data.")
@with_appcontext
def demo_command(count: int, seed: int | None) -> None:
    """Add synthetic (Faker) patients with coverages. Never real people."""
    from intake.services import demo, payers

    g.audit_actor = "cli:demo"
    payers.seed_payers()
    batch = 500
    with click.progressbar(length=count, label="Creating patients") as bar:
        for i, _ in enumerate(demo.create_demo_patients(count, seed=seed), start=1):
            bar.update(1)
            if i % batch == 0:
                db.session.commit()
    db.session.commit()
    click.echo(f"Added {count} synthetic patients.")


cli.add_command(codes_cli, "codes")
