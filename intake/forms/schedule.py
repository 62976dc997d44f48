"""Forms of the schedule: booking, moving, cancelling, the waitlist."""

from __future__ import annotations

from typing import Any

from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField, TimeField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from intake.forms.base import BaseForm, options


class AppointmentForm(BaseForm):
    type_id = SelectField("Appointment type", coerce=int,
                          validators=[DataRequired("Choose an appointment type.")])
    provider_id = SelectField("Provider", coerce=int, validators=[DataRequired("Choose a provider.")])
    day = DateField("Date", validators=[DataRequired("Enter the date.")])
    start = TimeField("Time", validators=[DataRequired("Enter the time, like 10:40.")])
    minutes = IntegerField("Length (minutes)", validators=[Optional(), NumberRange(5, 480)],
                           description="Empty: the type's usual length.")
    reason = StringField("Reason", validators=[Optional(), Length(max=200)])
    note = StringField("Note for the desk", validators=[Optional(), Length(max=500)])
    repeat_weeks = IntegerField("Repeat every (weeks)", validators=[Optional(), NumberRange(1, 52)])
    repeat_times = IntegerField("Times in all", validators=[Optional(), NumberRange(2, 52)])
    overbook_reason = StringField("Overbook: reason", validators=[Optional(), Length(max=200)],
                                  description="Only to book over a conflict, with the reason.")

    def set_choices(self, types: list[Any], providers: list[Any]) -> None:
        self.type_id.choices = options([(0, "— choose —")] + [
            (t.id, f"{t.name} ({t.minutes} min)") for t in types])
        self.provider_id.choices = options([(0, "— choose —")] + [
            (p.id, p.display_name) for p in providers])


class MoveAppointmentForm(BaseForm):
    provider_id = SelectField("Provider", coerce=int, validators=[DataRequired("Choose a provider.")])
    day = DateField("New date", validators=[DataRequired("Enter the date.")])
    start = TimeField("New time", validators=[DataRequired("Enter the time, like 10:40.")])
    following = BooleanField("This and the following appointments of the series")
    overbook_reason = StringField("Overbook: reason", validators=[Optional(), Length(max=200)])


class CancelAppointmentForm(BaseForm):
    reason = StringField("Reason for cancelling", validators=[
        DataRequired("Say why it is cancelled."), Length(max=200)])
    following = BooleanField("Also cancel the following appointments of the series")


class ConfirmForm(BaseForm):
    """A POST that asks to be sure (no-show, arrival)."""


class WaitlistForm(BaseForm):
    type_id = SelectField("Appointment type", coerce=int,
                          validators=[DataRequired("Choose an appointment type.")])
    provider_id = SelectField("Preferred provider", coerce=int, validators=[Optional()])
    part_of_day = SelectField("Time of day", choices=options(
        [("any", "Any time"), ("am", "Mornings"), ("pm", "Afternoons")]))
    note = StringField("Note", validators=[Optional(), Length(max=200)])


class ReminderForm(BaseForm):
    outcome = SelectField("Call outcome", choices=options(
        [("reached", "Reached"), ("message", "Left message"), ("no_answer", "No answer")]))


class WalkInForm(BaseForm):
    """The visit part of the walk-in screen (patient and insurance parts are
    the usual PatientForm and CoverageForm, prefixed)."""

    provider_id = SelectField("Provider", coerce=int, validators=[DataRequired("Choose a provider.")])
    type_id = SelectField("Appointment type", coerce=int,
                          validators=[DataRequired("Choose an appointment type.")])
    reason = StringField("Reason for visit", validators=[Optional(), Length(max=200)])
    same_subscriber = BooleanField("Second plan: same subscriber as the primary")
    add_secondary = BooleanField("Add a second insurance plan")


class AppointmentTypeForm(BaseForm):
    name = StringField("Name", validators=[DataRequired("Name the type."), Length(max=60)])
    minutes = IntegerField("Length (minutes)", default=20, validators=[
        DataRequired("Give the usual length."), NumberRange(5, 480)])
    colour = StringField("Colour", default="#0d6efd", render_kw={"type": "color"},
                         validators=[Length(max=7)])
    new_patients = BooleanField("New patients may book it", default=True)


_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class TemplateForm(BaseForm):
    """A provider's week: per weekday, hours and breaks as "08:00-12:00, 13:00-17:00"."""

    provider_id = SelectField("Provider", coerce=int, validators=[DataRequired("Choose a provider.")])
    effective_from = DateField("In force from", validators=[DataRequired("Enter the date.")])

    def day_fields(self) -> list[tuple[str, Any, Any]]:
        return [(day, self[f"hours_{n}"], self[f"breaks_{n}"]) for n, day in enumerate(_DAYS)]


for _n, _day in enumerate(_DAYS):
    setattr(TemplateForm, f"hours_{_n}", StringField(f"{_day} hours", validators=[Length(max=80)],
                                                     description="e.g. 08:00-17:00"))
    setattr(TemplateForm, f"breaks_{_n}", StringField(f"{_day} breaks", validators=[Length(max=80)],
                                                      description="e.g. 12:00-13:00"))


class ExceptionForm(BaseForm):
    provider_id = SelectField("Provider", coerce=int,
                              description="Everyone for a practice holiday.")
    day = DateField("Day", validators=[DataRequired("Enter the day.")])
    kind = SelectField("Kind", choices=options([("day_off", "Day off"), ("half_day", "Half day"),
                                                 ("holiday", "Practice holiday")]))
    starts = TimeField("Off from", validators=[Optional()])
    ends = TimeField("Off until", validators=[Optional()])
    note = StringField("Note", validators=[Optional(), Length(max=120)])
