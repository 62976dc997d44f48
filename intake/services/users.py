"""Staff accounts: creation, password checks, sessions."""

from __future__ import annotations

import secrets
from datetime import datetime, timezone

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context

from intake.config import Defaults
from intake.extensions import db
from intake.models import StaffSession, User
from intake.models.user import Role
from intake.services import FieldErrors
from intake.services import audit



@cache
def _hasher_for(time_cost: int, memory_kib: int) -> tuple[PasswordHasher, str]:
    """The hasher and a throwaway hash: verifying against it when the username
    is unknown keeps a failed login as slow as a real one."""
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
    return hasher, hasher.hash(secrets.token_urlsafe(16))


def _hasher() -> tuple[PasswordHasher, str]:
    config = current_app.config if has_app_context() else vars(Defaults)
    return _hasher_for(config["INTAKE_ARGON2_TIME_COST"], config["INTAKE_ARGON2_MEMORY_KIB"])


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


def start_session(user: User, remote_addr: str | None = None) -> StaffSession:
    """A new server-side session per sign-in."""
    user.last_login_at = datetime.now(timezone.utc)
    staff_session = StaffSession(user_id=user.id, remote_addr=remote_addr)
    db.session.add(staff_session)
    db.session.flush()
    user.current_session_token = staff_session.token
    audit.record("auth.login", object_type="user", object_id=user.id,
                 user_id=user.id, actor=user.username)
    return staff_session


def load_session_user(token: str, max_age_seconds: float) -> User | None:
    """The user of a live session, or None once it was ended or is older than
    the absolute limit (checked here, on the server, not only in the cookie)."""
    row = db.session.execute(
        db.select(StaffSession, User).join(User, User.id == StaffSession.user_id)
        .where(StaffSession.token == token, StaffSession.ended_at.is_(None))
    ).first()
    if row is None:
        return None
    staff_session, user = row
    age = (datetime.now(timezone.utc) - staff_session.created_at).total_seconds()
    if not user.active or age > max_age_seconds:
        return None
    user.current_session_token = token
    return user


def _end_sessions(user: User, keep: str | None = None) -> None:
    now = datetime.now(timezone.utc)
    query = db.update(StaffSession).where(StaffSession.user_id == user.id,
                                          StaffSession.ended_at.is_(None))
    if keep:
        query = query.where(StaffSession.token != keep)
    db.session.execute(query.values(ended_at=now))


def end_session(user: User) -> None:
    """Server-side logout of this sign-in only."""
    db.session.execute(db.update(StaffSession)
                       .where(StaffSession.token == user.current_session_token)
                       .values(ended_at=datetime.now(timezone.utc)))
    audit.record("auth.logout", object_type="user", object_id=user.id)


def set_password(user: User, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise FieldErrors({"password": [f"Use at least {MIN_PASSWORD} characters."]})
    user.password_hash = _hasher()[0].hash(password)
    _end_sessions(user, keep=user.current_session_token)  # other sign-ins end
    audit.record("user.password", object_type="user", object_id=user.id)


def change_password(user: User, current: str, new: str) -> None:
    """A signed-in user changes their own password; other sessions end."""
    try:
        _hasher()[0].verify(user.password_hash, current)
    except (VerificationError, InvalidHashError):
        raise FieldErrors({"current": ["That is not your current password."]}) from None
    if new == current:
        raise FieldErrors({"new": ["Choose a password different from the current one."]})
    set_password(user, new)


def set_active(user: User, active: bool) -> None:
    user.active = active
    if not active:
        _end_sessions(user)
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
