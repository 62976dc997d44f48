"""Practice settings, providers and the fee schedule (admin)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, url_for

from intake.blueprints.admin import bp
from intake.blueprints.admin.routes import ADMIN
from intake.forms import attach_errors
from intake.forms.admin import ToggleForm
from intake.forms.base import options
from intake.forms.desk import cents
from intake.forms.practice import FeeForm, PracticeForm, ProviderForm
from intake.security import roles_required
from intake.services import FieldErrors, charges, practice
from intake.templating import render_form


@bp.route("/practice", methods=["GET", "POST"])
@roles_required(*ADMIN)
def practice_settings() -> Any:
    office = practice.get_practice()
    form = PracticeForm(obj=office)
    form.default_pos.choices = options(charges.place_of_service_choices())
    if form.validate_on_submit():
        try:
            practice.save_practice(form.data)
        except FieldErrors as exc:
            attach_errors(form, exc.errors)
        else:
            flash("Practice settings saved.", "success")
            return redirect(url_for("admin.practice_settings"))
    return render_form("admin/practice.html", form, providers=practice.list_providers())


@bp.route("/providers/new", methods=["GET", "POST"], defaults={"provider_id": None})
@bp.route("/providers/<int:provider_id>/edit", methods=["GET", "POST"])
@roles_required(*ADMIN)
def edit_provider(provider_id: int | None) -> Any:
    provider = practice.get_provider(provider_id) if provider_id else None
    if provider_id and provider is None:
        abort(404)
    form = ProviderForm(obj=provider)
    if form.validate_on_submit():
        try:
            practice.save_provider(provider, form.data)
        except FieldErrors as exc:
            attach_errors(form, exc.errors)
        else:
            flash("Provider saved.", "success")
            return redirect(url_for("admin.practice_settings"))
    return render_form("admin/provider_form.html", form, provider=provider)


@bp.route("/fees", methods=["GET", "POST"])
@roles_required(*ADMIN)
def fees() -> Any:
    form = FeeForm()
    if form.validate_on_submit():
        result = charges.check_procedure(form.code.data)
        if not result.accepted:
            form.code.errors = [result.reason if result.status != "malformed"
                                else "Enter a CPT or HCPCS procedure code."]
        else:
            practice.save_fee(result.code, cents(form.price.data), form.label.data)
            flash(f"Fee for {result.code} saved.", "success")
            return redirect(url_for("admin.fees"))
    return render_form("admin/fees.html", form, fees=practice.list_fees(),
                       delete_form=ToggleForm())


@bp.route("/fees/<int:fee_id>/delete", methods=["POST"])
@roles_required(*ADMIN)
def delete_fee(fee_id: int) -> Any:
    if not ToggleForm().validate_on_submit():
        abort(400)
    practice.delete_fee(fee_id)
    flash("Fee removed.", "info")
    return redirect(url_for("admin.fees"))
