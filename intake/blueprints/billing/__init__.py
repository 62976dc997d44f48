from flask import Blueprint

bp = Blueprint("billing", __name__)

from intake.blueprints.billing import routes  # noqa: E402,F401
from intake.blueprints.billing import x12  # noqa: E402,F401
