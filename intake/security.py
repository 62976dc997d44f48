"""Login, roles and session rules."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, abort
from flask_login import current_user

from intake.extensions import login_manager

F = TypeVar("F", bound=Callable[..., Any])

PUBLIC = "public"


def roles_required(*roles: str) -> Callable[[F], F]:
    """Every view states who may use it; the role matrix test reads `allowed_roles`."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = frozenset(roles)  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


def public(view: F) -> F:
    view.allowed_roles = frozenset({PUBLIC})  # type: ignore[attr-defined]
    return view


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(token: str) -> Any:
        from intake.services.users import load_session_user

        return load_session_user(token, app.config["INTAKE_SESSION_ABSOLUTE"].total_seconds())

    @app.after_request
    def no_store_for_staff(response: Any) -> Any:
        # Pages behind a login show patient data: never cache them.
        if current_user.is_authenticated:
            response.headers["Cache-Control"] = "no-store"
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
