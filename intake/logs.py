"""Structured logs: one JSON object per line (stdlib logging, a small
formatter), a request id on every line logged during a request, and one
access line per request.

What a line may carry: ids (request, user, API token, kiosk device), the
method, the URL *rule* (`/staff/patients/<int:patient_id>`, never the raw
URL or its query string), status and duration. Never form values, query
strings, SQL parameters or exception messages (they can carry what was typed:
an exception is logged as its type and frames only). Library loggers are
kept from leaking them too: SQLAlchemy's statement logging stays at WARNING
and its parameters are hidden, and the query strings in werkzeug's and
gunicorn's request lines are cut off.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
import uuid
from datetime import datetime, timezone
from time import perf_counter
from typing import TYPE_CHECKING, Any

from flask import g, has_request_context, request

if TYPE_CHECKING:
    from flask import Flask, Response

REQUEST_ID_HEADER = "X-Request-ID"
# An incoming id is kept only when it is short and plain: no spaces, quotes
# or control characters to forge log lines with.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")
_QUERY_STRING = re.compile(r"\?[^\s\"']+")
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName"}
_QUIET = ("sqlalchemy.engine", "sqlalchemy.pool", "sqlalchemy.orm")

access_log = logging.getLogger("intake.access")


def _scalar(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)


class JsonFormatter(logging.Formatter):
    """A log record as one line of JSON: ts, level, logger, msg, the request
    id when inside a request, any `extra=` fields, and for an exception its
    type and frames (no message)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if has_request_context() and g.get("request_id"):
            line["request_id"] = g.request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_") and key not in line:
                line[key] = _scalar(value)
        if record.exc_info and record.exc_info[0] is not None:
            line["exc_type"] = record.exc_info[0].__name__
            line["stack"] = [f"{frame.filename}:{frame.lineno} in {frame.name}"
                             for frame in traceback.extract_tb(record.exc_info[2])]
        if record.stack_info:
            line["stack_info"] = record.stack_info
        return json.dumps(line, ensure_ascii=False, separators=(",", ":"))


class RedactQueryStrings(logging.Filter):
    """Cut query strings out of request lines (werkzeug's development server,
    gunicorn's access log): FHIR searches carry names and dates there."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        redacted = _QUERY_STRING.sub("?[query]", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def _has_filter(logger: logging.Logger, kind: type) -> bool:
    return any(isinstance(f, kind) for f in logger.filters)


def configure_logging(level: str | int = "INFO", stream: Any = None) -> logging.Handler:
    """JSON lines on stderr from the root logger (once per process)."""
    root = logging.getLogger()
    for handler in root.handlers:
        if getattr(handler, "_intake_json", False):
            return handler
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler._intake_json = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    return handler


def request_id() -> str | None:
    return g.get("request_id") if has_request_context() else None


def _identity(obj: Any) -> Any:
    """An ORM object's primary key without loading it (the request's commit
    has expired it by now, and a query here would open a new transaction)."""
    if obj is None:
        return None
    from sqlalchemy import inspect

    state = inspect(obj, raiseerr=False)
    if state is None:
        return getattr(obj, "id", None)  # a plain record such as kiosk.DeviceSession
    identity = state.identity
    return identity[0] if identity else None


def init_app(app: Flask) -> None:
    """Call first in create_app: the request id is then set before any other
    hook runs, and the access line (logged last) times the commit too."""
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    options.setdefault("hide_parameters", True)  # no values in SQL errors or echo
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in ("werkzeug", "gunicorn.access", "gunicorn.error"):
        logger = logging.getLogger(name)
        if not _has_filter(logger, RedactQueryStrings):
            logger.addFilter(RedactQueryStrings())
    if app.config.get("INTAKE_LOG_JSON", not app.testing):
        configure_logging(app.config["INTAKE_LOG_LEVEL"])

    @app.before_request
    def start_request() -> None:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if _SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        g.request_started = perf_counter()

    @app.after_request
    def log_request(response: Response) -> Response:
        rid = g.get("request_id") or uuid.uuid4().hex
        response.headers[REQUEST_ID_HEADER] = rid
        started = g.get("request_started")
        rule = request.url_rule.rule if request.url_rule is not None else None
        fields = {
            "event": "request",
            "method": request.method,
            "route": rule,
            "endpoint": request.endpoint,
            "status": response.status_code,
            "duration_ms": round((perf_counter() - started) * 1000, 1) if started else None,
            "user_id": _identity(g.get("_login_user")),
            "token_id": _identity(g.get("api_token")),
            "kiosk_device_id": _identity(g.get("kiosk_device")),
        }
        access_log.info("%s %s %s", request.method, rule or "<no route>", response.status_code,
                        extra={k: v for k, v in fields.items() if v is not None})
        return response
