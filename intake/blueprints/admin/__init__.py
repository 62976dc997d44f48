from flask import Blueprint

bp = Blueprint("admin", __name__)

from intake.blueprints.admin import routes  # noqa: E402,F401
from intake.blueprints.admin import practice  # noqa: E402,F401
from intake.blueprints.admin import kiosks  # noqa: E402,F401
from intake.blueprints.admin import schedule  # noqa: E402,F401
from intake.blueprints.admin import codes  # noqa: E402,F401
