from __future__ import annotations

from decimal import Decimal

from wtforms import BooleanField, DecimalField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, Regexp

from intake import vocab
from intake.forms.base import BaseForm, PhoneField, options
from intake.forms.patient import person_name, us_zip

# Ids on an 837P: letters, digits, spaces and a few marks, never an X12 separator.
_X12_ID = Regexp(r"^[A-Za-z0-9 .\-]+$", message="Letters, digits, spaces, dots and dashes only.")
_TAXONOMY = Regexp(r"^[0-9A-Z]{9}X$", message="A taxonomy code looks like 207Q00000X.")
ISA_QUALIFIERS = [("ZZ", "ZZ mutually defined"), ("01", "01 DUNS"), ("14", "14 DUNS plus suffix"),
                  ("20", "20 HIN"), ("27", "27 carrier id (CMS)"), ("28", "28 intermediary id (CMS)"),
                  ("29", "29 Medicare provider number"), ("30", "30 federal tax id"),
                  ("33", "33 NAIC")]


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
    # 837P claim files (X12): the practice as billing provider and submitter.
    taxonomy = StringField("Billing taxonomy code", validators=[Optional(), _TAXONOMY],
                           description="Like 207Q00000X; sent as the billing provider's specialty.")
    accepts_assignment = BooleanField("Accepts assignment (CLM07)", default=True)
    submitter_name = StringField("Submitter name", validators=[Optional(), Length(max=60)],
                                 description="Blank: the practice name.")
    submitter_etin = StringField("Submitter ETIN", validators=[Optional(), Length(max=80), _X12_ID],
                                 description="The id your clearinghouse assigned to the practice.")
    billing_contact_name = StringField("Billing contact", validators=[Optional(), Length(max=60)])
    billing_contact_phone = PhoneField("Billing contact phone", render_kw={"type": "tel"},
                                       description="Blank: the practice phone.")
    billing_contact_email = StringField("Billing contact email", validators=[Optional(), Email(),
                                                                             Length(max=80)])
    receiver_name = StringField("Clearinghouse name", validators=[Optional(), Length(max=60)])
    receiver_etin = StringField("Clearinghouse receiver id", validators=[Optional(), Length(max=80), _X12_ID])
    x12_sender_qualifier = SelectField("Sender id qualifier (ISA05)", default="ZZ", choices=options(ISA_QUALIFIERS))
    x12_sender_id = StringField("Interchange sender id (ISA06)", validators=[Optional(), Length(max=15), _X12_ID])
    x12_receiver_qualifier = SelectField("Receiver id qualifier (ISA07)", default="ZZ", choices=options(ISA_QUALIFIERS))
    x12_receiver_id = StringField("Interchange receiver id (ISA08)", validators=[Optional(), Length(max=15), _X12_ID])
    x12_test_mode = BooleanField("Test files (ISA15 T) until the clearinghouse says go")


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
