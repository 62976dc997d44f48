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
    """Flask's signed-cookie sessions, with a separate cookie for kiosk paths.
    The two serializers are made once per set of keys, not twice a request
    (making one signs a test value to learn what it produces)."""

    def __init__(self) -> None:
        self._serializers: dict[tuple[Any, ...], URLSafeTimedSerializer] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        kiosk = is_kiosk_request()
        key = (kiosk, app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        serializer = self._serializers.get(key)
        if serializer is None:
            serializer = super().get_signing_serializer(app)
            if serializer is not None and kiosk:
                serializer = URLSafeTimedSerializer(
                    serializer.secret_keys, salt="intake-kiosk-session", serializer=self.serializer,
                    signer_kwargs={"key_derivation": self.key_derivation,
                                   "digest_method": self.digest_method})
            if len(self._serializers) >= 8:  # keys rotated: forget the old ones
                self._serializers.clear()
            self._serializers[key] = serializer
        return serializer

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
    cached = app.extensions.get("intake_kiosk_device_serializer")
    if cached is None or cached[0] != app.secret_key:
        cached = (app.secret_key, URLSafeSerializer(app.secret_key, salt="intake-kiosk-device"))
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
