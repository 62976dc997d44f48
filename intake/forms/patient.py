from __future__ import annotations

from typing import Any

from wtforms import (BooleanField, DateField, EmailField, HiddenField, SelectField,
                     SelectMultipleField, StringField)
from wtforms.validators import DataRequired, Email, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from intake import vocab
from intake.forms.base import BaseForm, PhoneField, options
from intake.forms.validators import past_date, person_name, us_zip
from intake.services.patients import PATIENT_FIELDS

class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PatientForm(BaseForm):
    family_name = StringField("Family (last) name", validators=[DataRequired(), Length(max=100), person_name],
                              render_kw={"autocomplete": "off"})
    given_name = StringField("Given (first) name", validators=[DataRequired(), Length(max=100), person_name],
                             render_kw={"autocomplete": "off"})
    middle_name = StringField("Middle name", validators=[Optional(), Length(max=100), person_name])
    suffix = StringField("Suffix", validators=[Optional(), Length(max=20)],
                         description="Jr., Sr., III")
    preferred_name = StringField("Preferred name", validators=[Optional(), Length(max=100), person_name])
    birth_date = DateField("Date of birth", validators=[DataRequired("Enter the date of birth."), past_date])
    # No default: a preselected "Female" was saved for men whenever nobody looked.
    sex = SelectField("Sex (administrative)", choices=options([("", "— choose —")] + vocab.SEX),
                      validators=[DataRequired("Choose the patient's sex.")])
    gender_identity = SelectField("Gender identity", choices=options(vocab.GENDER_IDENTITY),
                                  validators=[Optional()])
    address_line1 = StringField("Street address", validators=[Optional(), Length(max=200)])
    address_line2 = StringField("Apartment, suite", validators=[Optional(), Length(max=200)])
    city = StringField("City", validators=[Optional(), Length(max=100)])
    state = SelectField("State", choices=options([("", "—")] + vocab.US_STATES), validators=[Optional()])
    postal_code = StringField("ZIP code", validators=[Optional(), us_zip],
                              render_kw={"inputmode": "numeric", "autocomplete": "off"})
    phone_mobile = PhoneField("Mobile phone", render_kw={"type": "tel"})
    phone_home = PhoneField("Home phone", render_kw={"type": "tel"})
    email = EmailField("Email", validators=[Optional(), Length(max=254),
                                            Email("Enter an email address like name@example.com.")])
    preferred_language = SelectField("Preferred language", choices=options(vocab.LANGUAGES), default="en")
    races = MultiCheckboxField("Race (choose all that apply)", choices=options(vocab.RACE),
                               validators=[Optional()])
    ethnicity = SelectField("Ethnicity", choices=options(vocab.ETHNICITY), validators=[Optional()])
    marital_status = SelectField("Marital status", choices=options(vocab.MARITAL_STATUS), validators=[Optional()])
    emergency_name = StringField("Emergency contact name", validators=[Optional(), Length(max=200), person_name])
    emergency_relationship = StringField("Relationship", validators=[Optional(), Length(max=50)])
    emergency_phone = PhoneField("Emergency contact phone", render_kw={"type": "tel"})
    confirm_new = BooleanField("I checked the possible matches: this is a new patient")
    version = HiddenField()  # the chart's version when the form was loaded (edits only)

    @property
    def loaded_version(self) -> int | None:
        try:
            return int(self.version.data)
        except (TypeError, ValueError):
            return None

    ADDRESS = ("address_line1", "city", "state", "postal_code")

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        given = [name for name in self.ADDRESS if self[name].data]
        if given and len(given) < len(self.ADDRESS):
            for name in self.ADDRESS:
                if not self[name].data:
                    self[name].errors = list(self[name].errors) + ["Needed for a complete address."]
            ok = False
        if self.emergency_name.data and not self.emergency_phone.data:
            self.emergency_phone.errors = list(self.emergency_phone.errors) + [
                "Add a phone number for the emergency contact."]
            ok = False
        if "ASKU" in (self.races.data or []) and len(self.races.data) > 1:
            self.races.errors = list(self.races.errors) + [
                "'Prefer not to say' cannot be combined with a race."]
            ok = False
        return ok

    def patient_data(self) -> dict[str, Any]:
        return {name: self[name].data for name in PATIENT_FIELDS}


class DuplicateProbeForm(PatientForm):
    """The live duplicate check posts the half-filled form: nothing required."""

    def validate(self, extra_validators: Any = None) -> bool:
        return True


class SearchForm(BaseForm):
    q = StringField("Name, date of birth, phone or MRN",
                    validators=[DataRequired("Type something to search for."), Length(max=100)],
                    render_kw={"autocomplete": "off", "autofocus": True})
