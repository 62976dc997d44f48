"""The FHIR R4 API for the back office: read, search and Bulk Data $export,
behind read-only bearer tokens. Errors are OperationOutcomes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from functools import wraps
from typing import Any
from urllib.parse import urlencode

import orjson
from flask import Response, abort, current_app, g, request, send_file

from intake import tasks
from intake.database import on_commit
from intake.fhir import FhirSettings, dumps
from intake.fhir.api import capability_statement, operation_outcome, resource_for
from intake.blueprints.fhir_api import bp
from intake.limits import per_token
from intake.security import public
from intake.services import audit, bulk, fhir_api, tokens
from intake.urls import absolute, external_url
from intake.services.fhir_api import (CONTINUATION, Page, SavedSearchExpired, SavedSearchUnknown,
                                     SearchError)

FHIR_JSON = "application/fhir+json"
FORM = "application/x-www-form-urlencoded"
NDJSON = "application/fhir+ndjson"
API = "api"


def fhir_response(body: dict, status: int = 200, **headers: str) -> Response:
    response = Response(dumps(body), status=status, mimetype=FHIR_JSON)
    response.headers.update(headers)
    return response


def outcome(status: int, code: str, text: str, **headers: str) -> Response:
    return fhir_response(operation_outcome(code, text), status, **headers)


def token_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """API routes take a bearer token, never a staff session or a kiosk."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        token = tokens.authenticate(request.headers.get("Authorization"))
        if token is None:
            return outcome(401, "login", "A valid bearer token is required.",
                           **{"WWW-Authenticate": 'Bearer realm="intake"'})
        if tokens.is_expired(token):
            return outcome(401, "expired", f"This token expired on "
                           f"{token.expires_at:%Y-%m-%d}; ask the admin for a new one.",
                           **{"WWW-Authenticate": 'Bearer realm="intake", error="invalid_token"'})
        resource_type = kwargs.get("resource_type")
        if resource_type is not None and not token.allows(resource_type):
            return outcome(403, "forbidden", f"This token may not read {resource_type}.")
        g.api_token = token
        audit.act_as(f"token:{token.id}:{token.name}")
        return view(*args, **kwargs)

    wrapped.allowed_roles = frozenset({API})  # type: ignore[attr-defined]
    return per_token("INTAKE_API_LIMIT")(wrapped)


def _settings() -> Any:
    return FhirSettings.from_config(current_app.config)


@bp.route("/metadata")
@public
def metadata() -> Response:
    base = external_url("fhir.metadata").removesuffix("/metadata")
    return fhir_response(capability_statement(
        base, fhir_api.SEARCH, fhir_api.SORT, bulk.SYSTEM_TYPES, bulk.PATIENT_TYPES))


def _search_params(*sources: Any) -> dict[str, list[str]]:
    """FHIR search parameters from the query string and a form body, combined
    (a POST search may put them in both)."""
    params: dict[str, list[str]] = {}
    for source in sources:
        for name in source:
            params.setdefault(name, []).extend(source.getlist(name))
    return params


@bp.route("/<resource_type>")
@token_required
def search(resource_type: str) -> Response:
    if resource_type not in fhir_api.SEARCH:
        return outcome(404, "not-found", f"{resource_type} is not served here.")
    params = _search_params(request.args)
    try:
        if CONTINUATION in params:  # a POST search's paging link
            page = fhir_api.continue_search(resource_type, params, g.api_token)
        else:
            page = fhir_api.search(resource_type, params)
    except SearchError as exc:
        return _refused(exc)
    return _searchset(resource_type, page, params)


@bp.route("/<resource_type>/_search", methods=["POST"])
@token_required
def search_post(resource_type: str) -> Response:
    """FHIR's POST search: the terms in a form body, out of URLs and access logs."""
    # The parameters come in a form body, or all in the URL with no body at all.
    if request.mimetype != FORM and (request.mimetype or request.get_data(cache=True)):
        return outcome(415, "not-supported", f"POST _search takes a {FORM} body.")
    if resource_type not in fhir_api.SEARCH:
        return outcome(404, "not-found", f"{resource_type} is not served here.")
    params = _search_params(request.args, request.form)
    try:
        page = fhir_api.post_search(resource_type, params, g.api_token)
    except SearchError as exc:
        return _refused(exc)
    return _searchset(resource_type, page, params)


def _refused(exc: SearchError) -> Response:
    if isinstance(exc, SavedSearchUnknown):
        return outcome(404, "not-found", str(exc))
    if isinstance(exc, SavedSearchExpired):
        return outcome(410, "expired", str(exc))
    return outcome(400, "not-supported", str(exc))


def _searchset(resource_type: str, page: Page, params: dict[str, list[str]]) -> Response:
    """The searchset Bundle. A GET search's links repeat its own query; a
    POST search's name its saved terms by id, so no search term is put back
    into a URL."""
    base = external_url("fhir.search", resource_type=resource_type)
    settings = _settings()
    entries = []
    for row in page.rows:
        resource = resource_for(resource_type, row, settings)
        if resource is not None:
            entries.append({"fullUrl": f"{base}/{resource['id']}", "resource": resource,
                            "search": {"mode": "match"}})
    more = page.count and page.offset + page.count < page.total
    if page.saved_id is not None:
        def link(offset: int) -> str:
            return f"{base}?" + urlencode({CONTINUATION: page.saved_id, "_offset": offset,
                                           "_count": page.count})

        links = [{"relation": "self", "url": link(page.offset)}]
        if more:
            links.append({"relation": "next", "url": link(page.offset + page.count)})
    else:
        links = [{"relation": "self", "url": absolute(request.full_path.rstrip("?"))}]
        if more:
            next_params = {k: v for k, v in params.items() if k != "_offset"}
            next_params["_offset"] = [str(page.offset + page.count)]
            links.append({"relation": "next",
                          "url": f"{base}?{urlencode(next_params, doseq=True)}"})
    bundle = {"resourceType": "Bundle", "type": "searchset", "total": page.total,
              "link": links, "entry": entries}
    return fhir_response(bundle)


@bp.route("/<resource_type>/<resource_id>")
@token_required
def read(resource_type: str, resource_id: str) -> Response:
    if resource_type not in fhir_api.SEARCH:
        return outcome(404, "not-found", f"{resource_type} is not served here.")
    extra = sorted(set(request.args) - {"_format"})
    if extra:  # _summary, _elements, ...: refused, never silently ignored
        return outcome(400, "not-supported", f"A read takes no parameters here (not {', '.join(extra)}); "
                                             "it always returns the whole resource.")
    row = fhir_api.read(resource_type, resource_id)
    resource = resource_for(resource_type, row, _settings()) if row is not None else None
    if resource is None:
        return outcome(404, "not-found", f"{resource_type}/{resource_id} was not found.")
    return fhir_response(resource)


KICKOFF_PARAMS = {"_type", "_since", "_outputFormat"}


def _kickoff(level: str) -> Response:
    """Bulk Data 2.0 kick-off. Parameters this server does not apply are
    refused unless the client sends ``Prefer: handling=lenient`` (then the
    manifest's error file lists them as not applied)."""
    prefer = [p.strip() for p in request.headers.get("Prefer", "").split(",")]
    if "respond-async" not in prefer:
        return outcome(400, "invalid", "Bulk export needs the header 'Prefer: respond-async'.")
    accept = request.headers.get("Accept")
    if accept and not request.accept_mimetypes["application/fhir+json"]:
        return outcome(406, "not-supported", "Bulk export kick-off takes Accept: application/fhir+json.")
    allowed = KICKOFF_PARAMS | ({"patient"} if level == "patient" else set())
    unsupported = sorted(set(request.args) - allowed - {"_format"})
    if unsupported and "handling=lenient" not in prefer:
        return outcome(400, "not-supported",
                       f"Not supported here: {', '.join(unsupported)}. Send 'Prefer: handling=lenient' "
                       "to export without them (they are then listed as not applied).")
    since = None
    if request.args.get("_since"):
        try:
            since = datetime.fromisoformat(request.args["_since"].replace("Z", "+00:00"))
        except ValueError:
            return outcome(400, "invalid", "_since must be an instant like 2026-01-01T00:00:00Z.")
        if since.tzinfo is None:
            since = since.replace(tzinfo=timezone.utc)
    types = [t for v in request.args.getlist("_type") for t in v.split(",") if t] or None
    token = g.api_token
    if not token.bulk:
        return outcome(403, "forbidden", "This token may not start bulk exports.")
    allowed = token.resource_types
    if allowed is not None:
        if level == "patient" and "Patient" not in allowed:
            return outcome(403, "forbidden", "This token may not read Patient.")
        refused = sorted(set(types or ()) - allowed)
        if refused:
            return outcome(403, "forbidden", f"This token may not read {', '.join(refused)}.")
        types = types or sorted(allowed)
    patients = [p for v in request.args.getlist("patient") for p in v.split(",") if p] or None
    try:
        job = bulk.start(level, types, since, request.args.get("_outputFormat"), g.api_token,
                         absolute(request.full_path.rstrip("?")), patients=patients,
                         not_applied=unsupported,
                         in_flight_limit=current_app.config["INTAKE_EXPORTS_IN_FLIGHT"])
    except bulk.TooManyExports as exc:
        return outcome(429, "throttled", str(exc), **{"Retry-After": "30"})
    except SearchError as exc:
        return outcome(400, "not-supported", str(exc))
    on_commit(lambda: tasks.run_bulk_export(job.id))  # the worker must see the job's row
    status_url = external_url("fhir.export_status", job_id=job.id)
    return Response(status=202, headers={"Content-Location": status_url})


@bp.route("/$export")
@token_required
@per_token("INTAKE_EXPORT_LIMIT", shared="bulk-export")
def system_export() -> Response:
    return _kickoff("system")


@bp.route("/Patient/$export")
@token_required
@per_token("INTAKE_EXPORT_LIMIT", shared="bulk-export")
def patient_export() -> Response:
    return _kickoff("patient")


def _job(job_id: str) -> Any:
    """A job of this token's; another token's jobs are not found."""
    job = bulk.get(job_id, g.api_token)
    if job is None:
        abort(404)
    return job


@bp.route("/bulk/<job_id>", methods=["GET"])
@token_required
def export_status(job_id: str) -> Response:
    job = _job(job_id)
    if job.status in ("queued", "running"):
        return Response(status=202, headers={"X-Progress": f"{job.status} {job.progress}%",
                                             "Retry-After": "2"})
    if job.status == "failed":
        return outcome(500, "exception", "The export failed; start a new one.")
    if job.status == "cancelled":  # Bulk Data: after DELETE the status URL is 404
        return outcome(404, "not-found", "This export was cancelled.")
    if job.status == "expired" or bulk.is_expired(job):
        return outcome(410, "expired", "This export has expired; start a new one.")
    manifest = {
        "transactionTime": job.transaction_time.isoformat().replace("+00:00", "Z"),
        "request": job.request_url,
        "requiresAccessToken": True,
        "output": [{"type": o["type"], "count": o["count"],
                    "url": external_url("fhir.export_file", job_id=job.id, filename=o["file"])}
                   for o in job.output if not o.get("error")],
        "error": [{"type": "OperationOutcome",
                   "url": external_url("fhir.export_file", job_id=job.id, filename=o["file"])}
                  for o in job.output if o.get("error")],
    }
    return Response(orjson.dumps(manifest), status=200, mimetype="application/json",
                    headers={"Expires": job.expires_at.strftime("%a, %d %b %Y %H:%M:%S GMT")})


@bp.route("/bulk/<job_id>", methods=["DELETE"])
@token_required
def export_cancel(job_id: str) -> Response:
    job = _job(job_id)
    if job.status in ("cancelled", "expired"):
        return outcome(404, "not-found", "This export is already gone.")
    bulk.cancel(job)
    return Response(status=202)


@bp.route("/bulk/<job_id>/<filename>")
@token_required
def export_file(job_id: str, filename: str) -> Response:
    job = _job(job_id)
    if job.status != "complete" or bulk.is_expired(job):
        return outcome(410, "expired", "This export's files are no longer available.")
    path = bulk.file_path(job, filename)  # only names the job wrote: no path from the client
    if path is None:
        abort(404)
    return send_file(path, mimetype=NDJSON, max_age=0)


# Errors (404, 405, 403, 429, 500, ...) are OperationOutcomes app-wide under
# /fhir: see intake/errors.py (routing errors never reach a blueprint handler).

_JSON_TYPES = ("application/fhir+json", "application/json")  # a client */* matches these too
_JSON_FORMATS = {"json", "application/json", "application/fhir+json"}


@bp.errorhandler(429)
def too_many(error: Any) -> Response:
    return outcome(429, "throttled", "Too many requests with this token: wait and try again.")


@bp.errorhandler(405)
def not_allowed(error: Any) -> Response:
    return outcome(405, "not-supported", "This server is read-only: that method is not allowed.")


@bp.before_request
def json_only() -> Response | None:
    """FHIR JSON only: XML (or anything else) asked for is refused with 406,
    never answered in JSON as if it had been asked for."""
    wanted = request.args.get("_format")
    if wanted is not None and wanted not in _JSON_FORMATS:
        return outcome(406, "not-supported", "That _format is not served; this server speaks "
                                             "application/fhir+json only.")
    accept = request.accept_mimetypes
    served = _JSON_TYPES + ((NDJSON, "application/ndjson") if request.endpoint == "fhir.export_file" else ())
    if request.headers.get("Accept") and not any(accept[t] for t in served):
        return outcome(406, "not-supported", "This server answers in application/fhir+json only.")
    return None
