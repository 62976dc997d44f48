"""The patient kiosk (/kiosk): an enrolled tablet, no staff sign-in, every
page in the patient's language."""

from flask import Blueprint

bp = Blueprint("kiosk", __name__)

from intake.blueprints.kiosk import routes  # noqa: E402,F401
