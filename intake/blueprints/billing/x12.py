"""Billing staff: 837P claim files (X12) of the claims ready to bill."""

from __future__ import annotations

from typing import Any

from flask import render_template
from flask_login import current_user

from intake.blueprints.billing import bp
from intake.blueprints.billing.routes import BILLING, _download
from intake.forms import attach_errors
from intake.forms.billing import ExportForm, WorklistFilter, X12ExportForm
from intake.security import roles_required
from intake.services import FieldErrors, billing, clock, coverages, x12_export

X12_MIME = "application/edi-x12"


@bp.route("/837p", methods=["POST"])
@roles_required(*BILLING)
def export_837p() -> Any:
    form = X12ExportForm(prefix="x12")
    if form.validate_on_submit():
        try:
            data, record, _held = x12_export.export_837p(
                form.date_from.data, form.date_to.data, current_user.id,
                include_sent=form.include_sent.data)
        except FieldErrors as exc:
            attach_errors(form, exc.errors)
        else:
            return _download(data, f"intake-837p-{record.id}.x12", X12_MIME)
    date_from, date_to = form.date_from.data or clock.today(), form.date_to.data or clock.today()
    rows = billing.worklist(date_from, date_to)
    filter_form = WorklistFilter(formdata=None, date_from=date_from, date_to=date_to)
    filter_form.set_payers(coverages.active_payers())
    export_form = ExportForm(formdata=None, date_from=date_from, date_to=date_to)
    export_form.set_payers(coverages.active_payers())
    return render_template("billing/index.html", form=filter_form, rows=rows, date_from=date_from,
                           date_to=date_to, export_form=export_form, x12_form=form,
                           x12_holds=x12_export.holds(rows)), 422


@bp.route("/exports/<int:export_id>/837p")
@roles_required(*BILLING)
def download_837p(export_id: int) -> Any:
    data, interchange = x12_export.stored_file(export_id)
    return _download(data, f"intake-837p-{export_id}.x12", X12_MIME)
