"""Login, roles and session rules."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, abort, request
from flask_login import current_user

from intake.extensions import login_manager
from intake.services import audit

F = TypeVar("F", bound=Callable[..., Any])

PUBLIC = "public"

# No inline script or style anywhere: scripts and styles are files under /static.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": ["'self'", "data:", "blob:"],  # card previews, drawn signatures
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


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

    from intake.extensions import limiter, talisman

    talisman.init_app(
        app,
        content_security_policy=CONTENT_SECURITY_POLICY,
        force_https=app.config["INTAKE_FORCE_HTTPS"],
        strict_transport_security=True,  # sent only on requests that came over https
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        session_cookie_http_only=True,
        frame_options="DENY",
        referrer_policy="same-origin",
        permissions_policy={"camera": "self", "geolocation": "()", "microphone": "()"},
    )
    limiter.init_app(app)

    @app.before_request
    def staff_actor() -> None:
        """Who acts in this request, for the audit log and who-did-it columns:
        the signed-in staff member (an API token or a kiosk device is named
        by its own blueprint's check)."""
        if not (request.endpoint or "").endswith("static") and current_user.is_authenticated:
            audit.act_as(current_user.username, current_user.id)

    @app.after_request
    def no_store(response: Any) -> Any:
        # Pages show patient data (staff, kiosk, API): never cache them.
        # Static files keep their caching.
        if request.endpoint and not request.endpoint.endswith("static"):
            response.headers["Cache-Control"] = "no-store"
        return response
