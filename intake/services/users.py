"""Staff accounts: creation, password checks, sessions."""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from datetime import datetime, timedelta, timezone

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context

from intake.config import Defaults
from intake.extensions import db
from intake.models import StaffSession, User
from intake.models.user import Role
from intake.services import FieldErrors
from intake.services import audit, passwords



@cache
def _hasher_for(time_cost: int, memory_kib: int) -> tuple[PasswordHasher, str]:
    """The hasher and a throwaway hash: verifying against it when the username
    is unknown keeps a failed login as slow as a real one."""
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
    return hasher, hasher.hash(secrets.token_urlsafe(16))


def _hasher() -> tuple[PasswordHasher, str]:
    config = current_app.config if has_app_context() else vars(Defaults)
    return _hasher_for(config["INTAKE_ARGON2_TIME_COST"], config["INTAKE_ARGON2_MEMORY_KIB"])


MIN_PASSWORD = passwords.MIN_LENGTH


def create_user(username: str, password: str, role: str) -> User:
    username = username.strip().lower()
    errors: dict[str, list[str]] = {}
    if role not in set(Role):
        errors["role"] = [f"Role must be one of {', '.join(Role)}."]
    weak = passwords.problems(password, user_inputs=[username, "intake"])
    if weak:
        errors["password"] = weak
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


def user_agent_hash(user_agent: str | None) -> str:
    return hashlib.sha256((user_agent or "").encode("utf-8", "replace")).hexdigest()


def coarse_address(addr: str | None) -> str | None:
    """The network a session is bound to: IPv4 /24, IPv6 /48 (a phone moving
    between addresses of one office network keeps its session)."""
    try:
        ip = ipaddress.ip_address(addr or "")
    except ValueError:
        return addr
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def start_session(user: User, remote_addr: str | None = None,
                  user_agent: str | None = None) -> StaffSession:
    """A new server-side session per sign-in, bound to the browser (User-Agent)
    and the coarse network it started from."""
    now = datetime.now(timezone.utc)
    user.last_login_at = now
    staff_session = StaffSession(user_id=user.id, remote_addr=remote_addr,
                                 user_agent_hash=user_agent_hash(user_agent), last_active_at=now)
    db.session.add(staff_session)
    db.session.flush()
    user.current_session_token = staff_session.token
    audit.record("auth.login", object_type="user", object_id=user.id,
                 user_id=user.id, actor=user.username)
    return staff_session


# Writing last_active_at on every page would be a write per request; this
# close is close enough for a timeout counted in minutes.
_ACTIVITY_GRANULARITY = timedelta(seconds=15)
MISMATCH, IDLE = "mismatch", "idle"


def load_session_user(token: str, max_age_seconds: float, *, idle_seconds: float | None = None,
                      user_agent: str | None = None, remote_addr: str | None = None,
                      activity: bool = True, ended: list[str] | None = None) -> User | None:
    """The user of a live session, or None once it was ended or is older than
    the absolute limit (checked here, on the server, not only in the cookie).

    A session used from another browser or network than it started in is a
    copied cookie: it is ended (for its owner too) and audited. One idle for
    longer than `idle_seconds` is ended. Only `activity` requests (not
    background refreshes and live checks) count as use. Why a session was
    ended goes into `ended` (MISMATCH or IDLE), for the sign-in page."""
    row = db.session.execute(
        db.select(StaffSession, User).join(User, User.id == StaffSession.user_id)
        .where(StaffSession.token == token, StaffSession.ended_at.is_(None))
    ).first()
    if row is None:
        return None
    staff_session, user = row
    now = datetime.now(timezone.utc)
    age = (now - staff_session.created_at).total_seconds()
    if not user.active or age > max_age_seconds:
        return None
    reason = None
    if staff_session.user_agent_hash is not None and (
            staff_session.user_agent_hash != user_agent_hash(user_agent)
            or coarse_address(staff_session.remote_addr) != coarse_address(remote_addr)):
        reason = MISMATCH
    elif (idle_seconds is not None and staff_session.last_active_at is not None
          and (now - staff_session.last_active_at).total_seconds() > idle_seconds):
        reason = IDLE
    if reason is not None:
        staff_session.ended_at = now
        audit.record("auth.session_ended", object_type="user", object_id=user.id,
                     user_id=user.id, actor=user.username, detail=f"reason={reason}")
        if ended is not None:
            ended.append(reason)
        return None
    if activity and (staff_session.last_active_at is None
                     or now - staff_session.last_active_at > _ACTIVITY_GRANULARITY):
        staff_session.last_active_at = now
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


def set_password(user: User, password: str, field: str = "password") -> None:
    passwords.require_strong(password, field=field, user_inputs=[user.username, "intake"])
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
    set_password(user, new, field="new")


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
