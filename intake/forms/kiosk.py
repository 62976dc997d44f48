"""Kiosk forms: the patient's own intake, one form per step. Every label and
message is translated (Flask-Babel); dates are asked as a month by name, a
day and a year, so no one has to know which order a number date is read in.

WTForms' built-in messages are not in our catalogs, so every validator here
carries its own message and choice fields validate with `choice_in`."""

from __future__ import annotations

from datetime import date
from typing import Any

from babel.dates import get_month_names
from flask_babel import get_locale, gettext, lazy_gettext as _l, ngettext
from flask_wtf.file import FileField
from wtforms import (BooleanField, HiddenField, RadioField, SelectField, SelectMultipleField,
                     StringField)
from wtforms.validators import (DataRequired, Email, Length, Optional, StopValidation,
                                ValidationError)
from wtforms.widgets import CheckboxInput, ListWidget

from intake import vocab
from intake.forms.base import BaseForm, ParsedField, PhoneField, options
from intake.normalize import format_phone, is_valid_mbi
from intake.forms.validators import past_date, person_name, us_zip

STEPS = (
    ("about", _l("About you")),
    ("contact", _l("Contact and address")),
    ("emergency", _l("Emergency contact")),
    ("insurance", _l("Insurance")),
    ("consents", _l("Consents")),
    ("review", _l("Review")),
)
FORM_STEPS = tuple(name for name, _ in STEPS if name != "review")

# The order people of each language say a date in; the date boxes follow it.
DATE_FORMS = {"en": ("mdy",), "es": ("dmy",), "pl": ("dmy",), "nl": ("dmy",), "fr": ("dmy",),
              "id": ("dmy",), "ro": ("dmy",)}


def _language() -> str:
    locale = get_locale()
    return locale.language if locale is not None and locale.language in DATE_FORMS else "en"


class _Translations:
    """WTForms asks the form for translations; hand it Flask-Babel's."""

    def gettext(self, string: str) -> str:
        return gettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return ngettext(singular, plural, n)


class KioskForm(BaseForm):
    class Meta:
        def get_translations(self, form: Any) -> _Translations:
            return _Translations()

    FILE_FIELDS: tuple[str, ...] = ()
    TRANSIENT: tuple[str, ...] = ()  # posted but never kept in the draft

    def stored_values(self) -> dict[str, Any]:
        """What to keep in the draft: what was typed, as typed (valid dates as ISO)."""
        out: dict[str, Any] = {}
        for name, field in self._fields.items():
            if name == "csrf_token" or name in self.FILE_FIELDS or name in self.TRANSIENT:
                continue
            if isinstance(field, DatePartsField):
                out[name] = field.data.isoformat() if isinstance(field.data, date) \
                    else field.raw
            elif isinstance(field, PhoneField):
                out[name] = field.raw or ""
            elif isinstance(field, BooleanField):
                out[name] = "y" if field.data else ""
            elif isinstance(field, SelectMultipleField):
                out[name] = list(field.data or [])
            else:
                out[name] = field.data if isinstance(field.data, str) else (field.data or "")
        return out


# ---- fields and single-field checks ----------------------------------------

class DatePartsField(ParsedField):
    """A date asked as three parts: the month chosen by name, the day and the
    year typed (posted as <name>-month, <name>-day, <name>-year). A typed
    "11/02/1990" means 2 November to one patient and 11 February to another;
    a month by name means the same to everyone. `.raw` keeps the parts as
    "year-month-day" (ISO once valid), which is also how the draft stores it."""

    PARTS = ("year", "month", "day")

    def process(self, formdata: Any, data: Any = None, extra_filters: Any = None) -> None:
        if data is None:
            super().process(formdata, extra_filters=extra_filters)
        else:
            super().process(formdata, data, extra_filters)
        if formdata is not None:
            # "-" separates the parts in `.raw`; no date part contains one.
            parts = [(formdata.get(f"{self.name}-{p}") or "").strip().replace("-", "")[:20]
                     for p in self.PARTS]
            if any(parts):
                self.raw = self.data = "-".join(parts)

    def parts(self) -> dict[str, str]:
        """What is shown in the three boxes (the day and month without a leading zero)."""
        pieces = (self.raw or "").split("-")
        if len(pieces) != 3:
            return {p: "" for p in self.PARTS}
        out = dict(zip(self.PARTS, pieces, strict=True))
        for p in ("month", "day"):
            if out[p].isdecimal():
                out[p] = str(int(out[p]))
        return out

    def month_choices(self) -> list[tuple[str, str]]:
        """(1, "January")... in the page's language, as a calendar page names them."""
        locale = get_locale() or "en"
        names = get_month_names("wide", context="stand-alone", locale=locale)
        return [(str(n), names[n][:1].upper() + names[n][1:]) for n in range(1, 13)]

    def order(self) -> tuple[str, ...]:
        """The parts in the order people of this language say them."""
        return ("month", "day", "year") if DATE_FORMS[_language()][0] == "mdy" \
            else ("day", "month", "year")

    def parse(self, text: str) -> Any:
        pieces = text.split("-")
        if len(pieces) != 3:
            raise ValueError(gettext("Enter the day, the month and the year."))
        year, month, day = pieces
        if (day or year) and not month:
            raise ValueError(gettext("Choose the month."))
        if not all(pieces):
            raise ValueError(gettext("Enter the day, the month and the year."))
        if not (month.isdecimal() and 1 <= int(month) <= 12):
            raise ValueError(gettext("Choose the month."))
        if not (day.isdecimal() and 1 <= int(day) <= 31):
            raise ValueError(gettext("Enter the day as a number from 1 to 31."))
        if not (year.isdecimal() and len(year) == 4):
            raise ValueError(gettext("Enter the year with four digits, for example 1985."))
        try:
            return date(int(year), int(month), int(day))
        except ValueError:
            raise ValueError(gettext("That month does not have that many days.")) from None

    def _value(self) -> str:
        return self.raw or ""


class KioskPhoneField(PhoneField):
    def parse(self, text: str) -> str:
        try:
            return super().parse(text)
        except ValueError:
            raise ValueError(gettext(
                "Enter a 10-digit US phone number, for example (217) 555-0143.")) from None

    def _value(self) -> str:
        if self.raw:
            return self.raw
        return format_phone(self.data) if self.data else ""


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def choice_in(form: Any, field: Any) -> None:
    """The posted value(s) must be among the field's choices (when given)."""
    allowed = {str(c.value) if hasattr(c, "value") else str(c[0]) for c in field.choices or []}
    values = field.data if isinstance(field.data, list) else [field.data]
    if any(v not in (None, "") and str(v) not in allowed for v in values):
        raise ValidationError(gettext("Choose one of the options."))


def required(message: Any) -> DataRequired:
    return DataRequired(message=message)


class DateRequired:
    """Required for a DatePartsField: judged on what was typed, so a date that
    does not parse keeps its own message ("Enter the year with four digits...")."""

    field_flags = {"required": True}

    def __init__(self, message: Any):
        self.message = message

    def __call__(self, form: Any, field: Any) -> None:
        if not (field.raw or "").strip():
            raise StopValidation(str(self.message))


def too_long(limit: int) -> Length:
    return Length(max=limit, message=_l("This is too long."))


# ---- choices with translated labels (codes as in intake.vocab) -------------

SEX = [("female", _l("Female")), ("male", _l("Male")), ("other", _l("X / another sex")),
       ("unknown", _l("Prefer not to say"))]
RACE = [
    ("1002-5", _l("American Indian or Alaska Native")),
    ("2028-9", _l("Asian")),
    ("2054-5", _l("Black or African American")),
    ("2076-8", _l("Native Hawaiian or Other Pacific Islander")),
    ("2106-3", _l("White")),
    ("ASKU", _l("Prefer not to say")),
]
ETHNICITY = [("2135-2", _l("Hispanic or Latino")), ("2186-5", _l("Not Hispanic or Latino")),
             ("ASKU", _l("Prefer not to say"))]
RELATIONSHIP = [
    ("self", _l("I am the policyholder")),
    ("spouse", _l("Spouse")),
    ("common", _l("Domestic partner")),
    ("child", _l("Child of the policyholder")),
    ("other", _l("Other")),
]
SIGNER = [("self", _l("I am the patient")), ("parent", _l("Parent of the patient")),
          ("guardian", _l("Legal guardian")), ("representative", _l("Authorized representative"))]
YES_NO = [("yes", _l("Yes")), ("no", _l("No, I do not have health insurance"))]


# ---- the steps ----------------------------------------------------------------

class AboutForm(KioskForm):
    given_name = StringField(_l("First name"), validators=[
        required(_l("Enter your first name.")), too_long(100), person_name],
        render_kw={"autocomplete": "off"})
    middle_name = StringField(_l("Middle name"), validators=[Optional(), too_long(100), person_name],
                              render_kw={"autocomplete": "off"})
    family_name = StringField(_l("Last name"), validators=[
        required(_l("Enter your last name.")), too_long(100), person_name],
        render_kw={"autocomplete": "off"})
    preferred_name = StringField(_l("Name you like to be called"), validators=[
        Optional(), too_long(100), person_name], render_kw={"autocomplete": "off"})
    birth_date = DatePartsField(_l("Date of birth"), validators=[
        DateRequired(_l("Enter your date of birth.")), past_date])
    sex = RadioField(_l("Sex (as on your insurance card)"), choices=options(SEX),
                     validate_choice=False,
                     validators=[required(_l("Choose one of the options.")), choice_in])
    preferred_language = SelectField(
        _l("Language you prefer for your care"), validate_choice=False,
        choices=options([(code, vocab.LANGUAGE_ENDONYMS[code]) for code, _ in vocab.LANGUAGES]),
        validators=[required(_l("Choose one of the options.")), choice_in])
    races = MultiCheckboxField(_l("Race (optional, choose all that apply)"), choices=options(RACE),
                               validate_choice=False, validators=[Optional(), choice_in])
    ethnicity = RadioField(_l("Ethnicity (optional)"), choices=options(ETHNICITY),
                           validate_choice=False, validators=[Optional(), choice_in])

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        if "ASKU" in (self.races.data or []) and len(self.races.data) > 1:
            self.races.errors = list(self.races.errors) + [
                gettext("“Prefer not to say” cannot be combined with another choice.")]
            ok = False
        return ok

    def cleaned(self) -> dict[str, Any]:
        return {"given_name": self.given_name.data, "middle_name": self.middle_name.data or None,
                "family_name": self.family_name.data,
                "preferred_name": self.preferred_name.data or None,
                "birth_date": self.birth_date.data, "sex": self.sex.data,
                "preferred_language": self.preferred_language.data,
                "races": sorted(set(self.races.data or [])),
                "ethnicity": self.ethnicity.data or None}


class ContactForm(KioskForm):
    address_line1 = StringField(_l("Street address"), validators=[
        required(_l("Enter your street address.")), too_long(200)],
        render_kw={"autocomplete": "off"})
    address_line2 = StringField(_l("Apartment, suite or unit (optional)"),
                                validators=[Optional(), too_long(200)],
                                render_kw={"autocomplete": "off"})
    city = StringField(_l("City"), validators=[required(_l("Enter your city.")), too_long(100)],
                       render_kw={"autocomplete": "off"})
    state = SelectField(_l("State"), validate_choice=False,
                        choices=options([("", _l("Choose a state"))] + vocab.US_STATES),
                        validators=[required(_l("Choose your state.")), choice_in])
    postal_code = StringField(_l("ZIP code"), validators=[
        required(_l("Enter your ZIP code.")), us_zip],
        render_kw={"inputmode": "numeric", "autocomplete": "off"})
    phone_mobile = KioskPhoneField(_l("Mobile phone"), render_kw={"type": "tel", "autocomplete": "off"})
    phone_home = KioskPhoneField(_l("Home phone (optional)"),
                                 render_kw={"type": "tel", "autocomplete": "off"})
    email = StringField(_l("Email (optional)"), validators=[
        Optional(), too_long(254),
        Email(message=_l("Enter an email address like name@example.com."))],
        render_kw={"type": "email", "autocomplete": "off", "inputmode": "email"})

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        if not self.phone_mobile.errors and not self.phone_home.errors and not (
                self.phone_mobile.data or self.phone_home.data):
            self.phone_mobile.errors = list(self.phone_mobile.errors) + [
                gettext("Enter at least one phone number.")]
            ok = False
        return ok

    def cleaned(self) -> dict[str, Any]:
        return {"address_line1": self.address_line1.data,
                "address_line2": self.address_line2.data or None,
                "city": self.city.data, "state": self.state.data,
                "postal_code": self.postal_code.data,
                "phone_mobile": self.phone_mobile.data or None,
                "phone_home": self.phone_home.data or None,
                "email": self.email.data or None}


class EmergencyForm(KioskForm):
    emergency_name = StringField(_l("Full name"), validators=[
        Optional(), too_long(200), person_name], render_kw={"autocomplete": "off"})
    emergency_relationship = StringField(_l("Relationship to you"), validators=[
        Optional(), too_long(50)], render_kw={"autocomplete": "off"})
    emergency_phone = KioskPhoneField(_l("Phone"), render_kw={"type": "tel", "autocomplete": "off"})

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        if self.emergency_name.data and not self.emergency_phone.data \
                and not self.emergency_phone.errors:
            self.emergency_phone.errors = list(self.emergency_phone.errors) + [
                gettext("Add a phone number for your emergency contact.")]
            ok = False
        if (self.emergency_phone.data or self.emergency_relationship.data) \
                and not self.emergency_name.data:
            self.emergency_name.errors = list(self.emergency_name.errors) + [
                gettext("Enter the name of your emergency contact.")]
            ok = False
        return ok

    def cleaned(self) -> dict[str, Any]:
        return {"emergency_name": self.emergency_name.data or None,
                "emergency_relationship": self.emergency_relationship.data or None,
                "emergency_phone": self.emergency_phone.data or None}


COVERAGE_SLOTS = ("primary", "secondary")


def _coverage_fields(slot: str) -> dict[str, Any]:
    return {
        f"{slot}_payer_id": SelectField(_l("Insurance company"), validate_choice=False,
                                        choices=[], validators=[choice_in]),
        f"{slot}_member_id": StringField(_l("Member ID"), validators=[Optional(), too_long(40)],
                                         render_kw={"autocomplete": "off"}),
        f"{slot}_group_number": StringField(_l("Group number (optional)"),
                                            validators=[Optional(), too_long(40)],
                                            render_kw={"autocomplete": "off"}),
        f"{slot}_relationship_code": RadioField(
            _l("Who is the policyholder?"), choices=options(RELATIONSHIP), default="self",
            validate_choice=False, validators=[choice_in]),
        f"{slot}_subscriber_given": StringField(_l("Policyholder's first name"), validators=[
            Optional(), too_long(100), person_name], render_kw={"autocomplete": "off"}),
        f"{slot}_subscriber_family": StringField(_l("Policyholder's last name"), validators=[
            Optional(), too_long(100), person_name], render_kw={"autocomplete": "off"}),
        f"{slot}_subscriber_birth_date": DatePartsField(
            _l("Policyholder's date of birth"), validators=[past_date]),
        f"{slot}_card_front": FileField(_l("Photo of the front of the card"),
                                        render_kw={"accept": "image/*", "capture": "environment"}),
        f"{slot}_card_back": FileField(_l("Photo of the back of the card"),
                                       render_kw={"accept": "image/*", "capture": "environment"}),
    }


class _InsuranceBase(KioskForm):
    FILE_FIELDS = tuple(f"{slot}_card_{side}" for slot in COVERAGE_SLOTS
                        for side in ("front", "back"))
    has_insurance = RadioField(_l("Do you have health insurance?"), choices=options(YES_NO),
                               validate_choice=False,
                               validators=[required(_l("Choose one of the options.")), choice_in])
    has_secondary = BooleanField(_l("I have a second insurance plan"))

    payer_kinds: dict[str, str] = {}
    cards_on_file: set[str] = set()

    def set_payers(self, payers: list[Any]) -> None:
        self.payer_kinds = {str(p.id): p.kind for p in payers}
        choices = options([("", gettext("Choose your insurance company"))]
                          + [(str(p.id), p.name) for p in payers])
        for slot in COVERAGE_SLOTS:
            self[f"{slot}_payer_id"].choices = choices

    def slots(self) -> list[str]:
        if self.has_insurance.data != "yes":
            return []
        return ["primary", "secondary"] if self.has_secondary.data else ["primary"]

    def _require(self, name: str, message: str) -> bool:
        if not self[name].data and not self[name].errors:
            self[name].errors = list(self[name].errors) + [message]
            return False
        return True

    def validate(self, extra_validators: Any = None) -> bool:
        super().validate(extra_validators)
        active = self.slots()
        for slot in COVERAGE_SLOTS:
            # Fields of a plan not in use (or of a policyholder who is the patient) do not count.
            if slot not in active:
                ignored = [n for n in self._fields if n.startswith(slot + "_")]
            elif (self[f"{slot}_relationship_code"].data or "self") == "self":
                ignored = [f"{slot}_subscriber_{p}" for p in ("given", "family", "birth_date")]
            else:
                ignored = []
            for name in ignored:
                self[name].errors = []
        ok = not any(field.errors for field in self)
        for slot in active:
            payer = self[f"{slot}_payer_id"].data
            ok &= self._require(f"{slot}_payer_id", gettext("Choose your insurance company."))
            kind = self.payer_kinds.get(str(payer or ""))
            member = self[f"{slot}_member_id"]
            if payer and not member.data and not member.errors:
                ok &= self._require(member.name, gettext("Enter the member ID from your card."))
            elif kind == "medicare" and member.data and not is_valid_mbi(member.data):
                member.errors = list(member.errors) + [gettext(
                    "A Medicare number has 11 letters and digits, for example 1EG4-TE5-MK73.")]
                ok = False
            if (self[f"{slot}_relationship_code"].data or "self") != "self":
                for part, message in (
                        ("subscriber_given", gettext("Enter the policyholder's first name.")),
                        ("subscriber_family", gettext("Enter the policyholder's last name.")),
                        ("subscriber_birth_date",
                         gettext("Enter the policyholder's date of birth."))):
                    ok &= self._require(f"{slot}_{part}", message)
        return bool(ok)

    def cleaned(self) -> list[dict[str, Any]]:
        out = []
        for slot in self.slots():
            relationship = self[f"{slot}_relationship_code"].data or "self"
            item = {"slot": slot, "payer_id": int(self[f"{slot}_payer_id"].data),
                    "member_id": self[f"{slot}_member_id"].data or None,
                    "group_number": self[f"{slot}_group_number"].data or None,
                    "relationship_code": relationship,
                    "subscriber_given": None, "subscriber_family": None,
                    "subscriber_birth_date": None}
            if relationship != "self":
                item.update(subscriber_given=self[f"{slot}_subscriber_given"].data,
                            subscriber_family=self[f"{slot}_subscriber_family"].data,
                            subscriber_birth_date=self[f"{slot}_subscriber_birth_date"].data)
            out.append(item)
        return out


InsuranceForm = type("InsuranceForm", (_InsuranceBase,), {
    name: field for slot in COVERAGE_SLOTS for name, field in _coverage_fields(slot).items()})




class _ConsentsBase(KioskForm):
    TRANSIENT = tuple(f"{kind}_signature" for kind in vocab.CONSENT_KINDS)
    signer_name = StringField(_l("Full name of the person signing"), validators=[
        required(_l("Enter the full name of the person signing.")), too_long(200), person_name],
        render_kw={"autocomplete": "off"})
    signer_relationship = RadioField(_l("Who is signing?"), choices=options(SIGNER),
                                     default="self", validate_choice=False,
                                     validators=[required(_l("Choose one of the options.")),
                                                 choice_in])
    comm_sms = BooleanField(_l("Text messages to my mobile phone"))
    comm_email = BooleanField(_l("Email"))
    comm_voicemail = BooleanField(_l("Detailed voicemail messages"))

    signed_already: set[str] = set()  # drawn signatures kept in the draft

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        signer = " ".join((self.signer_name.data or "").split()).casefold()
        for kind in vocab.CONSENT_KINDS:
            typed = self[f"{kind}_typed"]
            drawn = kind in self.signed_already or bool(self[f"{kind}_signature"].data)
            if drawn or typed.errors:
                continue
            if not typed.data:
                typed.errors = list(typed.errors) + [
                    gettext("Sign with your finger, or type your full name.")]
                ok = False
            elif signer and " ".join(typed.data.split()).casefold() != signer:
                typed.errors = list(typed.errors) + [
                    gettext("Type the same full name as the person signing.")]
                ok = False
        return ok

    def typed_names(self) -> dict[str, str | None]:
        return {kind: self[f"{kind}_typed"].data or None for kind in vocab.CONSENT_KINDS}

    def choices(self) -> dict[str, bool]:
        return {"sms": bool(self.comm_sms.data), "email": bool(self.comm_email.data),
                "voicemail": bool(self.comm_voicemail.data)}


ConsentsForm = type("ConsentsForm", (_ConsentsBase,), {
    **{f"{kind}_signature": HiddenField() for kind in vocab.CONSENT_KINDS},
    **{f"{kind}_typed": StringField(_l("Or type your full name to sign"),
                                    validators=[Optional(), too_long(200), person_name],
                                    render_kw={"autocomplete": "off"})
       for kind in vocab.CONSENT_KINDS},
})

STEP_FORMS: dict[str, type[KioskForm]] = {
    "about": AboutForm, "contact": ContactForm, "emergency": EmergencyForm,
    "insurance": InsuranceForm, "consents": ConsentsForm,
}


class EnrollForm(BaseForm):
    """Used once per tablet by the office's administrator (English: staff text)."""

    code = StringField("Enrollment code", validators=[DataRequired("Enter the code."),
                                                      Length(max=20)],
                       render_kw={"autocomplete": "off", "autocapitalize": "characters"})


class KioskButtonForm(KioskForm):
    """A bare POST with CSRF (start, start over, submit, keep-alive)."""


# Markers so the extractor puts WTForms' own messages in our catalogs, in case
# one surfaces through a field we did not give a message.
_WTFORMS_MESSAGES = (_l("Not a valid choice."), _l("This field is required."))
