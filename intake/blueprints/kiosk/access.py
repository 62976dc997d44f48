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
from flask.sessions import (SecureCookieSession, SecureCookieSessionInterface, SessionInterface,
                            SessionMixin)
from itsdangerous import BadSignature, URLSafeSerializer

from intake.vocab import KIOSK_LANGUAGES

F = TypeVar("F", bound=Callable[..., Any])

KIOSK_ROLE = "kiosk"
KIOSK_PATH = "/kiosk"
SESSION_COOKIE = "intake_kiosk_session"
DEVICE_COOKIE = "intake_kiosk_device"


def is_kiosk_path(path: str) -> bool:
    return path == KIOSK_PATH or path.startswith(KIOSK_PATH + "/")


def is_kiosk_request() -> bool:
    return has_request_context() and is_kiosk_path(request.path)


class _Cookie(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, written back only when they should be."""

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


class KioskSession(SecureCookieSession):
    """A session read from (and written to) the kiosk's own cookie."""


class _KioskCookie(_Cookie):
    """The kiosk pages' cookie: its own name, path /kiosk, SameSite=Strict,
    its own signing salt, gone when the browser closes (idle expiry is
    enforced on the server)."""

    salt = "intake-kiosk-session"
    session_class = KioskSession

    def get_cookie_name(self, app: Flask) -> str:
        return SESSION_COOKIE

    def get_cookie_path(self, app: Flask) -> str:
        return KIOSK_PATH

    def get_cookie_samesite(self, app: Flask) -> str | None:
        return "Strict"

    def get_expiration_time(self, app: Flask, session: Any) -> Any:
        return None


class KioskSessionInterface(SessionInterface):
    """Staff pages keep Flask's session cookie; kiosk pages (/kiosk/...) get
    their own, so the staff cookie is never even read there and the kiosk
    one never reaches staff pages. Which cookie is decided once, when the
    session is opened, and the session remembers it (`KioskSession`)."""

    def __init__(self) -> None:
        self.kiosk, self.staff = _KioskCookie(), _Cookie()

    def open_session(self, app: Flask, request: Any) -> SessionMixin | None:
        return (self.kiosk if is_kiosk_path(request.path) else self.staff).open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Any) -> None:
        cookie = self.kiosk if isinstance(session, KioskSession) else self.staff
        cookie.save_session(app, session, response)


def select_locale() -> str:
    """The kiosk session's language on kiosk pages; staff pages stay English."""
    if is_kiosk_request():
        lang = session.get("lang")
        if lang in KIOSK_LANGUAGES:
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


def cookie_device(app: Flask) -> Any:
    """The enrolled, unrevoked device the request's device cookie names
    (`kiosk.DeviceSession`), if this app signed the cookie; else None."""
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
