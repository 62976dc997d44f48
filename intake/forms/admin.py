from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from intake import vocab
from intake.services import code_tables
from intake.forms.base import BaseForm, options
from intake.models.user import Role


class UserForm(BaseForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=64)])
    role = SelectField("Role", choices=options([(r.value, r.value.title()) for r in Role]))
    password = PasswordField("Password", validators=[DataRequired(), Length(min=12, max=256)],
                             render_kw={"autocomplete": "new-password"})


class PayerForm(BaseForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    payer_code = StringField("Payer id", validators=[DataRequired(), Length(max=20)])
    kind = SelectField("Kind", choices=options(vocab.PAYER_KINDS))
    active = BooleanField("Active", default=True)


class ToggleForm(BaseForm):
    """A bare POST with CSRF, for buttons."""


class DeviceForm(BaseForm):
    name = StringField("Device name", validators=[DataRequired("Name the device."), Length(max=80)],
                       description="Where it stands, for example 'Waiting room tablet 1'.")


class CodeImportForm(BaseForm):
    """A release file for the code tables: what it holds, its year, the file itself."""

    kind = SelectField("Code system", choices=options(list(code_tables.KINDS.items())))
    year = IntegerField("Year", validators=[Optional(), NumberRange(2000, 2100)],
                        description="ICD-10-CM: the fiscal year (FY2027 runs 10/01/2026 to 09/30/2027). "
                                    "Leave empty to take it from the file name.")
    file = FileField("File", validators=[FileRequired("Choose the file you downloaded.")])
