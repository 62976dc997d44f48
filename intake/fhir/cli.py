"""``intake fhir bundle VISIT_ID``: one visit's transaction Bundle on stdout."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from intake.codes import load_engine
from intake.extensions import db
from intake.fhir.bundle import visit_bundle
from intake.fhir.ndjson import dumps_pretty
from intake.fhir.systems import FhirSettings

fhir_cli = AppGroup("fhir", help="FHIR R4 output: per-visit bundles and bulk export.")


@fhir_cli.command("bundle")
@click.argument("visit_id", type=int)
@click.option("--force", is_flag=True, help="Print the bundle (without a Claim) even when the scrubber has findings.")
def bundle_command(visit_id: int, force: bool) -> None:
    """Print visit VISIT_ID's transaction Bundle as JSON (the Encounter id
    is the visit id; its billed Claim's is too). Exit status 1 with the scrubber's findings
    when the visit is not ready to bill, unless --force."""
    from intake.services import audit, claims
    from intake.services.practice import get_practice
    from intake.services.scrubber import load_visit_for_claim, scrub_visit, signed_consents

    visit = load_visit_for_claim(visit_id)
    if visit is None:
        click.echo(f"There is no visit {visit_id}.", err=True)
        sys.exit(1)
    practice = get_practice()
    claim = claims.latest(visit.id) if visit.locked else None
    findings = scrub_visit(visit, practice=practice, engine=load_engine(Path(current_app.instance_path)),
                           claim=claim)
    if findings and not force:
        click.echo(f"Visit {visit_id} is not ready to bill:", err=True)
        for finding in findings:
            click.echo(f"  - {finding.words}", err=True)
        sys.exit(1)
    bundle = visit_bundle(visit, practice=practice, findings=findings, claim=claim,
                          coverages=claims.coverages_to_send(visit, claim),
                          consents=signed_consents(visit.patient_id),
                          settings=FhirSettings.from_config(current_app.config))
    audit.record("fhir.bundle", patient_id=visit.patient_id, object_type="visit", object_id=visit.id,
                 actor="cli", detail=f"entries={len(bundle['entry'])} forced={int(bool(findings))}")
    db.session.commit()
    click.echo(dumps_pretty(bundle).decode())


@fhir_cli.command("export")
@click.option("--output", "output", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for the NDJSON files (created if missing).")
@click.option("--type", "types", multiple=True, help="Resource type(s); default all.")
@click.option("--since", type=click.DateTime(), default=None,
              help="Only resources changed since this instant (UTC).")
def export_command(output: Path, types: tuple[str, ...], since: object) -> None:
    """Bulk export to NDJSON files, one per resource type, as $export does."""
    from datetime import timezone

    from intake.services import audit, bulk
    from intake.services.fhir_api import SearchError

    wanted = list(types) or bulk.SYSTEM_TYPES
    unknown = [t for t in wanted if t not in bulk.SYSTEM_TYPES]
    if unknown:
        raise click.BadParameter(f"{', '.join(unknown)}; choose from {', '.join(bulk.SYSTEM_TYPES)}",
                                 param_hint="--type")
    since_utc = since.replace(tzinfo=timezone.utc) if since else None  # type: ignore[union-attr]
    with click.progressbar(length=100, label="Exporting", file=sys.stderr) as bar:
        shown = [0]

        def progress(done: int, total: int) -> bool:
            percent = done * 100 // max(total, 1)
            bar.update(percent - shown[0])
            shown[0] = percent
            return False

        try:
            files = bulk.write_files(output, wanted, since_utc, progress)
        except SearchError as exc:
            raise click.ClickException(str(exc)) from exc
    audit.record("fhir.export_cli", actor="cli", object_type="bulk_export",
                 detail=f"files={len(files)} resources={sum(f['count'] for f in files)}")
    db.session.commit()
    for f in files:
        click.echo(f"{f['count']:>9}  {output / f['file']}")
