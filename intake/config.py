"""Configuration layers: defaults here, then `instance/config.py`, then
`INTAKE_*` environment variables (and DATABASE_URL), then test overrides."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any


class Defaults:
    SQLALCHEMY_DATABASE_URI: str | None = None  # filled from instance path
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {}  # create_app adds pool_pre_ping for servers
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False  # set INTAKE_SESSION_COOKIE_SECURE=1 behind TLS
    SESSION_COOKIE_NAME = "intake_session"
    # Idle timeout: the session expires this long after the last request.
    PERMANENT_SESSION_LIFETIME = timedelta(minutes=15)
    # Absolute timeout: a login lasts at most this long, however busy.
    INTAKE_SESSION_ABSOLUTE = timedelta(hours=12)
    WTF_CSRF_TIME_LIMIT = None  # tied to the session instead
    BOOTSTRAP_SERVE_LOCAL = True
    MAX_CONTENT_LENGTH = 12 * 1024 * 1024
    INTAKE_CARD_MAX_BYTES = 8 * 1024 * 1024
    INTAKE_DEFAULT_REGION = "US"
    INTAKE_DUPLICATE_THRESHOLD = 60
    INTAKE_SEARCH_LIMIT = 50
    # Redirect to https and send HSTS: set behind TLS (with SESSION_COOKIE_SECURE).
    INTAKE_FORCE_HTTPS = False
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    INTAKE_LOGIN_LIMIT = "10 per minute;50 per hour"
    # Enrollment codes carry about 50 bits and live 15 minutes; guessing is
    # hopeless, and this keeps anyone from trying at speed.
    INTAKE_KIOSK_ENROLL_LIMIT = "10 per minute;30 per hour"
    INTAKE_TIMEZONE = "America/New_York"  # the practice's clock for "today"
    INTAKE_BOARD_REFRESH_SECONDS = 30
    # How long a FHIR POST search's paging links work (its terms are kept that long).
    INTAKE_FHIR_SEARCH_TTL_MINUTES = 60
    # Bulk exports one token may have queued or running at once (more: 429).
    INTAKE_EXPORTS_IN_FLIGHT = 2
    # Where `intake audit anchor` and the worker write the audit chain's head
    # (default instance/audit-anchors.jsonl). In production: a file the
    # database's users cannot rewrite (another host, append-only storage).
    INTAKE_AUDIT_ANCHOR_FILE: str | None = None
    INTAKE_AUDIT_ANCHOR_MINUTES = 10  # the worker anchors this often; 0: never


def _coerce(value: str) -> Any:
    """Environment values are strings; accept JSON literals (1, true, 30) too."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def from_environment(environ: os._Environ[str] | dict[str, str]) -> dict[str, Any]:
    """`INTAKE_FOO=bar` becomes `FOO`/`INTAKE_FOO`; DATABASE_URL the database."""
    out: dict[str, Any] = {}
    flask_keys = {
        "SECRET_KEY",
        "SESSION_COOKIE_SECURE",
        "SQLALCHEMY_DATABASE_URI",
        "MAX_CONTENT_LENGTH",
        "RATELIMIT_STORAGE_URI",
        "RATELIMIT_ENABLED",
    }
    for key, value in environ.items():
        if not key.startswith("INTAKE_"):
            continue
        name = key.removeprefix("INTAKE_")
        if name in flask_keys:
            out[name] = _coerce(value) if name != "SECRET_KEY" else value
        elif name == "DATABASE_URL":
            out["SQLALCHEMY_DATABASE_URI"] = value
        else:
            out[key] = _coerce(value)
    if environ.get("DATABASE_URL") and "SQLALCHEMY_DATABASE_URI" not in out:
        out["SQLALCHEMY_DATABASE_URI"] = environ["DATABASE_URL"]
    return out


def normalise_database_url(url: str) -> str:
    """Hosting panels hand out postgres:// URLs; SQLAlchemy wants a driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def default_database_url(instance_path: str) -> str:
    return f"sqlite:///{Path(instance_path) / 'intake.db'}"
