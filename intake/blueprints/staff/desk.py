"""Front desk: visits, the day's board, charges, payments, close of day."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for

from intake.blueprints.staff import bp
from intake.blueprints.staff.routes import DESK
from intake.forms import attach_errors
from intake.forms.admin import ToggleForm
from intake.forms.desk import (ChargeLineForm, DayForm, DiagnosisForm, MoveForm, PaymentForm,
                               VisitForm, VoidForm)
from intake.models.user import Role
from intake.security import roles_required
from intake.services import FieldErrors, charges, clock, coverages, patients, payments, practice, visits
from intake.services.schedule import board as schedule_board
from intake.templating import render_form

BILLING_DESK = (Role.RECEPTIONIST, Role.BILLING, Role.ADMIN)



def _day_arg() -> date:
    form = DayForm(request.args)
    return form.day.data if form.validate() and form.day.data else clock.today()


def _flash_errors(exc: FieldErrors) -> None:
    for messages in exc.errors.values():
        for message in messages:
            flash(message, "danger")


@bp.route("/board")
@roles_required(*DESK)
def board() -> Any:
    day = _day_arg()
    return render_template("staff/board.html", day=day, today=clock.today(),
                           rows=schedule_board.day_board(day),
                           labels=schedule_board.status_labels(), moves=visits.TRANSITIONS,
                           move_form=MoveForm(),
                           refresh=current_app.config["INTAKE_BOARD_REFRESH_SECONDS"])


@bp.route("/visits/<int:visit_id>/confirm")
@roles_required(*DESK)
def confirm_move(visit_id: int) -> Any:
    """Cancel and no-show ask to confirm before the board moves the visit."""
    v = visits.get_visit(visit_id)
    to_state = request.args.get("to", "")
    if to_state not in visits.allowed_moves(v):
        abort(404)
    return render_template("staff/visit_confirm.html", visit=v, to_state=to_state,
                           label=visits.TRANSITIONS[v.state][to_state], move_form=MoveForm())


@bp.route("/patients/<int:patient_id>/visits/new", methods=["GET", "POST"])
@roles_required(*DESK)
def new_visit(patient_id: int) -> Any:
    chart = patients.get_patient(patient_id, purpose="edit_view")
    form = VisitForm()
    office = practice.get_practice()
    form.set_choices(practice.list_providers(active_only=True), charges.place_of_service_choices())
    if request.method == "GET":
        form.date_of_service.data = clock.today()
        form.place_of_service.data = office.default_pos
        active = practice.list_providers(active_only=True)
        if len(active) == 1:
            form.provider_id.data = active[0].id
    if form.validate_on_submit():
        try:
            visit = visits.create_visit(chart, form.data)
        except FieldErrors as exc:
            attach_errors(form, exc.errors)
        else:
            flash("Visit created.", "success")
            return redirect(url_for("staff.visit", visit_id=visit.id))
    return render_form("staff/visit_form.html", form, patient=chart)


def _visit_page(v: Any, status: int = 200, **forms: Any) -> Any:
    """The visit page; a form that failed is passed in to show its errors."""
    context = {"move_form": MoveForm(), "diagnosis_form": DiagnosisForm(formdata=None),
               "line_form": ChargeLineForm(formdata=None), **forms}
    return render_template("staff/visit.html", visit=v, moves=visits.allowed_moves(v),
                           labels=visits.STATE_LABELS, payments=payments.payments_for_visit(v),
                           provisional=charges.provisional_codes(v),
                           action_form=ToggleForm(), zone=clock.practice_zone(),
                           coverages=coverages.in_force(v.patient, v.date_of_service),
                           **context), status


@bp.route("/visits/<int:visit_id>")
@roles_required(*BILLING_DESK)
def visit(visit_id: int) -> Any:
    return _visit_page(visits.get_visit(visit_id))


@bp.route("/visits/<int:visit_id>/move", methods=["POST"])
@roles_required(*DESK)
def move_visit(visit_id: int) -> Any:
    v = visits.get_visit(visit_id, purpose="edit_view")
    form = MoveForm()
    back = request.form.get("back") == "board"
    if form.validate_on_submit():
        try:
            visits.move(v, form.to_state.data, version=form.version_number,
                        demographics_reviewed=form.demographics_reviewed.data,
                        insurance_reviewed=form.insurance_reviewed.data)
        except FieldErrors as exc:
            if "demographics_reviewed" in exc.errors or "insurance_reviewed" in exc.errors:
                # Check-in needs the review boxes: show them beside the visit.
                attach_errors(form, exc.errors)
                return _visit_page(v, 422, move_form=form)
            _flash_errors(exc)
        else:
            flash(f"{visits.STATE_LABELS[v.state]}.", "success")
    if back:  # today's board keeps following the calendar past midnight
        day = None if v.date_of_service == clock.today() else v.date_of_service.isoformat()
        return redirect(url_for("staff.board", day=day))
    return redirect(url_for("staff.visit", visit_id=v.id))


@bp.route("/visits/<int:visit_id>/diagnoses", methods=["POST"])
@roles_required(*DESK)
def add_diagnosis(visit_id: int) -> Any:
    v = visits.get_visit(visit_id, purpose="edit_view")
    form = DiagnosisForm()
    if form.validate_on_submit():
        try:
            d = charges.add_diagnosis(v, form.code.data)
        except FieldErrors as exc:
            attach_errors(form, exc.errors)
        else:
            note = charges.provisional_codes(v).get(d.code)
            flash(f"Diagnosis {d.sequence}: {d.code} added." + (f" {note}" if note else ""),
                  "warning" if note else "success")
            return redirect(url_for("staff.visit", visit_id=v.id, _anchor="charges"))
    return _visit_page(v, 422, diagnosis_form=form)


@bp.route("/visits/<int:visit_id>/diagnoses/<int:diagnosis_id>/<action>", methods=["POST"])
@roles_required(*DESK)
def change_diagnosis(visit_id: int, diagnosis_id: int, action: str) -> Any:
    if action not in ("up", "down", "remove") or not ToggleForm().validate_on_submit():
        abort(400)
    v = visits.get_visit(visit_id, purpose="edit_view")
    try:
        if action == "remove":
            charges.remove_diagnosis(v, diagnosis_id)
        else:
            charges.move_diagnosis(v, diagnosis_id, -1 if action == "up" else 1)
    except FieldErrors as exc:
        _flash_errors(exc)
    return redirect(url_for("staff.visit", visit_id=v.id, _anchor="charges"))


@bp.route("/visits/<int:visit_id>/lines", methods=["POST"])
@roles_required(*DESK)
def add_line(visit_id: int) -> Any:
    v = visits.get_visit(visit_id, purpose="edit_view")
    form = ChargeLineForm()
    if form.validate_on_submit():
        try:
            line = charges.save_line(v, form.line_data())
        except FieldErrors as exc:
            errors = dict(exc.errors)
            if "modifiers" in errors:
                errors["modifier1"] = errors.pop("modifiers")
            attach_errors(form, errors)
        else:
            notes = charges.provisional_codes(v)
            note = " ".join(dict.fromkeys(notes[c] for c in [line.code, *line.modifiers] if c in notes))
            flash(f"Line {line.line_no}: {line.code} added." + (f" {note}" if note else ""),
                  "warning" if note else "success")
            return redirect(url_for("staff.visit", visit_id=v.id, _anchor="charges"))
    return _visit_page(v, 422, line_form=form)


@bp.route("/visits/<int:visit_id>/lines/<int:line_id>/remove", methods=["POST"])
@roles_required(*DESK)
def remove_line(visit_id: int, line_id: int) -> Any:
    if not ToggleForm().validate_on_submit():
        abort(400)
    v = visits.get_visit(visit_id, purpose="edit_view")
    try:
        charges.remove_line(v, line_id)
    except FieldErrors as exc:
        _flash_errors(exc)
    return redirect(url_for("staff.visit", visit_id=v.id, _anchor="charges"))


@bp.route("/visits/<int:visit_id>/lock", methods=["POST"])
@roles_required(*BILLING_DESK)
def lock_charges(visit_id: int) -> Any:
    if not ToggleForm().validate_on_submit():
        abort(400)
    v = visits.get_visit(visit_id, purpose="edit_view")
    try:
        if request.form.get("unlock"):
            charges.unlock(v)
            flash("Charges unlocked for editing.", "info")
        else:
            charges.lock(v)
            if charges.provisional_codes(v):
                flash("Charges locked. Some codes are provisional: billing holds this visit until the "
                      "missing code table is imported; the practice administrator has been told.", "warning")
            else:
                flash("Charges locked: ready for billing.", "success")
    except FieldErrors as exc:
        _flash_errors(exc)
    return redirect(url_for("staff.visit", visit_id=v.id, _anchor="charges"))


@bp.route("/codes/search")
@roles_required(*BILLING_DESK)
def code_search() -> Any:
    """Search-as-you-type for charge entry. Codes, not patient data, travel
    in the query string."""
    text = request.args.get("q", "")[:60]
    system = request.args.get("system", "")
    on = request.args.get("date", "")
    try:
        day = date.fromisoformat(on) if on else None
    except ValueError:
        day = None
    hits = charges.search_codes(text, system, day)
    return jsonify([h.to_dict() for h in hits])


@bp.route("/patients/<int:patient_id>/payments/new", methods=["GET", "POST"])
@roles_required(*DESK)
def new_payment(patient_id: int) -> Any:
    chart = patients.get_patient(patient_id, purpose="edit_view")
    recent = [v for v in visits.visits_for_patient(chart.id)][:20]
    form = PaymentForm()
    form.set_visits(recent)
    if request.method == "GET":
        form.visit_id.data = request.args.get("visit", 0, type=int)
        visit_obj = next((v for v in recent if v.id == form.visit_id.data), None)
        due = payments.copay_due(chart, visit_obj)
        if due:
            form.amount.data = Decimal(due) / 100
        else:
            form.kind.data = "self_pay" if visit_obj else "prepayment"
    if form.validate_on_submit():
        visit_obj = next((v for v in recent if v.id == form.visit_id.data), None)
        try:
            payment = payments.record_payment(chart, form.payment_data(), visit=visit_obj)
        except FieldErrors as exc:
            attach_errors(form, exc.errors)
        else:
            flash(f"Payment recorded. Receipt {payment.receipt_number}.", "success")
            return redirect(url_for("staff.receipt", payment_id=payment.id))
    return render_form("staff/payment_form.html", form, patient=chart)


@bp.route("/payments/<int:payment_id>/receipt")
@roles_required(*BILLING_DESK)
def receipt(payment_id: int) -> Any:
    payment = payments.get_payment(payment_id)
    return render_template("staff/receipt.html", payment=payment, office=practice.get_practice(),
                           balance=payments.balance_after(payment),
                           void_form=VoidForm(formdata=None), zone=clock.practice_zone())


@bp.route("/payments/<int:payment_id>/void", methods=["POST"])
@roles_required(*DESK)
def void_payment(payment_id: int) -> Any:
    payment = payments.get_payment(payment_id)
    form = VoidForm()
    if form.validate_on_submit():
        try:
            payments.void_payment(payment, form.reason.data)
        except FieldErrors as exc:
            attach_errors(form, exc.errors)
        else:
            flash(f"Payment {payment.receipt_number} voided.", "success")
            return redirect(url_for("staff.receipt", payment_id=payment.id))
    return render_template("staff/receipt.html", payment=payment, office=practice.get_practice(),
                           balance=payments.balance_after(payment),
                           void_form=form, zone=clock.practice_zone()), 422


@bp.route("/day")
@roles_required(*BILLING_DESK)
def day_close() -> Any:
    day = _day_arg()
    totals = payments.daily_totals(day)
    return render_template("staff/day.html", totals=totals, today=clock.today(),
                           labels=visits.STATE_LABELS, zone=clock.practice_zone(),
                           chart=payments.takings_chart(totals))


@bp.route("/patients/<int:patient_id>/balance")
@roles_required(*BILLING_DESK)
def balance(patient_id: int) -> Any:
    chart = patients.get_patient(patient_id, purpose="balance_view")
    return render_template("staff/balance.html", patient=chart,
                           balance=payments.patient_balance(chart))
