from __future__ import annotations

from decimal import Decimal

from wtforms import BooleanField, DecimalField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from intake import vocab
from intake.forms.base import BaseForm, PhoneField, options
from intake.forms.patient import person_name, us_zip


class PracticeForm(BaseForm):
    name = StringField("Practice name", validators=[DataRequired(), Length(max=120)])
    address_line1 = StringField("Street address", validators=[Optional(), Length(max=200)])
    city = StringField("City", validators=[Optional(), Length(max=100)])
    state = SelectField("State", choices=options([("", "—")] + vocab.US_STATES), validators=[Optional()])
    postal_code = StringField("ZIP code", validators=[Optional(), us_zip])
    phone = PhoneField("Phone", render_kw={"type": "tel"})
    npi = StringField("Group NPI", validators=[Optional(), Regexp(r"^\d{10}$", message="An NPI is 10 digits.")])
    tax_id = StringField("Tax id (EIN)", validators=[Optional(), Length(max=10)])
    default_pos = SelectField("Default place of service")


class ProviderForm(BaseForm):
    family_name = StringField("Family name", validators=[DataRequired(), Length(max=100), person_name])
    given_name = StringField("Given name", validators=[DataRequired(), Length(max=100), person_name])
    credentials = StringField("Credentials", validators=[Optional(), Length(max=20)],
                              description="MD, DO, NP, PA-C")
    npi = StringField("NPI", validators=[DataRequired(), Regexp(r"^\d{10}$", message="An NPI is 10 digits.")])
    taxonomy = StringField("Taxonomy code", validators=[
        Optional(), Regexp(r"^[0-9A-Z]{9}X$", message="A taxonomy code looks like 207Q00000X.")])
    active = BooleanField("Active", default=True)


class FeeForm(BaseForm):
    code = StringField("CPT / HCPCS code", validators=[DataRequired(), Length(max=7)])
    label = StringField("Your label", validators=[Optional(), Length(max=120)],
                        description="Your own words; CPT descriptions are AMA-licensed.")
    price = DecimalField("Price ($)", places=2, validators=[
        DataRequired(), NumberRange(Decimal("0"), Decimal("100000"), "Enter 0 to 100,000.")])
