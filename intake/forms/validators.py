"""Single-field checks shared by the staff and kiosk forms. Messages go
through Flask-Babel: the kiosk shows them in the patient's language, staff
pages (always English) in English."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from flask_babel import gettext
from wtforms.validators import ValidationError

from intake.normalize import is_valid_zip
from intake.services import clock

# Letters of any script, joined by spaces, hyphens, apostrophes or periods.
_NAME = re.compile(r"[^\W\d_]+(?:[ '’.\-]+[^\W\d_]+)*\.?")


def person_name(form: Any, field: Any) -> None:
    if field.data:
        field.data = unicodedata.normalize("NFC", field.data)
        if not _NAME.fullmatch(field.data):
            raise ValidationError(gettext("Use letters, spaces, hyphens and apostrophes only."))


def past_date(form: Any, field: Any) -> None:
    """Not after the practice's today, and not before 1900."""
    if field.data and field.data > clock.today():
        raise ValidationError(gettext("This date is in the future."))
    if field.data and field.data.year < 1900:
        raise ValidationError(gettext("Please check the year."))


def us_zip(form: Any, field: Any) -> None:
    if field.data and not is_valid_zip(field.data):
        raise ValidationError(gettext("Enter a 5-digit ZIP code, for example 62704."))
