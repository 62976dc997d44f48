"""Email reminders through the practice's SMTP server, sent by the worker
(never in a request): the message names the time, provider and place, and
carries the .ics; no chart data beyond what the patient booked."""

from __future__ import annotations

import smtplib
from datetime import date, datetime, timezone
from email.message import EmailMessage

from flask import current_app
from sqlalchemy.orm import selectinload

from intake import database
from intake.extensions import db
from intake.models import Appointment, Patient
from intake.models.schedule import AppointmentStatus as A
from intake.services import FieldErrors, audit
from intake.services.clock import practice_zone
from intake.services.practice import get_practice
from intake.services.schedule import ics
from intake.services.schedule.finding import day_span


def enabled() -> bool:
    return bool(current_app.config.get("INTAKE_SMTP_HOST"))


def queue_email_reminders(day: date) -> int:
    """Queue one email per booked appointment of `day` whose patient has an
    address and has not been emailed; the worker sends them after commit."""
    if not enabled():
        raise FieldErrors({"email": ["Email reminders are off: the practice's SMTP server "
                                     "is not set (INTAKE_SMTP_HOST)."]})
    start, end = day_span(day)
    ids = list(db.session.execute(
        db.select(Appointment.id).join(Patient, Patient.id == Appointment.patient_id)
        .where(Appointment.start_at >= start, Appointment.start_at < end,
               Appointment.status == A.BOOKED, Appointment.reminder_emailed_at.is_(None),
               Patient.email.is_not(None))).scalars())

    def enqueue() -> None:
        from intake.tasks import send_reminder_email

        for appointment_id in ids:
            send_reminder_email(appointment_id)

    database.on_commit(enqueue)
    audit.record("appointment.email_queue", object_type="reminders", detail=f"count={len(ids)}")
    return len(ids)


def send_one(appointment_id: int) -> bool:
    """In the worker: send one reminder and stamp it. False if no longer due."""
    appt = db.session.execute(
        db.select(Appointment).where(Appointment.id == appointment_id)
        .options(selectinload(Appointment.patient), selectinload(Appointment.provider),
                 selectinload(Appointment.type))).scalar_one_or_none()
    if appt is None or appt.status != A.BOOKED or appt.reminder_emailed_at or not appt.patient.email:
        return False
    config = current_app.config
    office = get_practice()
    zone = practice_zone()
    local = appt.start_at.astimezone(zone)
    message = EmailMessage()
    message["From"] = config.get("INTAKE_SMTP_FROM") or config.get("INTAKE_SMTP_USER") or ""
    message["To"] = appt.patient.email
    message["Subject"] = f"Reminder: your appointment on {local:%A, %B %-d at %-I:%M %p}"
    message.set_content(
        f"This is a reminder of your {appt.type.name.lower()} appointment with "
        f"{appt.provider.display_name} at {office.name or 'our office'} on "
        f"{local:%A, %B %-d at %-I:%M %p}.\n\nPlease arrive 10 minutes early and bring your "
        f"insurance card." + (f" To change it, call {office.phone}." if office.phone else ""))
    message.add_attachment(ics.appointment_ics(appt, office, zone), maintype="text",
                           subtype="calendar", filename="appointment.ics")
    with smtplib.SMTP(config["INTAKE_SMTP_HOST"], int(config["INTAKE_SMTP_PORT"]),
                      timeout=30) as smtp:
        if config.get("INTAKE_SMTP_STARTTLS"):
            smtp.starttls()
        if config.get("INTAKE_SMTP_USER"):
            smtp.login(config["INTAKE_SMTP_USER"], config.get("INTAKE_SMTP_PASSWORD") or "")
        smtp.send_message(message)
    appt.reminder_emailed_at = datetime.now(timezone.utc)
    db.session.flush()
    audit.record("appointment.emailed", patient_id=appt.patient_id, object_type="appointment",
                 object_id=appt.id)
    return True
