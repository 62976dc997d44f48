"""Kiosk devices: an administrator adds a tablet and gets a one-time code;
enrolling with it gives the tablet a device token (kept in its signed device
cookie, stored here only as a hash); revoking ends it and wipes its drafts."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import Any, NamedTuple

from intake.extensions import db
from intake.models import KioskDevice, KioskDraft
from intake.models.base import utcnow
from intake.services import FieldErrors, NotFound, audit
from intake.services.kiosk.drafts import delete_draft, digest, setting

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


CODE_LENGTH = 10


def _new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def _code_key(code: str) -> str:
    cleaned = "".join(ch for ch in code.upper() if ch.isalnum())
    return digest("kiosk-enroll:" + cleaned)


def list_devices() -> list[KioskDevice]:
    return list(db.session.execute(
        db.select(KioskDevice).order_by(KioskDevice.revoked_at.is_not(None), KioskDevice.id)
    ).scalars())


def get_device(device_id: int) -> KioskDevice:
    device = db.session.get(KioskDevice, device_id)
    if device is None:
        raise NotFound("kiosk device")
    return device


def create_device(name: str) -> tuple[KioskDevice, str]:
    """A new device waiting for enrollment, and its one-time code (shown once)."""
    name = " ".join(name.split())
    if not name:
        raise FieldErrors({"name": ["Give the device a name, for example 'Waiting room tablet 1'."]})
    device = KioskDevice(name=name[:80], created_by_id=audit.current_user_id())
    db.session.add(device)
    db.session.flush()
    code = issue_code(device, audit_it=False)
    audit.record("kiosk.device_create", object_type="kiosk_device", object_id=device.id)
    return device, code


def issue_code(device: KioskDevice, *, audit_it: bool = True) -> str:
    """A fresh one-time code; enrolling with it replaces the device's cookie."""
    if device.revoked_at:
        raise FieldErrors({"device": ["This device is revoked; add a new one instead."]})
    code = _new_code()
    device.enroll_code_hash = _code_key(code)
    device.enroll_code_expires_at = utcnow() + timedelta(
        minutes=setting("INTAKE_KIOSK_ENROLL_CODE_MINUTES"))
    db.session.flush()
    if audit_it:
        audit.record("kiosk.code_issue", object_type="kiosk_device", object_id=device.id)
    return code


def enroll(code: str) -> tuple[KioskDevice, str]:
    """Trade a valid one-time code for a device token (kept in the device cookie)."""
    device = db.session.execute(
        db.select(KioskDevice).filter_by(enroll_code_hash=_code_key(code or ""))
    ).scalar_one_or_none()
    if (device is None or device.revoked_at or device.enroll_code_expires_at is None
            or device.enroll_code_expires_at < utcnow()):
        audit.record("kiosk.enroll_failed", object_type="kiosk_device",
                     object_id=device.id if device else None, actor="kiosk-enrollment")
        raise FieldErrors({"code": ["That code is not valid or has expired. "
                                    "Ask an administrator for a new one."]})
    token = secrets.token_urlsafe(32)
    device.token_hash = digest(token)
    device.enroll_code_hash = None
    device.enroll_code_expires_at = None
    device.enrolled_at = device.last_seen_at = utcnow()
    db.session.flush()
    audit.record("kiosk.enroll", object_type="kiosk_device", object_id=device.id,
                 actor=f"kiosk-{device.id}")
    return device, token


class DeviceSession(NamedTuple):
    """The enrolled device a kiosk request comes from."""

    id: int
    name: str


def authenticate_device(device_id: Any, token: Any) -> DeviceSession | None:
    """The enrolled, unrevoked device this cookie names, or None."""
    if not isinstance(device_id, int) or not isinstance(token, str):
        return None
    device = db.session.get(KioskDevice, device_id)
    if device is None or device.revoked_at or not device.token_hash:
        return None
    if not hmac.compare_digest(device.token_hash, digest(token)):
        return None
    now = utcnow()
    if device.last_seen_at is None or now - device.last_seen_at > timedelta(minutes=1):
        device.last_seen_at = now
    return DeviceSession(device.id, device.name)


def revoke_device(device: KioskDevice) -> None:
    if device.revoked_at:
        return
    device.revoked_at = utcnow()
    device.revoked_by_id = audit.current_user_id()
    device.token_hash = None
    device.enroll_code_hash = None
    device.enroll_code_expires_at = None
    for draft in db.session.execute(db.select(KioskDraft).filter_by(device_id=device.id)).scalars():
        delete_draft(draft)
    db.session.flush()
    audit.record("kiosk.device_revoke", object_type="kiosk_device", object_id=device.id)
