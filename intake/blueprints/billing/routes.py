"""Billing staff: what is ready to bill and why not; bundles and exports."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Response, render_template, request
from flask_login import current_user

from intake.blueprints.billing import bp
from intake.fhir.ndjson import dumps_pretty
from intake.forms import attach_errors
from intake.forms.billing import ExportForm, WorklistFilter, X12ExportForm
from intake.models.user import Role
from intake.security import roles_required
from intake.services import FieldErrors, billing, clock, code_tables, coverages, visits, x12_export

BILLING = (Role.BILLING, Role.ADMIN)


def _download(data: bytes, filename: str, mimetype: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/")
@roles_required(*BILLING)
def index() -> Any:
    form = WorklistFilter(request.args)
    form.set_payers(coverages.active_payers())
    today = clock.today()
    valid = form.validate()
    date_from = (form.date_from.data if valid and form.date_from.data else today - timedelta(days=7))
    date_to = form.date_to.data if valid and form.date_to.data else today
    # The range applied is the range shown: the boxes are never empty under a default.
    form.date_from.data, form.date_to.data = date_from, date_to
    everything = billing.worklist(date_from, date_to, form.payer_id.data or None)
    show = form.show.data if form.show.data in ("seen", "ready", "all") else "seen"
    form.show.data = show
    rows = [r for r in everything if show == "all" or (
        not r.in_progress and (show == "seen" or r.ready))]
    export_form = ExportForm(formdata=None, date_from=date_from, date_to=date_to,
                             payer_id=form.payer_id.data or 0)
    export_form.set_payers(coverages.active_payers())
    return render_template("billing/index.html", form=form, rows=rows, date_from=date_from,
                           date_to=date_to, export_form=export_form, everything=everything,
                           x12_form=_x12_form(date_from, date_to), x12_holds=x12_export.holds(rows),
                           x12_settings=x12_export.settings_problems())


def _x12_form(date_from: Any, date_to: Any) -> X12ExportForm:
    return X12ExportForm(formdata=None, prefix="x12", date_from=date_from, date_to=date_to)


@bp.route("/visits/<int:visit_id>/bundle")
@roles_required(*BILLING)
def visit_bundle(visit_id: int) -> Any:
    """Preview: the bundle shown, nothing recorded as exported."""
    visit = visits.get_visit(visit_id, purpose="bundle")
    bundle, findings = billing.visit_bundle(visit)
    if findings:
        return render_template("billing/not_ready.html", visit=visit,
                               findings=[f.words for f in findings]), 409
    response = Response(dumps_pretty(bundle), mimetype="application/fhir+json")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/visits/<int:visit_id>/export", methods=["POST"])
@roles_required(*BILLING)
def export_visit(visit_id: int) -> Any:
    """Send one visit: its bundle downloaded and recorded as an export."""
    visit = visits.get_visit(visit_id, purpose="bundle")
    try:
        data, record = billing.export_visit(visit, current_user.id)
    except FieldErrors as exc:
        return render_template("billing/not_ready.html", visit=visit,
                               findings=exc.errors["visit"]), 409
    return _download(data, f"intake-export-{record.id}-visit-{visit.id}.json", "application/fhir+json")


@bp.route("/export", methods=["POST"])
@roles_required(*BILLING)
def export() -> Any:
    form = ExportForm()
    form.set_payers(coverages.active_payers())
    if form.validate_on_submit():
        try:
            data, record, held = billing.export_range(
                form.date_from.data, form.date_to.data, form.file_format.data, current_user.id,
                form.payer_id.data or None, form.include_exported.data)
        except FieldErrors as exc:
            attach_errors(form, exc.errors)
        else:
            ext, mime = _kind(record.file_format)
            return _download(data, f"intake-export-{record.id}-{record.date_from}-{record.date_to}.{ext}",
                             mime)
    rows = billing.worklist(form.date_from.data or clock.today(), form.date_to.data or clock.today())
    filter_form = WorklistFilter(formdata=None)
    filter_form.set_payers(coverages.active_payers())
    return render_template("billing/index.html", form=filter_form, rows=rows,
                           date_from=form.date_from.data, date_to=form.date_to.data,
                           export_form=form, x12_holds=x12_export.holds(rows),
                           x12_form=_x12_form(form.date_from.data, form.date_to.data)), 422


@bp.route("/exports")
@roles_required(*BILLING)
def history() -> Any:
    exports = billing.history()
    return render_template("billing/history.html", exports=exports,
                           x12_files=x12_export.interchanges_by_export(e.id for e in exports))


@bp.route("/codes")
@roles_required(*BILLING)
def code_rechecks() -> Any:
    """Codes on visits not yet exported that the tables now refuse: after an import,
    the codes the new release deleted or turned into headers."""
    return render_template("billing/code_rechecks.html", problems=code_tables.code_problems())


@bp.route("/exports/<int:export_id>/file")
@roles_required(*BILLING)
def export_file(export_id: int) -> Any:
    """An earlier export again, byte for byte (its checksum is on the history page)."""
    record = billing.export_file(export_id)
    ext, mime = _kind(record.file_format)
    return _download(record.content, _filename(record, ext), mime)


def _kind(file_format: str) -> tuple[str, str]:
    return (("json", "application/fhir+json") if file_format == "bundle"
            else ("zip", "application/zip"))


def _filename(record: Any, ext: str) -> str:
    if record.visit_count == 1 and record.date_from == record.date_to and record.file_format == "bundle":
        return f"intake-export-{record.id}-visit-{record.visits[0].visit_id}.{ext}"
    return f"intake-export-{record.id}-{record.date_from}-{record.date_to}.{ext}"
