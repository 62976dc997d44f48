"""Forms of the front desk: visits, board moves, charges, payments."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from wtforms import (BooleanField, DateField, DecimalField, HiddenField, IntegerField,
                     SelectField, StringField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from intake import vocab
from intake.forms.base import BaseForm, options


def cents(value: Decimal | None) -> int | None:
    return int((value * 100).to_integral_value()) if value is not None else None


class VisitForm(BaseForm):
    date_of_service = DateField("Date of service", validators=[DataRequired("Enter the date.")])
    provider_id = SelectField("Provider", coerce=int, validators=[DataRequired("Choose a provider.")])
    place_of_service = SelectField("Place of service", validators=[DataRequired()])
    reason = StringField("Reason for visit", validators=[Optional(), Length(max=200)])

    def set_choices(self, providers: list[Any], places: list[tuple[str, str]]) -> None:
        self.provider_id.choices = options([(0, "— choose —")] + [
            (p.id, p.display_name) for p in providers])
        self.place_of_service.choices = options(places)


class MoveForm(BaseForm):
    to_state = HiddenField(validators=[DataRequired()])
    version = HiddenField()
    demographics_reviewed = BooleanField("Demographics reviewed with the patient today")
    insurance_reviewed = BooleanField("Insurance card and coverage reviewed today")

    @property
    def version_number(self) -> int | None:
        try:
            return int(self.version.data)
        except (TypeError, ValueError):
            return None


class DiagnosisForm(BaseForm):
    code = StringField("ICD-10-CM code", validators=[DataRequired("Enter a diagnosis code."),
                                                     Length(max=10)],
                       render_kw={"autocomplete": "off", "data-code-search": "icd10cm"})


class ChargeLineForm(BaseForm):
    code = StringField("CPT / HCPCS code", validators=[DataRequired("Enter a procedure code."),
                                                       Length(max=7)],
                       render_kw={"autocomplete": "off", "data-code-search": "procedure"})
    modifier1 = StringField("Modifier 1", validators=[Optional(), Length(max=2)])
    modifier2 = StringField("Modifier 2", validators=[Optional(), Length(max=2)])
    modifier3 = StringField("Modifier 3", validators=[Optional(), Length(max=2)])
    modifier4 = StringField("Modifier 4", validators=[Optional(), Length(max=2)])
    units = IntegerField("Units", default=1, validators=[
        DataRequired("Enter the units."), NumberRange(1, 999, "Units are 1 to 999.")])
    amount = DecimalField("Charge per unit ($)", places=2, validators=[
        Optional(), NumberRange(Decimal("0"), Decimal("100000"), "Enter 0 to 100,000.")],
        description="Leave empty to use the fee schedule.")
    pointers = StringField("Diagnosis pointers", default="1", validators=[
        DataRequired("Enter 1 to 4 diagnosis numbers."),
        Regexp(r"^\s*\d{1,2}(\s*[, ]\s*\d{1,2}){0,3}\s*$",
               message="Enter 1 to 4 diagnosis numbers, like 1,2.")],
        description="Which diagnoses (by number) this line treats, most important first: 1,2")

    def line_data(self) -> dict[str, Any]:
        import re

        return {
            "code": self.code.data,
            "modifiers": [self.modifier1.data, self.modifier2.data, self.modifier3.data,
                          self.modifier4.data],
            "units": self.units.data,
            "unit_price_cents": cents(self.amount.data),
            "pointers": [int(n) for n in re.findall(r"\d+", self.pointers.data or "")],
        }


class PaymentForm(BaseForm):
    visit_id = SelectField("For visit", coerce=int, validators=[Optional()])
    kind = SelectField("For", choices=options(list(vocab.PAYMENT_KINDS.items())), default="copay")
    method = SelectField("Paid by", choices=options(list(vocab.PAYMENT_METHODS.items())), default="card")
    amount = DecimalField("Amount ($)", places=2, validators=[
        InputRequired("Enter the amount."),
        NumberRange(Decimal("0.01"), Decimal("10000"), "Enter an amount from 0.01 to 10,000.")])
    check_number = StringField("Check number", validators=[Optional(), Length(max=20)])
    note = StringField("Note", validators=[Optional(), Length(max=120)],
                       description="For 'other': how it was paid.")

    def set_visits(self, visits: list[Any]) -> None:
        self.visit_id.choices = options([(0, "Not for a visit (prepayment or balance)")] + [
            (v.id, f"{v.date_of_service:%m/%d/%Y} · {v.provider.display_name}") for v in visits])

    def payment_data(self) -> dict[str, Any]:
        return {"kind": self.kind.data, "method": self.method.data,
                "amount_cents": cents(self.amount.data),
                "check_number": self.check_number.data, "note": self.note.data}


class VoidForm(BaseForm):
    reason = StringField("Reason for the void", validators=[
        DataRequired("Give the reason for the void."), Length(min=3, max=200)])


class DayForm(BaseForm):
    class Meta:
        csrf = False  # a GET filter, changes nothing

    day = DateField("Day", validators=[Optional()])


# ---- the kiosk review queue ---------------------------------------------------

class AcceptForm(BaseForm):
    confirm_new = BooleanField("I checked the possible matches: this is a new patient")


class MergeTargetForm(BaseForm):
    mrn = StringField("Merge into the chart with MRN", validators=[
        DataRequired("Enter the MRN."), Length(max=16)],
        render_kw={"autocomplete": "off", "inputmode": "numeric"})


class MergeForm(BaseForm):
    """Per-field choices arrive as take_<field> = chart | kiosk radios."""


class RejectForm(BaseForm):
    reason = StringField("Reason for rejecting", validators=[
        DataRequired("Say why the submission is rejected."), Length(max=500)],
        description="For example: test entry, duplicate submission, patient left. "
                    "Avoid health details.")
