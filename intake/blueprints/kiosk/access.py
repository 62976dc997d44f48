"""The kiosk's own access rule, kept apart from staff sign-in.

- Kiosk pages (/kiosk/...) use their own session cookie (name, path /kiosk,
  SameSite=Strict, browser-session lifetime, its own signing salt): the staff
  session cookie is never even read there, and the kiosk one never reaches
  staff pages.
- Only a device holding a signed device cookie naming an enrolled, unrevoked
  device passes `kiosk_device_required`; that is checked on every request.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, g, has_request_context, render_template, request, session
from flask.sessions import (SecureCookieSession, SecureCookieSessionInterface, SessionInterface,
                            SessionMixin)
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer

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
    """Flask's signed-cookie sessions, with the serializer made once per set
    of keys (Flask makes a new one twice a request, and making one signs a
    test value), and HMACs through hashlib's own SHA-1 (the same signatures
    as Flask's default, by OpenSSL's HMAC instead of the pure-Python one)."""

    digest_method = staticmethod(hashlib.sha1)

    def __init__(self) -> None:
        self._serializers: dict[tuple[Any, ...], URLSafeTimedSerializer | None] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        key = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        try:
            return self._serializers[key]
        except KeyError:
            if len(self._serializers) >= 4:  # keys rotated: forget the old ones
                self._serializers.clear()
            serializer = self._serializers[key] = super().get_signing_serializer(app)
            return serializer

    def should_set_cookie(self, app: Flask, session: Any) -> bool:
        # A background fetch (codes as you type, the live duplicate check) or a
        # static file must not write the cookie back unless it changed it:
        # racing a page load, it would restore a flash message that page had
        # just shown. Page loads keep the idle timer fresh.
        if not session.modified and (request.endpoint or "").endswith("static"):
            return False
        from intake.security import is_background_request

        if not session.modified and is_background_request():
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
    from intake.services.kiosk import LANGUAGES

    if is_kiosk_request():
        lang = session.get("lang")
        if lang in LANGUAGES:
            return lang
    return "en"


def _device_serializer(app: Flask) -> URLSafeSerializer:
    cached = app.extensions.get("intake_kiosk_device_serializer")
    if cached is None or cached[0] != app.secret_key:
        cached = (app.secret_key, URLSafeSerializer(app.secret_key, salt="intake-kiosk-device",
                                                    signer_kwargs={"digest_method": hashlib.sha1}))
        app.extensions["intake_kiosk_device_serializer"] = cached
    return cached[1]


def device_cookie_value(app: Flask, device_id: int, token: str) -> str:
    return _device_serializer(app).dumps({"d": device_id, "t": token})


def set_device_cookie(response: Any, app: Flask, device_id: int, token: str, days: int) -> None:
    response.set_cookie(DEVICE_COOKIE, device_cookie_value(app, device_id, token),
                        max_age=days * 86400, path=KIOSK_PATH, httponly=True,
                        samesite="Strict", secure=bool(app.config.get("SESSION_COOKIE_SECURE")))


def clear_device_cookie(response: Any, app: Flask) -> None:
    response.delete_cookie(DEVICE_COOKIE, path=KIOSK_PATH, httponly=True, samesite="Strict",
                           secure=bool(app.config.get("SESSION_COOKIE_SECURE")))


def device_claim(app: Flask) -> Any:
    """What the request's device cookie says (`kiosk.DeviceClaim`), if this
    app signed it; not yet checked against the devices table. Else None."""
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
    device_id, token = payload.get("d"), payload.get("t")
    if not isinstance(device_id, int) or not isinstance(token, str):
        return None
    return kiosk.DeviceClaim(device_id, token)


def checks_device(view: F) -> F:
    """Mark a kiosk view whose own statement checks the device cookie's
    claim against the devices table (Send). Before it runs, the request
    holds the signed claim (`g.kiosk_device`) instead of a checked device:
    one query fewer. The view must call `checked_device()` before it does
    anything but that statement."""
    view.checks_device = True  # type: ignore[attr-defined]
    return view


def checked_device() -> Any:
    """The request's device, checked against the devices table now if only
    its claim was held (see `checks_device`); None if it is not enrolled."""
    from intake.services import kiosk

    device = g.get("kiosk_device")
    if isinstance(device, kiosk.DeviceClaim):
        device = g.kiosk_device = kiosk.authenticate_device(device.id, device.token)
    return device


def kiosk_device_required(view: F) -> F:
    """Only an enrolled, unrevoked kiosk device; staff sign-ins count for nothing."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.get("kiosk_device") is None:
            return render_template("kiosk/not_enrolled.html"), 403
        return view(*args, **kwargs)

    wrapped.allowed_roles = frozenset({KIOSK_ROLE})  # type: ignore[attr-defined]
    return wrapped  # type: ignore[return-value]
