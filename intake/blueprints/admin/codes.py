"""Code tables: their dates and status, and imports with a preview before anything changes."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for

from intake.blueprints.admin import bp
from intake.blueprints.admin.routes import ADMIN
from intake.forms import attach_errors
from intake.forms.admin import CodeImportForm, ToggleForm
from intake.security import roles_required
from intake.services import FieldErrors, code_tables

UPLOAD_LIMIT = 64 * 1024 * 1024  # a plain CDC order file is ~20 MB; the app-wide limit is for photos


@bp.route("/codes", methods=["GET", "POST"])
@roles_required(*ADMIN)
def code_tables_page() -> Any:
    request.max_content_length = UPLOAD_LIMIT
    form = CodeImportForm()
    if form.validate_on_submit():
        try:
            staged = code_tables.stage_upload(form.kind.data, form.file.data, form.year.data)
        except FieldErrors as exc:
            attach_errors(form, exc.errors)
        else:
            return redirect(url_for("admin.code_import", token=staged.token))
    return render_template("admin/codes.html", form=form, rows=code_tables.table_rows()), \
        422 if form.errors else 200


@bp.route("/codes/import/<token>", methods=["GET", "POST"])
@roles_required(*ADMIN)
def code_import(token: str) -> Any:
    staged = code_tables.get_staged(token)
    form = ToggleForm()
    if request.method == "POST" and form.validate_on_submit():
        if request.form.get("discard"):
            code_tables.discard(token)
            flash("Import cancelled: nothing was changed.", "info")
            return redirect(url_for("admin.code_tables_page"))
        try:
            applied = code_tables.apply_import(token)
        except FieldErrors as exc:
            for messages in exc.errors.values():
                for message in messages:
                    flash(message, "danger")
            return redirect(url_for("admin.code_tables_page"))
        tables = "; ".join(f"{i.release}: {i.count:,} codes, in force {i.date_range}" for i in applied.infos)
        flash(f"Imported {tables}. Re-checked {applied.rechecked} held visit(s): {applied.released} no longer "
              f"held on provisional codes, {len(applied.refused)} code(s) now refused (listed on Billing › "
              "Code re-checks).", "success")
        return redirect(url_for("admin.code_tables_page"))
    return render_template("admin/code_import.html", staged=staged, form=form,
                           kind=code_tables.describe(staged.kind))
