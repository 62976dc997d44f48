"""Kiosk drafts: what a patient has typed so far, kept on the server (the
browser holds only a random key), wiped when idle, after Send, or at the
latest INTAKE_KIOSK_DRAFT_MAX_MINUTES after it began."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import IO, TYPE_CHECKING, Any

from flask import current_app

from intake import vocab
from intake.extensions import db
from intake.models import KioskDraft
from intake.models.base import utcnow
from intake.services import audit
from intake.services.kiosk import pictures

if TYPE_CHECKING:
    from intake.services.kiosk.devices import DeviceSession


def setting(name: str) -> int:
    """A kiosk timer (INTAKE_KIOSK_*; defaults in config.Defaults)."""
    return int(current_app.config[name])


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _expiry(draft: KioskDraft, now: datetime) -> datetime:
    idle = now + timedelta(seconds=setting("INTAKE_KIOSK_IDLE_TIMEOUT_SECONDS"))
    absolute = draft.created_at + timedelta(minutes=setting("INTAKE_KIOSK_DRAFT_MAX_MINUTES"))
    return min(idle, absolute)


def start_draft(device: DeviceSession, language: str) -> tuple[KioskDraft, str]:
    """A new, empty draft; the returned key goes in the kiosk session only."""
    purge_expired(sweep=False)  # the file sweep reads every draft: the worker does it
    key = secrets.token_urlsafe(32)
    now = utcnow()
    draft = KioskDraft(key_hash=digest(key), device_id=device.id,
                       language=language if language in vocab.KIOSK_LANGUAGES else "en",
                       data={"steps": {}, "done": [], "cards": {}, "signatures": {}},
                       created_at=now, updated_at=now)
    draft.expires_at = _expiry(draft, now)
    db.session.add(draft)
    db.session.flush()
    return draft, key


def load_draft(key: Any, device: DeviceSession) -> KioskDraft | None:
    """The live draft of this key on this device; an expired one is wiped.
    Locked until the request commits (PostgreSQL; on SQLite the transaction
    holds the write lock anyway), so two requests for one draft (a double
    tap on Send, two tabs) take turns and the second sees what the first did."""
    if not isinstance(key, str) or not key:
        return None
    draft = db.session.execute(
        db.select(KioskDraft).filter_by(key_hash=digest(key), device_id=device.id)
        .with_for_update()
    ).scalar_one_or_none()
    if draft is None:
        return None
    now = utcnow()
    if draft.expires_at <= now:
        delete_draft(draft)
        return None
    draft.updated_at = now
    draft.expires_at = _expiry(draft, now)
    return draft


def changed(draft: KioskDraft, data: dict[str, Any]) -> None:
    # JSON columns notice reassignment, not in-place edits.
    draft.data = data
    db.session.flush()


def copy_data(draft: KioskDraft) -> dict[str, Any]:
    data = dict(draft.data or {})
    for key, empty in (("steps", {}), ("cards", {}), ("signatures", {}), ("done", [])):
        data[key] = type(empty)(data.get(key) or empty)
    return data


def save_step(draft: KioskDraft, step: str, values: Mapping[str, Any], *,
              complete: bool) -> None:
    """Keep what was typed on a step, valid or not; mark it complete when it validated."""
    data = copy_data(draft)
    data["steps"][step] = dict(values)
    done = [s for s in data["done"] if s != step]
    if complete:
        done.append(step)
    data["done"] = done
    changed(draft, data)


def step_values(draft: KioskDraft, step: str) -> dict[str, Any]:
    return dict((draft.data or {}).get("steps", {}).get(step) or {})


def completed_steps(draft: KioskDraft) -> list[str]:
    return list((draft.data or {}).get("done") or [])


def set_language(draft: KioskDraft, language: str) -> None:
    if language in vocab.KIOSK_LANGUAGES:
        draft.language = language
        db.session.flush()


def discard_draft(draft: KioskDraft | None, reason: str) -> None:
    """Wipe a draft now (idle, start over, after submission)."""
    if draft is None:
        return
    device_id = draft.device_id
    delete_draft(draft)
    audit.record("kiosk.draft_wiped", object_type="kiosk_device", object_id=device_id,
                 detail=f"reason={reason}")


def delete_draft(draft: KioskDraft) -> None:
    names = pictures.draft_files(draft.data or {})
    db.session.delete(draft)
    db.session.flush()
    for name in names:
        pictures.remove_file(name)


def purge_expired(sweep: bool = True) -> int:
    """Delete expired drafts (and their pictures), and unless told not to,
    sweep kiosk files that nothing names any more."""
    now = utcnow()
    expired = list(db.session.execute(
        db.select(KioskDraft).where(KioskDraft.expires_at <= now)).scalars())
    for draft in expired:
        delete_draft(draft)
    if sweep:
        pictures.sweep_files()
    return len(expired)

def save_draft_card(draft: KioskDraft, slot: str, stream: IO[bytes]) -> None:
    """Keep a photo of an insurance card with the draft (`pictures.store_card`)."""
    name = pictures.store_card(slot, stream)
    if name is None:
        return
    data = copy_data(draft)
    old = data["cards"].get(slot)
    data["cards"][slot] = name
    changed(draft, data)
    if old:
        pictures.remove_file(old)


def remove_draft_card(draft: KioskDraft, slot: str) -> None:
    data = copy_data(draft)
    old = data["cards"].pop(slot, None)
    changed(draft, data)
    if old:
        pictures.remove_file(old)


def draft_cards(draft: KioskDraft) -> dict[str, str]:
    return dict((draft.data or {}).get("cards") or {})


def save_signature(draft: KioskDraft, kind: str, png: bytes | None) -> None:
    data = copy_data(draft)
    if png is None:
        data["signatures"].pop(kind, None)
    else:
        data["signatures"][kind] = base64.b64encode(png).decode("ascii")
    changed(draft, data)


def draft_signatures(draft: KioskDraft) -> set[str]:
    return set(((draft.data or {}).get("signatures") or {}).keys())


def draft_picture(draft: KioskDraft, key: str) -> tuple[bytes, str] | None:
    """A picture of this draft (only): 'sig-<kind>' or 'card-<slot>'."""
    data = draft.data or {}
    if key.startswith("sig-"):
        b64 = (data.get("signatures") or {}).get(key[4:])
        return (base64.b64decode(b64), "image/png") if b64 else None
    if key.startswith("card-"):
        name = (data.get("cards") or {}).get(key[5:])
        body = pictures.read_card(name) if name else None
        if body is not None:
            return body, "image/jpeg"
    return None
