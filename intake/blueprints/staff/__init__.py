from flask import Blueprint

bp = Blueprint("staff", __name__)

from intake.blueprints.staff import routes  # noqa: E402,F401
from intake.blueprints.staff import desk  # noqa: E402,F401
from intake.blueprints.staff import kiosk_review  # noqa: E402,F401
from intake.blueprints.staff import schedule  # noqa: E402,F401
from intake.blueprints.staff import merging  # noqa: E402,F401
