from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_wtf.file import FileAllowed, FileField
from wtforms import DateField, DecimalField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from intake import vocab
from intake.forms.base import BaseForm, options
from intake.forms.validators import past_date, person_name
from intake.services.coverages import COVERAGE_FIELDS

IMAGE_TYPES = ["jpg", "jpeg", "png", "webp"]


class CoverageForm(BaseForm):
    payer_id = SelectField("Payer", coerce=int, validators=[DataRequired("Choose a payer.")])
    rank = SelectField("Order", coerce=int, choices=options(list(vocab.COVERAGE_RANKS.items())))
    member_id = StringField("Member id", validators=[Optional(), Length(max=40)],
                            render_kw={"autocomplete": "off"})
    group_number = StringField("Group number", validators=[Optional(), Length(max=40)])
    plan_name = StringField("Plan name", validators=[Optional(), Length(max=120)])
    effective_date = DateField("Effective date", validators=[Optional()])
    end_date = DateField("End date", validators=[Optional()])
    copay = DecimalField("Copay ($)", places=2, validators=[
        Optional(), NumberRange(min=Decimal("0"), max=Decimal("10000"),
                                message="Enter an amount between 0 and 10,000.")])
    relationship_code = SelectField("Patient's relationship to subscriber",
                                    choices=options(vocab.SUBSCRIBER_RELATIONSHIP), default="self")
    subscriber_family = StringField("Subscriber family name",
                                    validators=[Optional(), Length(max=100), person_name])
    subscriber_given = StringField("Subscriber given name",
                                   validators=[Optional(), Length(max=100), person_name])
    subscriber_birth_date = DateField("Subscriber date of birth", validators=[Optional(), past_date])
    medicare_secondary_type = SelectField("Medicare pays second because",
                                          choices=options(vocab.MEDICARE_SECONDARY_TYPES), default="")
    card_front = FileField("Card front (photo)", validators=[
        FileAllowed(IMAGE_TYPES, "Upload a JPEG, PNG or WebP picture.")])
    card_back = FileField("Card back (photo)", validators=[
        FileAllowed(IMAGE_TYPES, "Upload a JPEG, PNG or WebP picture.")])

    SUBSCRIBER = ("subscriber_family", "subscriber_given", "subscriber_birth_date")

    def set_payers(self, payers: list[Any]) -> None:
        self.payer_id.choices = options([(0, "— choose —")] + [
            (p.id, f"{p.name} ({vocab.label(vocab.PAYER_KINDS, p.kind)})") for p in payers])

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        if self.relationship_code.data != "self":
            for name in self.SUBSCRIBER:
                if not self[name].data:
                    self[name].errors = list(self[name].errors) + [
                        "Needed when the patient is not the subscriber."]
                    ok = False
        return ok

    def coverage_data(self) -> dict[str, Any]:
        data = {name: self[name].data for name in COVERAGE_FIELDS if name in self._fields}
        data["copay_cents"] = (int((self.copay.data * 100).to_integral_value())
                               if self.copay.data is not None else None)
        return data


class EndCoverageForm(BaseForm):
    end_date = DateField("Last day of coverage", validators=[DataRequired()])


class CardForm(BaseForm):
    side = SelectField("Side", choices=options([("front", "Front"), ("back", "Back")]))
    image = FileField("Picture", validators=[
        DataRequired("Choose a picture."), FileAllowed(IMAGE_TYPES, "Upload a JPEG, PNG or WebP picture.")])
