"""Sign in and out. Public routes; everything else needs a role."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from intake.blueprints.auth import bp
from intake.extensions import limiter
from intake.forms import attach_errors
from intake.forms.auth import LoginForm, LogoutForm, PasswordForm
from intake.models.user import Role
from intake.security import public, roles_required
from intake.services import FieldErrors, users
from intake.templating import render_form

HOME = {Role.RECEPTIONIST: "staff.index", Role.BILLING: "billing.index", Role.ADMIN: "admin.index"}


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths: never redirect to another host after login."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/")
@public
def index() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for(HOME.get(current_user.role, "auth.login")))
    return redirect(url_for("auth.login"))


def _login_limit() -> str:
    return current_app.config["INTAKE_LOGIN_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"])
def login() -> Any:
    if not current_app.config.get("SECRET_KEY"):
        return render_template("auth/no_secret.html"), 503
    form = LoginForm()
    if form.validate_on_submit():
        user = users.authenticate(form.username.data, form.password.data)
        if user is None:
            form.password.errors = ["Wrong username or password."]
            # 200, not 4xx: the failed-login audit row must be committed.
            return render_template("auth/login.html", form=form)
        session.clear()  # a fresh session at login, nothing carried over
        users.start_session(user, request.remote_addr)
        login_user(user)
        session.permanent = True
        return redirect(_safe_next(request.args.get("next")) or url_for("auth.index"))
    return render_form("auth/login.html", form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Any:
    form = LogoutForm()
    if form.validate_on_submit():
        users.end_session(current_user._get_current_object())
        logout_user()
        session.clear()
        flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


logout.allowed_roles = frozenset(Role)  # type: ignore[attr-defined]


@bp.route("/account/password", methods=["GET", "POST"])
@roles_required(*Role)
def change_password() -> Any:
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            users.change_password(current_user._get_current_object(), form.current.data,
                                  form.new.data)
        except FieldErrors as exc:
            attach_errors(form, exc.errors)
        else:
            flash("Password changed.", "success")
            return redirect(url_for("auth.index"))
    return render_form("auth/password.html", form)
