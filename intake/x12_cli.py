"""``intake x12 837p`` and ``intake x12 check``: 837P claim files from the
command line (the Flask side of the pure ``intake.x12`` package)."""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import click
from flask.cli import AppGroup

from intake.extensions import db

x12_cli = AppGroup("x12", help="ASC X12 837P claim files.")


@x12_cli.command("837p")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The file to write.")
@click.option("--from", "date_from", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="First date of service (default: 30 days ago).")
@click.option("--to", "date_to", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Last date of service (default: today).")
@click.option("--user", "username", default="admin", show_default=True,
              help="The staff member the export is recorded for.")
@click.option("--resend", is_flag=True, help="Include claims already sent in an 837P.")
def export_837p_command(output: Path, date_from: datetime | None, date_to: datetime | None,
                        username: str, resend: bool) -> None:
    """Write one 837P of the claims ready to bill; exit 1 with the findings when none is."""
    from intake.models import User
    from intake.services import FieldErrors, clock, x12_export

    user = db.session.execute(db.select(User).filter_by(username=username)).scalar_one_or_none()
    if user is None:
        click.echo(f"There is no user {username!r} to record the export for (--user).", err=True)
        sys.exit(1)
    end: date = date_to.date() if date_to else clock.today()
    start: date = date_from.date() if date_from else end - timedelta(days=30)
    try:
        data, record, held = x12_export.export_837p(start, end, user.id, include_sent=resend)
    except FieldErrors as exc:
        db.session.rollback()
        click.echo("No 837P was written:", err=True)
        for messages in exc.errors.values():
            for message in messages:
                click.echo(f"  - {message}", err=True)
        sys.exit(1)
    output.write_bytes(data)
    db.session.commit()
    click.echo(f"Wrote {output}: {record.visit_count} claim(s), export {record.id}, "
               f"sha256 {record.sha256}.")
    for h in held:
        click.echo(f"Held visit {h.visit.id}: " + " ".join(h.reasons), err=True)


@x12_cli.command("check")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def check_command(path: Path) -> None:
    """Validate an 837P with pyx12: its findings and its 999; exit 1 when rejected."""
    from intake.x12.validate import validate_837p

    result = validate_837p(path.read_text(encoding="ascii", errors="replace"))
    for finding in result.findings:
        click.echo(finding)
    click.echo("999 acknowledgement:" if result.ack_999 else "No 999: the file is not X12.")
    if result.ack_999:
        click.echo(result.ack_999.rstrip())
    click.echo("accepted" if result.accepted else "rejected")
    if not result.accepted:
        sys.exit(1)
