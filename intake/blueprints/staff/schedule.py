"""The schedule at the desk: book, move, cancel, no-show, arrive; finding
time; day and week views; the reminder calls; the .ics for the patient."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Response, flash, jsonify, redirect, render_template, request, url_for

from intake.blueprints.staff import bp
from intake.blueprints.staff.routes import DESK
from intake.forms import attach_errors
from intake.forms.desk import DayForm
from intake.forms.schedule import (AppointmentForm, CancelAppointmentForm, ConfirmForm,
                                   MoveAppointmentForm, ReminderForm, WaitlistForm)
from intake.models.schedule import AppointmentStatus
from intake.security import roles_required
from intake.services import FieldErrors, clock, patients, practice
from intake.services.schedule import board as day_board
from intake.services.schedule import booking, finding, ics, series, waitlist

BACK_TO_BOARD = "board"


def _day_arg(name: str = "day") -> date:
    form = DayForm(request.args)
    value = request.values.get(name)
    try:
        return date.fromisoformat(value) if value else clock.today()
    except ValueError:
        return form.day.data or clock.today()


def _slots(type_id: int, provider_id: int | None, limit: int = 12) -> list[dict[str, Any]]:
    zone = clock.practice_zone()
    names = {p.id: p.display_name for p in practice.list_providers(active_only=True)}
    out = []
    for slot in finding.next_open_slots(type_id, provider_id=provider_id or None, limit=limit):
        local = slot.start.astimezone(zone)
        out.append({"day": local.date().isoformat(), "time": local.strftime("%H:%M"),
                    "label": f"{local:%a %m/%d} {local:%H:%M}", "provider_id": slot.provider_id,
                    "provider": names.get(slot.provider_id, "")})
    return out


@bp.route("/schedule/slots")
@roles_required(*DESK)
def open_slots() -> Any:
    """Next open times for a type (and provider), fetched as the desk chooses.
    Only ids travel in the query string."""
    type_id = request.args.get("type", 0, type=int)
    provider_id = request.args.get("provider", 0, type=int)
    try:
        return jsonify(_slots(type_id, provider_id))
    except FieldErrors:
        return jsonify([])


@bp.route("/patients/<int:patient_id>/appointments/new", methods=["GET", "POST"])
@roles_required(*DESK)
def new_appointment(patient_id: int) -> Any:
    chart = patients.get_patient(patient_id, purpose="edit_view")
    form = AppointmentForm()
    form.set_choices(booking.list_types(), practice.list_providers(active_only=True))
    if request.method == "GET":
        form.day.data = clock.today()
        form.type_id.data = request.args.get("type", 0, type=int)
        form.provider_id.data = request.args.get("provider", 0, type=int)
    if form.validate_on_submit():
        data = {"patient_id": chart.id, "provider_id": form.provider_id.data,
                "type_id": form.type_id.data,
                "start": booking.local_start(form.day.data, form.start.data),
                "minutes": form.minutes.data, "reason": form.reason.data, "note": form.note.data,
                "overbook_reason": form.overbook_reason.data}
        try:
            if form.repeat_weeks.data and form.repeat_times.data:
                booked = series.book_series(data, every_weeks=form.repeat_weeks.data,
                                            times=form.repeat_times.data)
                appt = booked[0]
                flash(f"Series booked: {len(booked)} appointments.", "success")
            else:
                appt = booking.book(data)
                flash("Appointment booked.", "success")
        except FieldErrors as exc:
            attach_errors(form, exc.errors)
        else:
            return redirect(url_for("staff.appointment", appointment_id=appt.id))
    slots = []
    if form.type_id.data:
        slots = _slots(form.type_id.data, form.provider_id.data)
    return render_template("staff/appointment_form.html", form=form, patient=chart, slots=slots), \
        422 if form.errors else 200


def _appointment_page(appt: Any, status: int = 200, **forms: Any) -> Any:
    providers = practice.list_providers(active_only=True)
    move_form = forms.get("move_form") or MoveAppointmentForm(formdata=None)
    move_form.provider_id.choices = [(p.id, p.display_name) for p in providers]
    if not forms.get("move_form"):
        local = appt.start_at.astimezone(clock.practice_zone())
        move_form.provider_id.data, move_form.day.data = appt.provider_id, local.date()
        move_form.start.data = local.time()
    return render_template(
        "staff/appointment.html", appt=appt, zone=clock.practice_zone(), move_form=move_form,
        confirm_form=ConfirmForm(), offers=forms.get("offers", []),
        series_label=series.every_weeks_label(appt.series.rule) if appt.series else None,
        statuses=day_board.STATUS_LABELS, now=booking._now()), status


@bp.route("/appointments/<int:appointment_id>")
@roles_required(*DESK)
def appointment(appointment_id: int) -> Any:
    appt = booking.get_appointment(appointment_id)
    offers = waitlist.offers_for(appt) if appt.status == AppointmentStatus.CANCELLED else []
    return _appointment_page(appt, offers=offers)


@bp.route("/appointments/<int:appointment_id>/move", methods=["POST"])
@roles_required(*DESK)
def move_appointment(appointment_id: int) -> Any:
    appt = booking.get_appointment(appointment_id, purpose="edit_view")
    form = MoveAppointmentForm()
    form.provider_id.choices = [(p.id, p.display_name)
                                for p in practice.list_providers(active_only=True)]
    if form.validate_on_submit():
        start = booking.local_start(form.day.data, form.start.data)
        try:
            if form.following.data and appt.series_id:
                moved = series.move_following(appt, start)
                flash(f"Moved {len(moved)} appointments of the series.", "success")
            else:
                booking.reschedule(appt, start=start, provider_id=form.provider_id.data,
                                   overbook_reason=form.overbook_reason.data)
                flash("Appointment moved.", "success")
        except FieldErrors as exc:
            attach_errors(form, {("day" if k == "start" else k): v for k, v in exc.errors.items()})
        else:
            return redirect(url_for("staff.appointment", appointment_id=appt.id))
    return _appointment_page(appt, 422, move_form=form)


@bp.route("/appointments/<int:appointment_id>/cancel", methods=["GET", "POST"])
@roles_required(*DESK)
def cancel_appointment(appointment_id: int) -> Any:
    """Asks to confirm, with the reason, before cancelling."""
    appt = booking.get_appointment(appointment_id, purpose="edit_view")
    form = CancelAppointmentForm()
    if form.validate_on_submit():
        try:
            if form.following.data and appt.series_id:
                done = series.cancel_following(appt, form.reason.data)
                flash(f"Cancelled {len(done)} appointments of the series.", "success")
            else:
                booking.cancel(appt, form.reason.data)
                flash("Appointment cancelled.", "success")
        except FieldErrors as exc:
            attach_errors(form, exc.errors)
        else:
            if request.form.get("back") == BACK_TO_BOARD:
                return redirect(url_for("staff.board"))
            return redirect(url_for("staff.appointment", appointment_id=appt.id))
    return render_template("staff/appointment_confirm.html", appt=appt, form=form,
                           action="cancel", zone=clock.practice_zone(),
                           back=request.values.get("back")), 422 if form.errors else 200


@bp.route("/appointments/<int:appointment_id>/no-show", methods=["GET", "POST"])
@roles_required(*DESK)
def no_show_appointment(appointment_id: int) -> Any:
    appt = booking.get_appointment(appointment_id, purpose="edit_view")
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            booking.no_show(appt)
            flash("Marked as no-show.", "success")
        except FieldErrors as exc:
            for messages in exc.errors.values():
                for message in messages:
                    flash(message, "danger")
        return redirect(url_for("staff.board") if request.form.get("back") == BACK_TO_BOARD
                        else url_for("staff.appointment", appointment_id=appt.id))
    return render_template("staff/appointment_confirm.html", appt=appt, form=form,
                           action="no_show", zone=clock.practice_zone(),
                           back=request.values.get("back"))


@bp.route("/appointments/<int:appointment_id>/arrive", methods=["POST"])
@roles_required(*DESK)
def arrive_appointment(appointment_id: int) -> Any:
    appt = booking.get_appointment(appointment_id, purpose="edit_view")
    if ConfirmForm().validate_on_submit():
        try:
            booking.arrive(appt)
            flash("Arrived.", "success")
        except FieldErrors as exc:
            for messages in exc.errors.values():
                for message in messages:
                    flash(message, "danger")
    if request.form.get("back") == BACK_TO_BOARD:
        return redirect(url_for("staff.board"))
    return redirect(url_for("staff.appointment", appointment_id=appt.id))


@bp.route("/appointments/<int:appointment_id>/reminder", methods=["POST"])
@roles_required(*DESK)
def remind_appointment(appointment_id: int) -> Any:
    appt = booking.get_appointment(appointment_id, purpose="edit_view")
    form = ReminderForm()
    if form.validate_on_submit():
        booking.mark_reminder(appt, form.outcome.data)
        flash("Call noted.", "success")
    return redirect(url_for("staff.reminders", day=booking.day_of(appt).isoformat()))


@bp.route("/reminders")
@roles_required(*DESK)
def reminders() -> Any:
    from intake.services.schedule import reminders as emails

    day = _day_arg() if request.args.get("day") else clock.today() + timedelta(days=1)
    return render_template("staff/reminders.html", day=day, appts=booking.reminder_list(day),
                           zone=clock.practice_zone(), form=ReminderForm(formdata=None),
                           email_on=emails.enabled(), confirm_form=ConfirmForm())


@bp.route("/reminders/email", methods=["POST"])
@roles_required(*DESK)
def email_reminders() -> Any:
    """Queue the day's email reminders for the worker; the page never waits on SMTP."""
    from intake.services.schedule import reminders as emails

    day = _day_arg()
    if ConfirmForm().validate_on_submit():
        try:
            count = emails.queue_email_reminders(day)
            flash(f"{count} email reminder{'s' if count != 1 else ''} queued.", "success")
        except FieldErrors as exc:
            flash(exc.errors["email"][0], "danger")
    return redirect(url_for("staff.reminders", day=day.isoformat()))


@bp.route("/appointments/<int:appointment_id>/calendar")
@roles_required(*DESK)
def appointment_ics(appointment_id: int) -> Any:
    appt = booking.get_appointment(appointment_id, purpose="ics")
    office = practice.get_practice()
    return Response(ics.appointment_ics(appt, office, clock.practice_zone()),
                    mimetype="text/calendar",
                    headers={"Content-Disposition": "attachment; filename=appointment.ics"})


@bp.route("/schedule/day")
@roles_required(*DESK)
def schedule_day() -> Any:
    day = _day_arg()
    provider_id = request.args.get("provider", 0, type=int)
    providers = practice.list_providers(active_only=True)
    rows = day_board.day_board(day)
    if provider_id:
        rows = [r for r in rows if r.provider_id == provider_id]
    return render_template("staff/schedule_day.html", day=day, rows=rows, providers=providers,
                           provider_id=provider_id, labels=day_board.status_labels())


@bp.route("/schedule/week")
@roles_required(*DESK)
def schedule_week() -> Any:
    day = _day_arg()
    monday = day - timedelta(days=day.weekday())
    provider_id = request.args.get("provider", 0, type=int)
    days = day_board.week(monday, provider_id or None)
    return render_template("staff/schedule_week.html", monday=monday, days=days,
                           providers=practice.list_providers(active_only=True),
                           provider_id=provider_id, labels=day_board.status_labels(),
                           timedelta=timedelta)


@bp.route("/patients/<int:patient_id>/waitlist", methods=["GET", "POST"])
@roles_required(*DESK)
def add_to_waitlist(patient_id: int) -> Any:
    chart = patients.get_patient(patient_id, purpose="edit_view")
    form = WaitlistForm()
    form.type_id.choices = [(0, "— choose —")] + [(t.id, t.name) for t in booking.list_types()]
    form.provider_id.choices = [(0, "Any provider")] + [
        (p.id, p.display_name) for p in practice.list_providers(active_only=True)]
    if form.validate_on_submit():
        try:
            waitlist.add({"patient_id": chart.id, "type_id": form.type_id.data,
                          "provider_id": form.provider_id.data or None,
                          "weekdays": "".join(request.form.getlist("weekdays")) or "01234",
                          "part_of_day": form.part_of_day.data, "note": form.note.data})
        except FieldErrors as exc:
            attach_errors(form, exc.errors)
        else:
            flash("Added to the waitlist.", "success")
            return redirect(url_for("staff.patient", patient_id=chart.id))
    return render_template("staff/waitlist_form.html", form=form, patient=chart), \
        422 if form.errors else 200


def _walk_in_forms() -> tuple[Any, Any, Any, Any]:
    from intake.forms.coverage import CoverageForm
    from intake.forms.patient import PatientForm
    from intake.forms.schedule import WalkInForm
    from intake.services import payers

    no_csrf = {"csrf": False}  # one page, one token: CSRFProtect checks it app-wide
    patient = PatientForm(prefix="patient", meta=no_csrf)
    primary = CoverageForm(prefix="primary", meta=no_csrf)
    secondary = CoverageForm(prefix="secondary", meta=no_csrf)
    visit = WalkInForm(prefix="visit", meta=no_csrf)
    for form in (primary, secondary):
        form.set_payers(payers.list_payers())
        del form.rank  # the part of the page says which plan it is
    visit.provider_id.choices = [(0, "— choose —")] + [
        (p.id, p.display_name) for p in practice.list_providers(active_only=True)]
    visit.type_id.choices = [(0, "— choose —")] + [
        (t.id, t.name) for t in booking.list_types()]
    return patient, primary, secondary, visit


@bp.route("/walk-in", methods=["GET", "POST"])
@roles_required(*DESK)
def walk_in() -> Any:
    """A walk-in on one page: register, insure, book now, arrived. Reached
    from a search with no match, prefilled with what was searched (POSTed,
    so names stay out of the URL)."""
    from intake.services.schedule import walk_in as walk_ins

    patient, primary, secondary, visit = _walk_in_forms()
    candidates: list[Any] = []
    searched = request.form.get("q")
    if searched is not None and "patient-family_name" not in request.form:
        for name, value in walk_ins.prefill_from_search(searched).items():
            patient[name].data = value
        if len(types := visit.type_id.choices) == 2:
            visit.type_id.data = types[1][0]
        return render_template("staff/walk_in.html", patient=patient, primary=primary,
                               secondary=secondary, visit=visit, candidates=[])
    if request.method == "POST":
        with_primary = bool(primary.payer_id.data)
        with_secondary = bool(visit.add_secondary.data)
        checks = [patient.validate(), visit.validate(),
                  primary.validate() if with_primary else True,
                  secondary.validate() if with_secondary else True]
        if all(checks):
            forms = {"patient": patient, "primary": primary, "secondary": secondary,
                     "visit": visit}
            try:
                chart, arrived = walk_ins.register_and_arrive(
                    patient.patient_data(),
                    primary.coverage_data() if with_primary else None,
                    secondary.coverage_data() if with_secondary else None,
                    {"provider_id": visit.provider_id.data, "type_id": visit.type_id.data,
                     "reason": visit.reason.data},
                    confirm_new=patient.confirm_new.data,
                    same_subscriber=visit.same_subscriber.data)
            except patients.PossibleDuplicates as dup:
                candidates = dup.candidates
            except FieldErrors as exc:
                for key, messages in exc.errors.items():
                    part, _, name = key.partition("-")
                    attach_errors(forms.get(part, visit), {name: messages})
            else:
                flash(f"Registered (MRN {chart.mrn}) and arrived.", "success")
                return redirect(url_for("staff.visit", visit_id=arrived.id))
    status = 422 if request.method == "POST" else 200
    return render_template("staff/walk_in.html", patient=patient, primary=primary,
                           secondary=secondary, visit=visit, candidates=candidates), status
