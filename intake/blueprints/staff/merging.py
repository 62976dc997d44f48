"""The duplicates worklist (scan, review, "not the same person") and chart
merge with undo. Reviewing is for the desk; merging and undoing, admins only."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from intake.blueprints.staff import bp
from intake.forms.admin import ToggleForm
from intake.models.user import Role
from intake.security import roles_required
from intake.services import FieldErrors, duplicates, merge, worklist

DESK = (Role.RECEPTIONIST, Role.ADMIN)
MERGE = (Role.ADMIN,)


@bp.route("/duplicates")
@roles_required(*DESK)
def duplicates_worklist() -> Any:
    return render_template("staff/duplicates.html", scan=worklist.latest_scan(),
                           pairs=worklist.open_pairs(), form=ToggleForm(),
                           can_merge=current_user.has_role(*MERGE), likely=duplicates.threshold())


@bp.route("/duplicates/scan", methods=["POST"])
@roles_required(*DESK)
def duplicates_scan() -> Any:
    if ToggleForm().validate_on_submit():
        worklist.request_scan(current_user.id)
        flash("Scan started. This page shows its progress.", "info")
    return redirect(url_for("staff.duplicates_worklist"))


@bp.route("/duplicates/<int:pair_id>/not-same", methods=["POST"])
@roles_required(*DESK)
def duplicates_not_same(pair_id: int) -> Any:
    if ToggleForm().validate_on_submit():
        worklist.mark_not_same(pair_id, current_user.id)
        flash("Marked as two different people. This pair will not be listed again.", "success")
    return redirect(url_for("staff.duplicates_worklist"))


@bp.route("/duplicates/<int:pair_id>/merge", methods=["GET", "POST"])
@roles_required(*MERGE)
def duplicates_merge(pair_id: int) -> Any:
    pair = worklist.get_pair(pair_id)
    survivor_id = request.values.get("survivor", type=int) or pair.low_id
    if survivor_id not in (pair.low_id, pair.high_id):
        survivor_id = pair.low_id
    retired_id = pair.high_id if survivor_id == pair.low_id else pair.low_id
    form = ToggleForm()
    errors: list[str] = []
    if request.method == "POST" and form.validate_on_submit():
        choices = {k.removeprefix("take_"): v for k, v in request.form.items() if k.startswith("take_")}
        versions = {pid: request.form.get(f"version_{pid}", type=int) for pid in (pair.low_id, pair.high_id)}
        try:
            record = merge.merge_charts(survivor_id, retired_id, choices, versions=versions,
                                        user_id=current_user.id)
        except FieldErrors as exc:
            errors = exc.errors["merge"]
        else:
            flash("Charts merged. You can undo this merge for 30 days.", "success")
            return redirect(url_for("staff.merge_detail", merge_id=record.id))
    survivor, retired = worklist.chart(survivor_id), worklist.chart(retired_id)
    return render_template("staff/merge_charts.html", pair=pair, survivor=survivor, retired=retired,
                           rows=merge.field_rows(survivor, retired), form=form, errors=errors), \
        422 if errors else 200


@bp.route("/merges/<int:merge_id>", methods=["GET", "POST"])
@roles_required(*MERGE)
def merge_detail(merge_id: int) -> Any:
    record = merge.get_merge(merge_id)
    form = ToggleForm()
    errors: list[str] = []
    if request.method == "POST" and form.validate_on_submit():
        try:
            merge.undo_merge(record.id, user_id=current_user.id)
        except FieldErrors as exc:
            errors = exc.errors["merge"]
        else:
            flash("Merge undone: both charts are as they were.", "success")
    return render_template("staff/merge_detail.html", record=record, form=form, errors=errors,
                           survivor=worklist.chart(record.survivor_id),
                           retired=worklist.chart(record.retired_id)), 422 if errors else 200
