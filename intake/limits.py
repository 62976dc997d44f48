"""Rate limits per credential (Flask-Limiter), beside the per-address ones:
an API token or a kiosk device that floods is slowed down wherever it
connects from, and a copied credential shares the original's budget.

Keys are hashes of the credential as sent (the bearer token, the kiosk
device cookie), so they work before any view has looked the credential up,
and no secret is kept in the limiter's storage. Features limit a view with
`per_token("INTAKE_..._LIMIT")` or `per_device("INTAKE_..._LIMIT")`, the
limit read from the app's config per request.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from flask import current_app, request

from intake.extensions import limiter


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:32]


def token_key() -> str:
    header = request.headers.get("Authorization", "")
    return "token:" + _digest(header.removeprefix("Bearer ").strip())


def device_key() -> str:
    from intake.blueprints.kiosk.access import DEVICE_COOKIE

    return "kiosk-device:" + _digest(request.cookies.get(DEVICE_COOKIE, ""))


def _setting(name: str) -> Callable[[], str]:
    return lambda: current_app.config[name]


def _limit(setting: str, key: Callable[[], str], shared: str | None,
           options: dict[str, Any]) -> Callable[..., Any]:
    if shared:  # one budget for every view that names the same scope
        return limiter.shared_limit(_setting(setting), scope=shared, key_func=key, **options)
    return limiter.limit(_setting(setting), key_func=key, **options)


def per_token(setting: str, shared: str | None = None, **options: Any) -> Callable[..., Any]:
    return _limit(setting, token_key, shared, options)


def per_device(setting: str, shared: str | None = None, **options: Any) -> Callable[..., Any]:
    return _limit(setting, device_key, shared, options)
