"""The front desk's kiosk queue: review what patients entered, then accept it
into a new chart, merge it into an existing chart field by field, or reject it."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import flash, make_response, redirect, render_template, request, url_for

from intake import vocab
from intake.blueprints.staff import bp
from intake.forms import attach_errors
from intake.forms.desk import AcceptForm, MergeForm, MergeTargetForm, RejectForm
from intake.models.user import Role
from intake.security import roles_required
from intake.services import FieldErrors, kiosk, patients
from intake.templating import render_form

DESK = (Role.RECEPTIONIST, Role.ADMIN)



def _detail(sub: Any, *, accept: AcceptForm | None = None, reject: RejectForm | None = None,
            target: MergeTargetForm | None = None, status: int = 200) -> Any:
    return render_template(
        "staff/kiosk_submission.html", sub=sub, data=kiosk.patient_data(sub),
        coverages=kiosk.coverage_data(sub), candidates=kiosk.candidates(sub),
        labels=kiosk.FIELD_LABELS, fields=kiosk.KIOSK_PATIENT_FIELDS,
        payers={p.id: p.name for p in kiosk.kiosk_payers()},
        consents=(sub.data or {}).get("consents") or [], signer=(sub.data or {}).get("signer") or {},
        accept_form=accept or AcceptForm(), reject_form=reject or RejectForm(),
        target_form=target or MergeTargetForm()), status


@bp.route("/kiosk")
@roles_required(*DESK)
def kiosk_queue() -> Any:
    return render_template("staff/kiosk_queue.html", submissions=kiosk.pending_submissions())


@bp.route("/kiosk/<int:submission_id>")
@roles_required(*DESK)
def kiosk_submission(submission_id: int) -> Any:
    return _detail(kiosk.get_submission(submission_id))


@bp.route("/kiosk/<int:submission_id>/accept", methods=["POST"])
@roles_required(*DESK)
def kiosk_accept(submission_id: int) -> Any:
    sub = kiosk.get_submission(submission_id)
    form = AcceptForm()
    if form.validate_on_submit():
        try:
            patient = kiosk.accept_new(sub, confirm_new=form.confirm_new.data)
        except patients.PossibleDuplicates:
            form.confirm_new.errors = ["Possible existing charts are listed: merge into one, "
                                       "or tick that this is a new patient."]
        except FieldErrors as exc:
            attach_errors(form, exc.errors)
        else:
            flash(f"Accepted into a new chart. MRN {patient.mrn}.", "success")
            return redirect(url_for("staff.patient", patient_id=patient.id))
    return _detail(sub, accept=form, status=422)


@bp.route("/kiosk/<int:submission_id>/merge", methods=["POST"])
@roles_required(*DESK)
def kiosk_merge_target(submission_id: int) -> Any:
    """Merge into a chart that matching did not list: find it by MRN."""
    sub = kiosk.get_submission(submission_id)
    form = MergeTargetForm()
    if form.validate_on_submit():
        try:
            patient = kiosk.find_chart_by_mrn(form.mrn.data)
        except FieldErrors as exc:
            attach_errors(form, exc.errors)
        else:
            return redirect(url_for("staff.kiosk_merge", submission_id=sub.id,
                                    patient_id=patient.id))
    return _detail(sub, target=form, status=422)


ADDRESS_FIELDS = ("address_line1", "address_line2", "city", "state", "postal_code")


@bp.route("/kiosk/<int:submission_id>/merge/<int:patient_id>", methods=["GET", "POST"])
@roles_required(*DESK)
def kiosk_merge(submission_id: int, patient_id: int) -> Any:
    sub = kiosk.get_submission(submission_id)
    chart = patients.get_patient(patient_id, purpose="edit_view")
    rows = kiosk.merge_rows(sub, chart)
    new_plans = kiosk.new_coverages(sub, chart)
    active = sorted((c for c in chart.coverages if c.is_active), key=lambda c: c.rank or 9)
    form = MergeForm()
    if form.validate_on_submit():
        chosen = [row.field for row in rows if request.form.get(f"take_{row.field}") == "kiosk"]
        if request.form.get("take_address") == "kiosk":  # "use all the kiosk's address fields"
            chosen += [f for f in ADDRESS_FIELDS if f not in chosen]
        ranks = {}
        for index, _cov in new_plans:
            posted = request.form.get(f"rank_{index}", "")
            if posted.isdecimal() and 1 <= int(posted) <= 3:
                ranks[index] = int(posted)
        end = [c.id for c in active if request.form.get(f"end_{c.id}") == "y"]
        try:
            changed = kiosk.merge(sub, chart, chosen, ranks=ranks, end=end)
        except FieldErrors as exc:
            attach_errors(form, exc.errors)
        else:
            flash(f"Merged into this chart ({len(changed)} field"
                  f"{'' if len(changed) == 1 else 's'} updated).", "success")
            return redirect(url_for("staff.patient", patient_id=chart.id))
    return render_form("staff/kiosk_merge.html", form, sub=sub, patient=chart, rows=rows,
                       coverages=kiosk.coverage_data(sub), new_plans=new_plans, active=active,
                       address_fields=ADDRESS_FIELDS,
                       payers={p.id: p.name for p in kiosk.kiosk_payers()})


@bp.route("/kiosk/<int:submission_id>/reject", methods=["POST"])
@roles_required(*DESK)
def kiosk_reject(submission_id: int) -> Any:
    sub = kiosk.get_submission(submission_id)
    form = RejectForm()
    if form.validate_on_submit():
        try:
            kiosk.reject(sub, form.reason.data)
        except FieldErrors as exc:
            attach_errors(form, exc.errors)
        else:
            flash("Submission rejected.", "success")
            return redirect(url_for("staff.kiosk_queue"))
    return _detail(sub, reject=form, status=422)


@bp.route("/kiosk/<int:submission_id>/picture/<key>")
@roles_required(*DESK)
def kiosk_picture(submission_id: int, key: str) -> Any:
    sub = kiosk.get_submission(submission_id)
    body, mimetype = kiosk.submission_picture(sub, key)
    response = make_response(body)
    response.headers["Content-Type"] = mimetype
    response.headers["Cache-Control"] = "no-store"
    return response




@bp.app_template_filter("kiosk_race")
def race_label(code: str) -> str:
    return vocab.label(vocab.RACE, code)


@bp.app_template_filter("iso_us_date")
def iso_us_date(value: str | None) -> str:
    """Submissions keep dates as ISO text; the front desk reads MM/DD/YYYY."""
    try:
        return date.fromisoformat(value).strftime("%m/%d/%Y") if value else ""
    except ValueError:
        return ""
