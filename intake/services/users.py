"""Staff accounts: creation, password checks, sessions."""

from __future__ import annotations

import secrets
from datetime import datetime, timezone

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context

from intake.extensions import db
from intake.models import User
from intake.models.user import Role, new_session_token
from intake.services import FieldErrors
from intake.services import audit



@cache
def _hasher_for(time_cost: int, memory_kib: int) -> tuple[PasswordHasher, str]:
    """The hasher and a throwaway hash: verifying against it when the username
    is unknown keeps a failed login as slow as a real one."""
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
    return hasher, hasher.hash(secrets.token_urlsafe(16))


def _hasher() -> tuple[PasswordHasher, str]:
    config = current_app.config if has_app_context() else {}
    # argon2-cffi's defaults (RFC 9106 low-memory profile); tests lower them.
    return _hasher_for(config.get("INTAKE_ARGON2_TIME_COST", 3),
                       config.get("INTAKE_ARGON2_MEMORY_KIB", 65536))

MIN_PASSWORD = 12


def create_user(username: str, password: str, role: str) -> User:
    username = username.strip().lower()
    errors: dict[str, list[str]] = {}
    if role not in set(Role):
        errors["role"] = [f"Role must be one of {', '.join(Role)}."]
    if len(password) < MIN_PASSWORD:
        errors["password"] = [f"Use at least {MIN_PASSWORD} characters."]
    if not username or not username.replace(".", "").replace("-", "").replace("_", "").isalnum():
        errors["username"] = ["Use letters, digits, dots, dashes or underscores."]
    elif db.session.execute(db.select(User.id).filter_by(username=username)).first():
        errors["username"] = ["That username is taken."]
    if errors:
        raise FieldErrors(errors)
    user = User(username=username, password_hash=_hasher()[0].hash(password), role=role)
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", object_type="user", object_id=user.id, detail=f"role={role}")
    return user


def authenticate(username: str, password: str) -> User | None:
    user = db.session.execute(
        db.select(User).filter_by(username=username.strip().lower())
    ).scalar_one_or_none()
    hasher, dummy = _hasher()
    if user is None or not user.active:
        try:
            hasher.verify(dummy, password)
        except VerificationError:
            pass
        audit.record("auth.login_failed", detail="unknown or inactive account")
        return None
    try:
        hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        audit.record("auth.login_failed", object_type="user", object_id=user.id,
                     user_id=user.id, actor=user.username)
        return None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return user


def start_session(user: User) -> None:
    """A fresh token per login, so a cookie captured before login is useless."""
    user.session_token = new_session_token()
    user.last_login_at = datetime.now(timezone.utc)
    db.session.flush()
    audit.record("auth.login", object_type="user", object_id=user.id,
                 user_id=user.id, actor=user.username)


def end_session(user: User) -> None:
    """Server-side logout: the old cookie no longer names a valid session."""
    user.session_token = new_session_token()
    audit.record("auth.logout", object_type="user", object_id=user.id)


def set_password(user: User, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise FieldErrors({"password": [f"Use at least {MIN_PASSWORD} characters."]})
    user.password_hash = _hasher()[0].hash(password)
    user.session_token = new_session_token()
    audit.record("user.password", object_type="user", object_id=user.id)


def set_active(user: User, active: bool) -> None:
    user.active = active
    user.session_token = new_session_token()
    audit.record("user.activate" if active else "user.deactivate",
                 object_type="user", object_id=user.id)


def list_users() -> list[User]:
    return list(db.session.execute(db.select(User).order_by(User.username)).scalars())


def get_user(user_id: int) -> User | None:
    return db.session.get(User, user_id)


def ensure_admin(password: str | None) -> tuple[User | None, str | None]:
    """Create the first admin when there is none. Returns the user and the
    password when it was generated (to print once)."""
    if db.session.execute(db.select(User.id).filter_by(role=Role.ADMIN)).first():
        return None, None
    generated = None
    if not password:
        generated = password = secrets.token_urlsafe(15)
    return create_user("admin", password, Role.ADMIN), generated
