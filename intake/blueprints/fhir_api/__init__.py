from flask import Blueprint

bp = Blueprint("fhir", __name__)

from intake.blueprints.fhir_api import routes  # noqa: E402,F401
