"""Administration: staff accounts, payers, the audit log."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from intake.blueprints.admin import bp
from intake.forms import attach_errors
from intake.forms.admin import PayerForm, ToggleForm, UserForm
from intake.models.user import Role
from intake.security import roles_required
from intake.services import FieldErrors, audit, payers, users
from intake.templating import render_form

ADMIN = (Role.ADMIN,)


@bp.route("/")
@roles_required(*ADMIN)
def index() -> Any:
    return render_template("admin/index.html", users=users.list_users(), form=ToggleForm())


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required(*ADMIN)
def new_user() -> Any:
    form = UserForm()
    if form.validate_on_submit():
        try:
            user = users.create_user(form.username.data, form.password.data, form.role.data)
        except FieldErrors as exc:
            attach_errors(form, exc.errors)
        else:
            flash(f"Account {user.username} created.", "success")
            return redirect(url_for("admin.index"))
    return render_form("admin/user_form.html", form)


@bp.route("/users/<int:user_id>/toggle", methods=["POST"])
@roles_required(*ADMIN)
def toggle_user(user_id: int) -> Any:
    if not ToggleForm().validate_on_submit():
        abort(400)
    user = users.get_user(user_id)
    if user is None:
        abort(404)
    if user.id == current_user.id:
        flash("You cannot deactivate your own account.", "danger")
    else:
        users.set_active(user, not user.active)
        flash(f"Account {user.username} {'activated' if user.active else 'deactivated'}.", "success")
    return redirect(url_for("admin.index"))


@bp.route("/payers")
@roles_required(*ADMIN)
def payer_list() -> Any:
    return render_template("admin/payers.html", payers=payers.list_payers())


@bp.route("/payers/new", methods=["GET", "POST"], defaults={"payer_id": None})
@bp.route("/payers/<int:payer_id>/edit", methods=["GET", "POST"])
@roles_required(*ADMIN)
def edit_payer(payer_id: int | None) -> Any:
    payer = payers.get_payer(payer_id) if payer_id else None
    if payer_id and payer is None:
        abort(404)
    form = PayerForm(obj=payer)
    if form.validate_on_submit():
        try:
            payers.save_payer(payer, form.data)
        except FieldErrors as exc:
            attach_errors(form, exc.errors)
        else:
            flash("Payer saved.", "success")
            return redirect(url_for("admin.payer_list"))
    return render_form("admin/payer_form.html", form, payer=payer)


@bp.route("/audit")
@roles_required(*ADMIN)
def audit_log() -> Any:
    page = min(max(request.args.get("page", 1, type=int), 1), 10**6)  # no offset overflow
    action = request.args.get("action", "", type=str)[:60] or None
    mrn = request.args.get("mrn", "", type=str).strip()[:16] or None
    events = audit.recent(page=page, action=action, mrn=mrn)
    return render_template("admin/audit.html", events=events, action=action or "", mrn=mrn)
