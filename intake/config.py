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
    # Pictures: refused before decoding past this many pixels each, and past
    # this many in one request together (intake/images.py).
    INTAKE_IMAGE_MAX_PIXELS = 50_000_000
    INTAKE_IMAGE_PIXELS_PER_REQUEST = 64_000_000
    INTAKE_DEFAULT_REGION = "US"
    INTAKE_DUPLICATE_THRESHOLD = 60  # percent probability (services/duplicates.py)
    # Password hashing: argon2-cffi's defaults (RFC 9106 low-memory profile); tests lower them.
    INTAKE_ARGON2_TIME_COST = 3
    INTAKE_ARGON2_MEMORY_KIB = 65536
    INTAKE_LOG_LEVEL = "INFO"
    INTAKE_HUEY_REDIS_URL: str | None = None  # the worker's queue in Redis (default: SQLite)
    INTAKE_EXPORT_TTL_HOURS = 24  # a bulk export's files are kept this long
    # Kiosk timers.
    INTAKE_KIOSK_ENROLL_CODE_MINUTES = 15
    INTAKE_KIOSK_DEVICE_COOKIE_DAYS = 400  # browsers cap cookie lifetimes at 400 days
    INTAKE_KIOSK_IDLE_WARNING_SECONDS = 90  # warning shown after this much inactivity
    INTAKE_KIOSK_IDLE_TIMEOUT_SECONDS = 120  # then wiped, in the page and on the server
    INTAKE_KIOSK_DRAFT_MAX_MINUTES = 60  # a draft never lives longer than this
    INTAKE_KIOSK_DONE_SECONDS = 20  # the thank-you page returns to the start
    INTAKE_SEARCH_LIMIT = 50
    # Redirect to https and send HSTS: set behind TLS (with SESSION_COOKIE_SECURE).
    INTAKE_FORCE_HTTPS = False
    # The address staff and the billing system use, e.g. https://intake.example.org:
    # absolute URLs in responses are built from it, and its host is trusted.
    INTAKE_BASE_URL: str | None = None
    # Host headers accepted (Flask's TRUSTED_HOSTS); default: the base URL's
    # host and this machine's loopback names. Others get 400.
    INTAKE_TRUSTED_HOSTS: list[str] | str | None = None
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    INTAKE_LOGIN_LIMIT = "10 per minute;50 per hour"  # per address
    # Failed sign-ins per account (from any address) and wrong current
    # passwords on the password page per user.
    INTAKE_LOGIN_ACCOUNT_LIMIT = "5 per minute;20 per hour"
    INTAKE_PASSWORD_CHANGE_LIMIT = "5 per 15 minutes"
    INTAKE_PASSWORD_MIN_SCORE = 3  # zxcvbn's 0-4 (intake/services/passwords.py)
    # Enrollment codes carry about 50 bits and live 15 minutes; guessing is
    # hopeless, and this keeps anyone from trying at speed.
    INTAKE_KIOSK_ENROLL_LIMIT = "10 per minute;30 per hour"
    INTAKE_TIMEZONE = "America/New_York"  # the practice's clock for "today"
    INTAKE_BOARD_REFRESH_SECONDS = 30
    # Email reminders (optional): the practice's SMTP server; empty host = off.
    INTAKE_SMTP_HOST: str | None = None
    INTAKE_SMTP_PORT = 587
    INTAKE_SMTP_STARTTLS = True
    INTAKE_SMTP_USER: str | None = None
    INTAKE_SMTP_PASSWORD: str | None = None
    INTAKE_SMTP_FROM: str | None = None
    # How long a FHIR POST search's paging links work (its terms are kept that long).
    INTAKE_FHIR_SEARCH_TTL_MINUTES = 60
    INTAKE_TOKEN_DAYS = 365  # API tokens expire this long after creation unless told
    # Per credential, wherever it connects from (intake/limits.py): every FHIR
    # request per token, bulk-export kick-offs per token, kiosk submissions per
    # device (a patient takes minutes to fill the form in).
    INTAKE_API_LIMIT = "600 per minute"
    INTAKE_EXPORT_LIMIT = "2 per minute;10 per hour"
    INTAKE_KIOSK_SUBMIT_LIMIT = "2 per minute;20 per hour"
    # The admin's kiosk page flags a device with more submissions than this in an hour.
    INTAKE_KIOSK_FLOOD_PER_HOUR = 10
    # Bulk exports one token may have queued or running at once (more: 429).
    INTAKE_EXPORTS_IN_FLIGHT = 2
    # Where `intake audit anchor` and the worker write the audit chain's head
    # (default instance/audit-anchors.jsonl). In production: a file the
    # database's users cannot rewrite (another host, append-only storage).
    INTAKE_AUDIT_ANCHOR_FILE: str | None = None
    # The worker anchors this often (and when it stops); 0: never. Rows newer
    # than the newest anchor could be deleted unnoticed: keep this short.
    INTAKE_AUDIT_ANCHOR_MINUTES = 1
    # The audit chain's and the backups' HMAC keys (intake/keys.py): the key as
    # 64 hex digits, or a file holding it; default instance/<name>.key.
    INTAKE_AUDIT_KEY: str | None = None
    INTAKE_AUDIT_KEY_FILE: str | None = None
    INTAKE_BACKUP_KEY: str | None = None
    INTAKE_BACKUP_KEY_FILE: str | None = None


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
