from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from intake.forms.base import BaseForm


class LoginForm(BaseForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=64)],
                           render_kw={"autocomplete": "username", "autofocus": True})
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)],
                             render_kw={"autocomplete": "current-password"})


class LogoutForm(BaseForm):
    pass


class PasswordForm(BaseForm):
    current = PasswordField("Current password", validators=[DataRequired()],
                            render_kw={"autocomplete": "current-password"})
    new = PasswordField("New password", validators=[DataRequired(), Length(min=12, max=256)],
                        render_kw={"autocomplete": "new-password"},
                        description="At least 12 characters.")
    confirm = PasswordField("New password again", validators=[
        DataRequired(), EqualTo("new", "The two new passwords differ.")],
        render_kw={"autocomplete": "new-password"})
