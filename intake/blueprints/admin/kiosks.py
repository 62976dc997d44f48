"""Kiosk devices: enroll a tablet with a one-time code, revoke it."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for

from intake.blueprints.admin import bp
from intake.forms import attach_errors
from intake.forms.admin import ToggleForm
from intake.forms.admin import DeviceForm
from intake.models.user import Role
from intake.security import roles_required
from intake.services import FieldErrors, kiosk
from intake.templating import render_form

ADMIN = (Role.ADMIN,)



def _code_page(device: Any, code: str) -> Any:
    """The code is shown on this one response only; it is stored hashed."""
    response = render_template("admin/kiosk_code.html", device=device, code=code,
                               minutes=kiosk.setting("INTAKE_KIOSK_ENROLL_CODE_MINUTES"))
    return response, 200, {"Cache-Control": "no-store"}


@bp.route("/kiosks", methods=["GET", "POST"])
@roles_required(*ADMIN)
def kiosks() -> Any:
    form = DeviceForm()
    if form.validate_on_submit():
        try:
            device, code = kiosk.create_device(form.name.data)
        except FieldErrors as exc:
            attach_errors(form, exc.errors)
        else:
            return _code_page(device, code)
    return render_form("admin/kiosks.html", form, devices=kiosk.list_devices(),
                       action_form=ToggleForm())


@bp.route("/kiosks/<int:device_id>/code", methods=["POST"])
@roles_required(*ADMIN)
def kiosk_code(device_id: int) -> Any:
    if not ToggleForm().validate_on_submit():
        abort(400)
    device = kiosk.get_device(device_id)
    try:
        code = kiosk.issue_code(device)
    except FieldErrors as exc:
        flash(" ".join(m for ms in exc.errors.values() for m in ms), "danger")
        return redirect(url_for("admin.kiosks"))
    return _code_page(device, code)


@bp.route("/kiosks/<int:device_id>/revoke", methods=["POST"])
@roles_required(*ADMIN)
def revoke_kiosk(device_id: int) -> Any:
    if not ToggleForm().validate_on_submit():
        abort(400)
    device = kiosk.get_device(device_id)
    kiosk.revoke_device(device)
    flash(f"Kiosk “{device.name}” revoked: it stops working at its next request.", "success")
    return redirect(url_for("admin.kiosks"))
