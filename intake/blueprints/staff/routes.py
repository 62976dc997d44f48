"""Front desk: find, register and edit patients and their insurance."""

from __future__ import annotations

from typing import Any

from flask import (abort, current_app, flash, redirect, render_template, request, send_file,
                   url_for)
from flask_login import current_user

from intake.blueprints.staff import bp
from intake.forms import attach_errors
from intake.forms.coverage import CardForm, CoverageForm, EndCoverageForm
from intake.forms.admin import ToggleForm
from intake.forms.patient import DuplicateProbeForm, PatientForm, SearchForm
from intake.inputs import body_limit, cards
from intake.models.user import Role
from intake.security import roles_required
from intake.services import FieldErrors, coverages, duplicates, patients, visits
from intake.templating import render_form

DESK = (Role.RECEPTIONIST, Role.ADMIN)
READ = (Role.RECEPTIONIST, Role.BILLING, Role.ADMIN)




@bp.route("/", methods=["GET", "POST"])
@roles_required(*READ)
def index() -> Any:
    """Search first: the front desk looks for a chart before making one.
    Searches are POSTed so names and birth dates stay out of URLs and logs."""
    form = SearchForm()
    results, kind = None, None
    if form.validate_on_submit():
        results, kind = patients.search_patients(form.q.data,
                                                 limit=current_app.config["INTAKE_SEARCH_LIMIT"])
    return render_template("staff/search.html", form=form, results=results, kind=kind)


@bp.route("/patients/new", methods=["GET", "POST"])
@roles_required(*DESK)
def register() -> Any:
    """Reached from a search (the typed term POSTed, so names stay out of the
    URL) it starts with what was searched for."""
    from intake.services.schedule.walk_in import prefill_from_search

    form = PatientForm()
    candidates: list[Any] = []
    searched = request.form.get("q")
    if searched is not None and "family_name" not in request.form:
        # CSRFProtect has checked the token app-wide; nothing is judged yet.
        for name, value in prefill_from_search(searched).items():
            form[name].data = value
        return render_template("staff/patient_form.html", form=form, candidates=[], patient=None)
    if form.validate_on_submit():
        try:
            patient = patients.register_patient(form.patient_data(),
                                                confirm_new=form.confirm_new.data)
        except patients.PossibleDuplicates as dup:
            candidates = dup.candidates
        except FieldErrors as exc:
            attach_errors(form, exc.errors)
        else:
            flash(f"Registered. MRN {patient.mrn}.", "success")
            return redirect(url_for("staff.patient", patient_id=patient.id))
    elif form.is_submitted() and not form.confirm_new.data:
        # Show likely matches with the field errors, so one more round
        # fixes both instead of two.
        candidates = _duplicates_for(form)
    return render_form("staff/patient_form.html", form, candidates=candidates,
                       patient=None)


def _duplicates_for(form: PatientForm, exclude: int | None = None,
                    threshold: int | None = None) -> list[Any]:
    """Candidates for what the form holds so far, fields that failed left out."""
    probe = {name: (form[name].data if not form[name].errors else None)
             for name in ("family_name", "given_name", "birth_date", "address_line1",
                          "postal_code", "email", "phone_mobile", "phone_home")}
    for name in ("phone_mobile", "phone_home"):
        if probe[name] and not str(probe[name]).startswith("+"):
            probe[name] = None  # not parsed (the live probe does not validate)
    found = duplicates.find(probe, exclude_id=exclude, threshold=threshold)
    duplicates.audit_shown(found)
    return found


@bp.route("/patients/duplicates", methods=["POST"])
@roles_required(*DESK)
def duplicate_check() -> Any:
    """Live warning while registering: the form posts what is typed so far."""
    form = DuplicateProbeForm()
    if not form.validate_on_submit():
        abort(400)
    for name in ("phone_mobile", "phone_home"):
        try:
            form[name].pre_validate(form)
        except ValueError:
            form[name].data = None
    # While typing, "possible" matches are listed too (labelled); saving
    # stops only on likely ones (the threshold).
    found = _duplicates_for(form, exclude=request.args.get("exclude", type=int),
                            threshold=duplicates.POSSIBLE_FLOOR)
    return render_template("staff/_duplicates.html", candidates=found, live=True)


def _chart_page(chart: Any, status: int = 200, **forms: Any) -> Any:
    """The chart, with the forms of its coverage panels (one may carry errors)."""
    context = {"action_form": ToggleForm(), "card_form": CardForm(),
               "end_form": EndCoverageForm(), **forms}
    return render_template("staff/patient.html", patient=chart,
                           visits=visits.visits_for_patient(chart.id),
                           visit_labels=visits.STATE_LABELS, **context), status


@bp.route("/patients/<int:patient_id>")
@roles_required(*READ)
def patient(patient_id: int) -> Any:
    return _chart_page(patients.get_patient(patient_id))


@bp.route("/patients/<int:patient_id>/edit", methods=["GET", "POST"])
@roles_required(*DESK)
def edit_patient(patient_id: int) -> Any:
    chart = patients.get_patient(patient_id, purpose="edit_view")
    form = PatientForm(obj=chart)
    if form.validate_on_submit():
        try:
            changed = patients.update_patient(chart, form.patient_data(),
                                              version=form.loaded_version)
        except FieldErrors as exc:
            attach_errors(form, exc.errors)
        else:
            flash("Saved." if changed else "No changes.", "success")
            return redirect(url_for("staff.patient", patient_id=chart.id))
    return render_form("staff/patient_form.html", form, patient=chart,
                       candidates=[])


def _coverage_form(patient: Any, coverage: Any = None) -> CoverageForm:
    form = CoverageForm(obj=coverage)
    form.set_payers(coverages.active_payers())
    if request.method == "GET" and coverage is not None and coverage.copay_cents is not None:
        from decimal import Decimal

        form.copay.data = Decimal(coverage.copay_cents) / 100
    return form


def _save_cards(coverage: Any, form: CoverageForm) -> None:
    for side, field in (("front", form.card_front), ("back", form.card_back)):
        if field.data:
            try:
                coverages.save_card(coverage, side, field.data.stream,
                                    upload_dir=current_app.config["INTAKE_UPLOAD_DIR"],
                                    max_bytes=current_app.config["INTAKE_CARD_MAX_BYTES"],
                                    uploaded_by_id=current_user.id)
            except FieldErrors as exc:
                raise FieldErrors({field.name: exc.errors.get("image", [])}) from exc


@bp.route("/patients/<int:patient_id>/coverages/new", methods=["GET", "POST"])
@roles_required(*DESK)
@body_limit(cards(2))
def add_coverage(patient_id: int) -> Any:
    chart = patients.get_patient(patient_id, purpose="edit_view")
    form = _coverage_form(chart)
    if request.method == "GET":
        form.rank.data = min(len([c for c in chart.coverages if c.is_active]) + 1, 3)
    if form.validate_on_submit():
        try:
            coverage = coverages.add_coverage(chart, form.coverage_data(), rank=form.rank.data)
            _save_cards(coverage, form)
        except FieldErrors as exc:
            attach_errors(form, exc.errors)
        else:
            flash("Coverage added.", "success")
            return redirect(url_for("staff.patient", patient_id=chart.id))
    return render_form("staff/coverage_form.html", form, patient=chart,
                       coverage=None)


@bp.route("/patients/<int:patient_id>/coverages/<int:coverage_id>/edit", methods=["GET", "POST"])
@roles_required(*DESK)
@body_limit(cards(2))
def edit_coverage(patient_id: int, coverage_id: int) -> Any:
    chart = patients.get_patient(patient_id, purpose="edit_view")
    coverage = coverages.get_coverage(chart, coverage_id)
    form = _coverage_form(chart, coverage)
    del form.rank  # order is changed with the move buttons
    if form.validate_on_submit():
        try:
            coverages.update_coverage(coverage, form.coverage_data())
            _save_cards(coverage, form)
        except FieldErrors as exc:
            attach_errors(form, exc.errors)
        else:
            flash("Coverage saved.", "success")
            return redirect(url_for("staff.patient", patient_id=chart.id))
    return render_form("staff/coverage_form.html", form, patient=chart,
                       coverage=coverage)


@bp.route("/patients/<int:patient_id>/coverages/<int:coverage_id>/end", methods=["POST"])
@roles_required(*DESK)
def end_coverage(patient_id: int, coverage_id: int) -> Any:
    chart = patients.get_patient(patient_id, purpose="edit_view")
    coverage = coverages.get_coverage(chart, coverage_id)
    form = EndCoverageForm()
    if form.validate_on_submit():
        try:
            coverages.end_coverage(coverage, form.end_date.data)
        except FieldErrors as exc:
            attach_errors(form, exc.errors)
        else:
            flash("Coverage ended.", "success")
            return redirect(url_for("staff.patient", patient_id=chart.id))
    return _chart_page(chart, 422, end_form=form, end_target=coverage.id)


@bp.route("/patients/<int:patient_id>/coverages/<int:coverage_id>/move/<direction>",
          methods=["POST"])
@roles_required(*DESK)
def move_coverage(patient_id: int, coverage_id: int, direction: str) -> Any:
    if direction not in ("up", "down") or not ToggleForm().validate_on_submit():
        abort(400)
    chart = patients.get_patient(patient_id, purpose="edit_view")
    try:
        coverages.move_coverage(coverages.get_coverage(chart, coverage_id), -1 if direction == "up" else 1)
    except FieldErrors as exc:
        flash(" ".join(m for ms in exc.errors.values() for m in ms), "danger")
    return redirect(url_for("staff.patient", patient_id=chart.id))


@bp.route("/patients/<int:patient_id>/coverages/<int:coverage_id>/cards", methods=["POST"])
@roles_required(*DESK)
@body_limit(cards(1))
def upload_card(patient_id: int, coverage_id: int) -> Any:
    chart = patients.get_patient(patient_id, purpose="edit_view")
    coverage = coverages.get_coverage(chart, coverage_id)
    form = CardForm()
    if form.validate_on_submit():
        try:
            coverages.save_card(coverage, form.side.data, form.image.data.stream,
                                upload_dir=current_app.config["INTAKE_UPLOAD_DIR"],
                                max_bytes=current_app.config["INTAKE_CARD_MAX_BYTES"],
                                uploaded_by_id=current_user.id)
        except FieldErrors as exc:
            attach_errors(form, exc.errors)
        else:
            flash("Card picture saved.", "success")
            return redirect(url_for("staff.patient", patient_id=chart.id))
    return _chart_page(chart, 422, card_form=form, card_target=coverage.id)


@bp.route("/patients/<int:patient_id>/cards/<int:card_id>")
@roles_required(*READ)
def card_image(patient_id: int, card_id: int) -> Any:
    chart = patients.get_patient(patient_id, purpose="card_view")
    path = coverages.card_path(chart, card_id, current_app.config["INTAKE_UPLOAD_DIR"])
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype="image/jpeg", max_age=0)
    response.headers["Cache-Control"] = "no-store"
    return response
