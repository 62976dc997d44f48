"""``intake codes check|search|tables|import``: the code engine on the command line."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

import click
import orjson
from flask import current_app
from flask.cli import AppGroup

from intake.services import clock

from .engine import CodeEngine, Status, load_engine
from .importers import ImportFailed, Progress, import_cpt, import_hcpcs, import_icd10cm
from .systems import System
from .table import TableInfo

codes_cli = AppGroup("codes", help="Check, search and import code tables.")

_SYSTEMS = click.Choice([s.value for s in System])


def _engine() -> CodeEngine:
    return load_engine(Path(current_app.instance_path))


def _day(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-03-31") from None


def _json_line(data: object) -> None:
    click.echo(orjson.dumps(data).decode())


@codes_cli.command("check")
@click.argument("codes", nargs=-1, required=True)
@click.option("--system", type=_SYSTEMS, help="Code system; inferred from the code's shape when omitted.")
@click.option("--date", "day", callback=_day, metavar="YYYY-MM-DD", help="Date of service (default: today).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per code per line.")
def check_command(codes: tuple[str, ...], system: str | None, day: date | None, as_json: bool) -> None:
    """Check CODES for a date of service; exit status 1 if any is not plainly valid.

    A code checked only against the nearest loaded release (no table covers
    the date) is reported as provisional, with the release used, and fails.
    """
    engine = _engine()
    day = day or clock.today()  # the practice's date, not the server's
    results = [engine.check(code, system, day) for code in codes]
    for result in results:
        if as_json:
            _json_line(result.to_dict())
            continue
        mark = "ok " if result.valid else "?? " if result.provisional else "NO "
        label = result.system.label if result.system else "?"
        click.echo(f"{mark} {result.code:<9} {label:<16} {result.display}".rstrip())
        click.echo(f"    {result.reason}")
        if result.status in (Status.PROVISIONAL, Status.NO_TABLE) and result.system and result.system.import_command:
            click.echo(f"    import the missing release with: {result.system.import_command}")
        for child in result.children[:10]:
            click.echo(f"      {child.code:<9} {child.display}")
    if not all(r.valid for r in results):
        raise SystemExit(1)


@codes_cli.command("search")
@click.argument("text", nargs=-1, required=True)
@click.option("--system", type=_SYSTEMS, help="Search one system only.")
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True)
@click.option("--date", "day", callback=_day, metavar="YYYY-MM-DD", help="Date of service (default: today).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per hit per line.")
def search_command(text: tuple[str, ...], system: str | None, limit: int, day: date | None, as_json: bool) -> None:
    """Find codes by code prefix or by words of their description."""
    for hit in _engine().search(" ".join(text), system, limit, day or clock.today()):
        if as_json:
            _json_line(hit.to_dict())
        else:
            flag = "" if hit.billable else "  (header)"
            click.echo(f"{hit.code:<9} {hit.system.label:<16} {hit.display}{flag}")


@codes_cli.command("tables")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per table per line.")
def tables_command(as_json: bool) -> None:
    """List the tables, with release, date range in force and size."""
    for info in _engine().tables():
        if as_json:
            _json_line(info.to_dict())
        else:
            click.echo(f"{info.system.label:<16} {info.release:<42} {info.date_range:<26} {info.origin}")


@contextmanager
def _progress_bar(label: str) -> Iterator[Progress]:
    """A click progress bar driven by an importer's progress callback."""
    with click.progressbar(length=1, label=label, file=sys.stderr) as bar:
        def advance(done: int, total: int) -> None:
            bar.length = total
            bar.update(done - bar.pos)

        yield advance


def _run_import(label: str, action: Callable[[Progress], list[TableInfo]]) -> None:
    try:
        with _progress_bar(label) as progress:
            infos = action(progress)
    except ImportFailed as error:
        raise click.ClickException(f"{error}. The tables in use are unchanged.") from None
    for info in infos:
        click.echo(f"imported {info.release}: {info.count:,} codes, in force {info.date_range}")


@codes_cli.group("import")
def import_group() -> None:
    """Import a release file into the instance (kept across upgrades)."""


_year = click.option("--year", type=click.IntRange(2000, 2100), help="Release year (default: from the file name).")
_force = click.option("--force", is_flag=True, help="Accept a file much smaller than the table it replaces.")
_file = click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))


@import_group.command("icd10cm")
@_file
@_year
@click.option("--effective-from", "effective_from", callback=_day, metavar="YYYY-MM-DD",
              help="First day in force, for an April update (default: October 1 before the fiscal year).")
@_force
def import_icd10cm_command(file: Path, year: int | None, effective_from: date | None, force: bool) -> None:
    """Import a CDC ICD-10-CM order file (icd10cm-order-YYYY.txt); --year is the fiscal year."""
    instance = Path(current_app.instance_path)
    _run_import("ICD-10-CM", lambda p: [import_icd10cm(file, instance, year, effective_from, p, force)])


@import_group.command("hcpcs")
@_file
@_year
@_force
def import_hcpcs_command(file: Path, year: int | None, force: bool) -> None:
    """Import a CMS HCPCS ANWEB file: HCPCS codes and Level II modifiers for a calendar year."""
    instance = Path(current_app.instance_path)
    _run_import("HCPCS", lambda p: import_hcpcs(file, instance, year, p, force))


@import_group.command("cpt")
@_file
@_year
@_force
def import_cpt_command(file: Path, year: int | None, force: bool) -> None:
    """Import the office's licensed CPT file (CSV or tab-separated: code, description)."""
    instance = Path(current_app.instance_path)
    _run_import("CPT", lambda p: [import_cpt(file, instance, year, p, force)])
