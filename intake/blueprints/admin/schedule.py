"""Schedule settings (admin): appointment types, providers' weeks, time off."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for

from intake.blueprints.admin import bp
from intake.blueprints.admin.routes import ADMIN
from intake.forms import attach_errors
from intake.forms.schedule import AppointmentTypeForm, ExceptionForm, TemplateForm
from intake.security import roles_required
from intake.services import FieldErrors, clock, practice
from intake.services.schedule import booking, hours


def _forms(**given: Any) -> dict[str, Any]:
    providers = practice.list_providers(active_only=True)
    forms = {"type_form": given.get("type_form") or AppointmentTypeForm(formdata=None),
             "template_form": given.get("template_form") or TemplateForm(formdata=None),
             "exception_form": given.get("exception_form") or ExceptionForm(formdata=None)}
    forms["template_form"].provider_id.choices = [(0, "— choose —")] + [
        (p.id, p.display_name) for p in providers]
    forms["exception_form"].provider_id.choices = [(0, "Everyone (practice holiday)")] + [
        (p.id, p.display_name) for p in providers]
    if not forms["template_form"].effective_from.data:
        forms["template_form"].effective_from.data = clock.today()
    return forms


def _page(status: int = 200, **given: Any) -> Any:
    return render_template("admin/schedule.html", types=booking.list_types(active_only=False),
                           templates=hours.list_templates(), weekdays=hours.WEEKDAYS,
                           exceptions=hours.upcoming_exceptions(clock.today()),
                           **_forms(**given)), status


@bp.route("/schedule")
@roles_required(*ADMIN)
def schedule_settings() -> Any:
    return _page()


@bp.route("/schedule/types", methods=["POST"])
@roles_required(*ADMIN)
def add_appointment_type() -> Any:
    form = AppointmentTypeForm()
    if form.validate_on_submit():
        try:
            hours.save_type(form.data)
        except FieldErrors as exc:
            attach_errors(form, exc.errors)
        else:
            flash("Appointment type added.", "success")
            return redirect(url_for("admin.schedule_settings"))
    return _page(422, type_form=form)


@bp.route("/schedule/templates", methods=["POST"])
@roles_required(*ADMIN)
def save_week() -> Any:
    form = _forms(template_form=TemplateForm())["template_form"]
    if form.validate_on_submit():
        try:
            blocks = hours.template_blocks({n: (form[f"hours_{n}"].data, form[f"breaks_{n}"].data)
                                            for n in range(7)})
            hours.save_template(practice.get_provider(form.provider_id.data), form.effective_from.data,
                                blocks)
        except FieldErrors as exc:
            attach_errors(form, exc.errors)
        else:
            flash("Week saved.", "success")
            return redirect(url_for("admin.schedule_settings"))
    return _page(422, template_form=form)


@bp.route("/schedule/exceptions", methods=["POST"])
@roles_required(*ADMIN)
def add_time_off() -> Any:
    form = _forms(exception_form=ExceptionForm())["exception_form"]
    if form.validate_on_submit():
        provider = practice.get_provider(form.provider_id.data) if form.provider_id.data else None
        try:
            hours.add_exception(provider, form.day.data, form.kind.data, starts=form.starts.data,
                                ends=form.ends.data, note=form.note.data)
        except FieldErrors as exc:
            attach_errors(form, exc.errors)
        else:
            flash("Time off added.", "success")
            return redirect(url_for("admin.schedule_settings"))
    return _page(422, exception_form=form)


