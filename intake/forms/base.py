from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import Field, SelectChoice, StringField
from wtforms.validators import ValidationError

from intake.normalize import parse_phone


class BaseForm(FlaskForm):
    """Every form inherits CSRF protection from here (CTFd's habit)."""

    class Meta:
        # Strip surrounding spaces from every text input.
        def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Field:
            filters = list(unbound_field.kwargs.get("filters", []))
            if issubclass(unbound_field.field_class, StringField):
                filters.append(lambda v: v.strip() if isinstance(v, str) else v)
            return unbound_field.bind(form=form, filters=filters, **options)

        def wrap_formdata(self, form: Any, formdata: Any) -> Any:
            # NUL is never text a person typed, and PostgreSQL cannot store it.
            data = super().wrap_formdata(form, formdata)
            if data is None or not hasattr(data, "items"):
                return data
            pairs = list(data.items(multi=True))
            if not any(isinstance(v, str) and "\x00" in v for _, v in pairs):
                return data
            return MultiDict([(k, v.replace("\x00", "") if isinstance(v, str) else v)
                              for k, v in pairs])


def options(pairs: list[tuple[Any, str]]) -> list[SelectChoice]:
    """Select options from (value, label) pairs (WTForms 3.3 deprecates tuples)."""
    return [SelectChoice(value, label) for value, label in pairs]


def attach_errors(form: FlaskForm, errors: dict[str, list[str]]) -> None:
    """Put a service's FieldErrors beside the fields they concern."""
    for name, messages in errors.items():
        field = form._fields.get(name)
        if field is None:
            form.form_errors.extend(messages)
        else:
            field.errors = list(field.errors) + list(messages)


class ParsedField(StringField):
    """Text that parses into a value (a phone number, a date): `.data` is the
    value once valid, `.raw` what was typed, and the typed text is shown
    again when it does not parse. Subclasses say how in `parse`."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.raw = ""

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        self.raw = self.data or ""

    def parse(self, text: str) -> Any:
        """The value of `text`, or ValueError carrying the message for the field."""
        raise NotImplementedError

    def pre_validate(self, form: Any) -> None:
        if not self.raw:
            self.data = None
            return
        try:
            self.data = self.parse(self.raw)
        except ValueError as exc:
            self.data = None
            raise ValidationError(str(exc)) from exc


class PhoneField(ParsedField):
    """A phone number; `.data` becomes E.164 once valid."""

    def __init__(self, *args: Any, region: str = "US", **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.region = region

    def parse(self, text: str) -> str:
        return parse_phone(text, self.region)

    def _value(self) -> str:
        from intake.normalize import format_phone

        if self.raw:
            return self.raw
        return format_phone(self.data) if self.data else ""
