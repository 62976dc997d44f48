"""Forms declare fields and single-field checks. CSRF comes from BaseForm."""

from intake.forms.base import BaseForm, attach_errors

__all__ = ["BaseForm", "attach_errors"]
