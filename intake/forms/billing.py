from __future__ import annotations

from typing import Any

from wtforms import BooleanField, DateField, SelectField
from wtforms.validators import DataRequired, Optional

from intake.forms.base import BaseForm, options


class WorklistFilter(BaseForm):
    class Meta:
        csrf = False  # a GET filter: changes nothing

    date_from = DateField("From", validators=[Optional()])
    date_to = DateField("To", validators=[Optional()])
    payer_id = SelectField("Primary payer", coerce=int, validators=[Optional()])
    show = SelectField("Show", default="seen", validators=[Optional()], choices=options([
        ("seen", "Ready and with findings"), ("ready", "Ready only"),
        ("all", "All, with visits still in progress")]))

    def set_payers(self, payers: list[Any]) -> None:
        self.payer_id.choices = options([(0, "All payers")] + [(p.id, p.name) for p in payers])


class ExportForm(BaseForm):
    date_from = DateField("From", validators=[DataRequired("Enter the first day.")])
    date_to = DateField("To", validators=[DataRequired("Enter the last day.")])
    payer_id = SelectField("Primary payer", coerce=int, validators=[Optional()])
    file_format = SelectField("File", choices=options([
        ("ndjson-zip", "NDJSON files in a zip (one per resource type)"),
        ("bundle", "One FHIR collection Bundle (JSON)")]), default="ndjson-zip")
    include_exported = BooleanField("Include visits already exported (re-export)")

    def set_payers(self, payers: list[Any]) -> None:
        self.payer_id.choices = options([(0, "All payers")] + [(p.id, p.name) for p in payers])


class X12ExportForm(BaseForm):
    """The 837P download; prefixed so its fields do not clash with the FHIR export's."""

    date_from = DateField("From", validators=[DataRequired("Enter the first day.")])
    date_to = DateField("To", validators=[DataRequired("Enter the last day.")])
    include_sent = BooleanField("Include claims already sent in an 837P (re-send)")
