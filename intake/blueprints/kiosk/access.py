"""The kiosk's own access rule, kept apart from staff sign-in.

- Kiosk pages (/kiosk/...) use their own session cookie (name, path /kiosk,
  SameSite=Strict, browser-session lifetime, its own signing salt): the staff
  session cookie is never even read there, and the kiosk one never reaches
  staff pages.
- Only a device holding a signed device cookie naming an enrolled, unrevoked
  device passes `kiosk_device_required`; that is checked on every request.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, g, has_request_context, render_template, request, session
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer

F = TypeVar("F", bound=Callable[..., Any])

KIOSK_ROLE = "kiosk"
KIOSK_PATH = "/kiosk"
SESSION_COOKIE = "intake_kiosk_session"
DEVICE_COOKIE = "intake_kiosk_device"


def is_kiosk_request() -> bool:
    if not has_request_context():
        return False
    path = request.path
    return path == KIOSK_PATH or path.startswith(KIOSK_PATH + "/")


class KioskSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with a separate cookie for kiosk paths."""

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        serializer = super().get_signing_serializer(app)
        if serializer is None or not is_kiosk_request():
            return serializer
        return URLSafeTimedSerializer(
            serializer.secret_keys, salt="intake-kiosk-session", serializer=self.serializer,
            signer_kwargs={"key_derivation": self.key_derivation,
                           "digest_method": self.digest_method})

    def get_cookie_name(self, app: Flask) -> str:
        return SESSION_COOKIE if is_kiosk_request() else super().get_cookie_name(app)

    def get_cookie_path(self, app: Flask) -> str:
        return KIOSK_PATH if is_kiosk_request() else super().get_cookie_path(app)

    def get_cookie_samesite(self, app: Flask) -> str | None:
        return "Strict" if is_kiosk_request() else super().get_cookie_samesite(app)

    def should_set_cookie(self, app: Flask, session: Any) -> bool:
        # A background fetch (codes as you type, the live duplicate check) or a
        # static file must not write the cookie back unless it changed it:
        # racing a page load, it would restore a flash message that page had
        # just shown. Page loads keep the idle timer fresh.
        if not session.modified and (request.endpoint or "").endswith("static"):
            return False
        if not session.modified and request.headers.get("X-Requested-With") == "fetch":
            return False
        return super().should_set_cookie(app, session)

    def get_expiration_time(self, app: Flask, session: Any) -> Any:
        # Gone when the browser closes; idle expiry is enforced on the server.
        return None if is_kiosk_request() else super().get_expiration_time(app, session)


def select_locale() -> str:
    """The kiosk session's language on kiosk pages; staff pages stay English."""
    from intake.services.kiosk import LANGUAGES

    if is_kiosk_request():
        lang = session.get("lang")
        if lang in LANGUAGES:
            return lang
    return "en"


def _device_serializer(app: Flask) -> URLSafeSerializer:
    return URLSafeSerializer(app.secret_key, salt="intake-kiosk-device")


def device_cookie_value(app: Flask, device_id: int, token: str) -> str:
    return _device_serializer(app).dumps({"d": device_id, "t": token})


def set_device_cookie(response: Any, app: Flask, device_id: int, token: str, days: int) -> None:
    response.set_cookie(DEVICE_COOKIE, device_cookie_value(app, device_id, token),
                        max_age=days * 86400, path=KIOSK_PATH, httponly=True,
                        samesite="Strict", secure=bool(app.config.get("SESSION_COOKIE_SECURE")))


def clear_device_cookie(response: Any, app: Flask) -> None:
    response.delete_cookie(DEVICE_COOKIE, path=KIOSK_PATH, httponly=True, samesite="Strict",
                           secure=bool(app.config.get("SESSION_COOKIE_SECURE")))


def device_from_cookie(app: Flask) -> Any:
    """The enrolled device named by the request's device cookie, or None."""
    from intake.services import kiosk

    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw or not app.secret_key:
        return None
    try:
        payload = _device_serializer(app).loads(raw)
    except BadSignature:
        return None
    if not isinstance(payload, dict):
        return None
    return kiosk.authenticate_device(payload.get("d"), payload.get("t"))


def kiosk_device_required(view: F) -> F:
    """Only an enrolled, unrevoked kiosk device; staff sign-ins count for nothing."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.get("kiosk_device") is None:
            return render_template("kiosk/not_enrolled.html"), 403
        return view(*args, **kwargs)

    wrapped.allowed_roles = frozenset({KIOSK_ROLE})  # type: ignore[attr-defined]
    return wrapped  # type: ignore[return-value]
