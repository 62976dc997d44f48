"""Error pages that say what happened plainly, without PHI; JSON for API clients."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, current_app, render_template, request
from flask_wtf.csrf import CSRFError
import traceback

from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, SecurityError

from intake.extensions import db
from intake.services import NotFound

log = logging.getLogger(__name__)

MESSAGES = {
    400: "The request could not be understood.",
    403: "You do not have access to this page.",
    404: "That page does not exist, or the record was not found.",
    405: "That action is not allowed here.",
    409: "Someone else changed this record a moment ago. Nothing was saved; "
         "reload the page and try again.",
    413: "The upload is too large.",
    429: "Too many attempts. Wait a minute and try again.",
    500: "Something went wrong on our side. Nothing was saved; please try again.",
}


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


# Under /fhir every error is an OperationOutcome (FHIR clients parse nothing else).
FHIR_PREFIX = "/fhir"
_FHIR_ISSUE = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found",
               405: "not-supported", 406: "not-supported", 409: "conflict", 410: "expired",
               413: "too-long", 415: "not-supported", 429: "throttled", 500: "exception"}


def _fhir_outcome(code: int, message: str, headers: Any = None) -> Any:
    from intake.fhir.api import operation_outcome
    from intake.fhir.ndjson import dumps

    response = current_app.response_class(
        dumps(operation_outcome(_FHIR_ISSUE.get(code, "processing"), message)), status=code,
        mimetype="application/fhir+json")
    for name, value in headers or ():
        if name.lower() in ("allow", "retry-after", "www-authenticate"):
            response.headers[name] = value
    return response


def _render(code: int, message: str, headers: Any = None) -> Any:
    if request.path == FHIR_PREFIX or request.path.startswith(FHIR_PREFIX + "/"):
        return _fhir_outcome(code, message, headers)
    if _wants_json():
        return {"error": message, "status": code}, code
    return render_template("errors/error.html", code=code, message=message), code


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> Any:
        return _render(400, "This form has expired or was not sent from this site. "
                            "Go back, reload the page and try again.")

    @app.errorhandler(StaleDataError)
    def stale(error: StaleDataError) -> Any:
        # Two desks changed the same record at once; the later one is refused.
        db.session.rollback()
        return _render(409, MESSAGES[409])

    @app.errorhandler(NotFound)
    def not_found(error: NotFound) -> Any:
        # A service was asked for a record that does not exist (or that this
        # caller may not see): the same 404 as an unknown URL.
        return _render(404, MESSAGES[404])

    @app.errorhandler(SecurityError)
    def untrusted_host(error: SecurityError) -> Any:
        # A Host header not in TRUSTED_HOSTS (intake/urls.py): no page, whose
        # links would need that host to be built.
        return Response("400 Bad Request: this server does not answer for that host name "
                        "(INTAKE_TRUSTED_HOSTS, INTAKE_BASE_URL).\n",
                        400, mimetype="text/plain")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        code = error.code or 500
        message = MESSAGES.get(code, error.name)
        if code == 405 and request.path.startswith(FHIR_PREFIX):
            message = "This server is read-only: that method is not allowed here."
        return _render(code, message, error.get_headers() if code in (405, 429) else None)

    @app.errorhandler(Exception)
    def unhandled(error: Exception) -> Any:
        db.session.rollback()
        # Type only: exception messages can carry values typed into forms.
        # Type and frames only: exception messages (SQL parameters, form
        # values) can carry patient data.
        log.error("unhandled %s on %s %s\n%s", type(error).__name__, request.method,
                  request.url_rule.rule if request.url_rule else "?",
                  "".join(traceback.format_tb(error.__traceback__)))
        if app.config.get("TESTING") and app.config.get("INTAKE_RAISE_ERRORS", True):
            raise error
        return _render(500, MESSAGES[500])
