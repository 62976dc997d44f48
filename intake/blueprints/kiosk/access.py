"""The kiosk's own access rule, kept apart from staff sign-in.

- Kiosk pages (/kiosk/...) use their own session cookie (intake.sessions).
- Only a device holding a signed device cookie naming an enrolled, unrevoked
  device passes `kiosk_device_required`; that is checked on every request.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, g, render_template, request
from itsdangerous import BadSignature, URLSafeSerializer

from intake.sessions import KIOSK_PATH

F = TypeVar("F", bound=Callable[..., Any])

KIOSK_ROLE = "kiosk"
DEVICE_COOKIE = "intake_kiosk_device"


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
