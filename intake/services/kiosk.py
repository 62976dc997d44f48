"""The patient kiosk: device enrollment and revocation, server-side drafts,
submission, and the front desk's review (accept into a new chart, merge into
an existing one field by field, or reject).

Kiosk pages never read charts: nothing here that a kiosk view calls looks up
a patient. Acceptance reuses the registration and coverage services, so the
same rules and audit rows apply as at the front desk."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import secrets
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Any, NamedTuple

from flask import current_app, has_request_context
from flask_babel import force_locale, lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import bindparam, exists, select, update
from sqlalchemy.orm.attributes import get_history

from intake import images, private
from intake.database import DriverStatement, on_commit
from intake.extensions import db
from intake.models import KioskDevice, KioskDraft, KioskSubmission, Patient, Payer, SignedConsent
from intake.models.base import utcnow
from intake.models.coverage import PayerKind
from intake.normalize import clean_text
from intake.services import FieldErrors, NotFound, audit, coverages, duplicates, patients

LANGUAGES = ("en", "es", "pl", "nl", "fr", "id", "ro")
# Each language's own name: shown on the language screen and switcher untranslated.
LANGUAGE_NAMES = {"en": "English", "es": "Español", "pl": "Polski", "nl": "Nederlands",
                  "fr": "Français", "id": "Bahasa Indonesia", "ro": "Română"}

DEFAULTS: dict[str, int] = {
    "INTAKE_KIOSK_ENROLL_CODE_MINUTES": 15,
    "INTAKE_KIOSK_DEVICE_COOKIE_DAYS": 400,  # browsers cap cookie lifetimes at 400 days
    "INTAKE_KIOSK_IDLE_WARNING_SECONDS": 90,  # warning shown after this much inactivity
    "INTAKE_KIOSK_IDLE_TIMEOUT_SECONDS": 120,  # then wiped, in the page and on the server
    "INTAKE_KIOSK_DRAFT_MAX_MINUTES": 60,  # a draft never lives longer than this
    "INTAKE_KIOSK_DONE_SECONDS": 20,  # the thank-you page returns to the start
}
SIGNATURE_MAX_BYTES = 400_000
SIGNATURE_MAX_SIDE = 2000
FILE_GRACE_SECONDS = 600  # unreferenced kiosk files younger than this may belong to a request in flight
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
CODE_LENGTH = 10

# Patient fields the kiosk collects; the rest of a chart is the front desk's.
PATIENT_FIELDS = (
    "given_name", "middle_name", "family_name", "preferred_name", "birth_date", "sex",
    "preferred_language", "races", "ethnicity",
    "address_line1", "address_line2", "city", "state", "postal_code",
    "phone_mobile", "phone_home", "email",
    "emergency_name", "emergency_relationship", "emergency_phone",
)
FIELD_LABELS = {
    "given_name": "Given name", "middle_name": "Middle name", "family_name": "Family name",
    "preferred_name": "Preferred name", "birth_date": "Date of birth", "sex": "Sex",
    "preferred_language": "Preferred language", "races": "Race", "ethnicity": "Ethnicity",
    "address_line1": "Street address", "address_line2": "Apartment, suite", "city": "City",
    "state": "State", "postal_code": "ZIP code", "phone_mobile": "Mobile phone",
    "phone_home": "Home phone", "email": "Email", "emergency_name": "Emergency contact",
    "emergency_relationship": "Emergency contact relationship",
    "emergency_phone": "Emergency contact phone",
}


def _staff_id() -> int | None:
    """The signed-in staff member (review and admin views), for who-did-it columns."""
    if has_request_context() and current_user.is_authenticated:
        return current_user.id
    return None


def setting(name: str) -> int:
    return int(current_app.config.get(name, DEFAULTS[name]))


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _now() -> datetime:
    return utcnow()


# ---- consents ---------------------------------------------------------------

@dataclass(frozen=True)
class ConsentDocument:
    kind: str
    version: str
    title: Any  # lazy strings: rendered in the patient's language
    paragraphs: tuple[Any, ...]


CONSENTS = (
    ConsentDocument("treatment", "2026-1", _l("Consent to treatment"), (
        _l("I consent to the examinations, tests and treatment that the physicians, nurses "
           "and staff of this practice consider necessary for my care, or for the care of "
           "the patient I represent."),
        _l("I understand that I may ask questions about any treatment before it is given, "
           "and that I may refuse or stop any treatment at any time. No guarantee has been "
           "made to me about the results of any examination or treatment."),
        _l("This consent remains in effect until I withdraw it in writing."),
    )),
    ConsentDocument("privacy", "2026-1", _l("Acknowledgement of the Notice of Privacy Practices"), (
        _l("I acknowledge that I have been offered a copy of this practice's Notice of "
           "Privacy Practices. The notice explains how my health information may be used "
           "and disclosed, and describes my rights regarding that information."),
        _l("I understand that I may ask the front desk for a printed copy at any time."),
    )),
    ConsentDocument("financial", "2026-1", _l("Financial responsibility"), (
        _l("I authorize this practice to bill my health insurance for the services I "
           "receive, and I assign to the practice the insurance benefits payable for "
           "those services."),
        _l("I understand that I am financially responsible for any amount my insurance "
           "does not pay, including copayments, coinsurance, deductibles and services my "
           "plan does not cover. I agree to pay these amounts when they are due."),
    )),
    ConsentDocument("communication", "2026-1", _l("Communication preferences"), (
        _l("I authorize this practice to contact me about appointments, test results, "
           "billing and my care by the methods I have selected below. These messages may "
           "contain limited health information."),
        _l("I understand that email and text messages are not always secure, and that I "
           "may change these preferences at any time by informing the front desk."),
    )),
)
CONSENT_KINDS = tuple(c.kind for c in CONSENTS)
COMMUNICATION_CHOICES = ("sms", "email", "voicemail")


def consent_text(doc: ConsentDocument, language: str) -> tuple[str, str]:
    """The title and text exactly as shown in `language`."""
    with force_locale(language):
        return str(doc.title), "\n\n".join(str(p) for p in doc.paragraphs)


# ---- devices ----------------------------------------------------------------

def _new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def _code_key(code: str) -> str:
    cleaned = "".join(ch for ch in code.upper() if ch.isalnum())
    return _digest("kiosk-enroll:" + cleaned)


def list_devices() -> list[KioskDevice]:
    return list(db.session.execute(
        db.select(KioskDevice).order_by(KioskDevice.revoked_at.is_not(None), KioskDevice.id)
    ).scalars())


def submissions_last_hour() -> dict[int, int]:
    """Submissions per device in the last hour: what the admin's kiosk page
    shows, so a device that floods (a copied cookie) stands out to revoke."""
    since = _now() - timedelta(hours=1)
    rows = db.session.execute(
        db.select(KioskSubmission.device_id, db.func.count())
        .where(KioskSubmission.submitted_at >= since, KioskSubmission.device_id.is_not(None))
        .group_by(KioskSubmission.device_id)).all()
    return {device_id: count for device_id, count in rows}


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
    device = KioskDevice(name=name[:80], created_by_id=_staff_id())
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
    device.enroll_code_expires_at = _now() + timedelta(
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
            or device.enroll_code_expires_at < _now()):
        audit.record("kiosk.enroll_failed", object_type="kiosk_device",
                     object_id=device.id if device else None, actor="kiosk-enrollment")
        raise FieldErrors({"code": ["That code is not valid or has expired. "
                                    "Ask an administrator for a new one."]})
    token = secrets.token_urlsafe(32)
    device.token_hash = _digest(token)
    device.enroll_code_hash = None
    device.enroll_code_expires_at = None
    device.enrolled_at = device.last_seen_at = _now()
    db.session.flush()
    audit.record("kiosk.enroll", object_type="kiosk_device", object_id=device.id,
                 actor=f"kiosk-{device.id}")
    return device, token


class DeviceSession(NamedTuple):
    """The enrolled device a kiosk request comes from."""

    id: int
    name: str


class DeviceClaim(NamedTuple):
    """What a request's signed device cookie says, not yet checked against
    the devices table: `authenticate_device(id, token)` checks it, and so does
    Send's own statement (`submit_reviewed`)."""

    id: int
    token: str


_DEVICE = KioskDevice.__table__
_DEVICE_AUTH = select(_DEVICE.c.name, _DEVICE.c.token_hash, _DEVICE.c.revoked_at,
                      _DEVICE.c.last_seen_at).where(_DEVICE.c.id == bindparam("id"))


def authenticate_device(device_id: Any, token: Any) -> DeviceSession | None:
    """The enrolled, unrevoked device this cookie names, or None. Checked on
    every kiosk request, so it reads four columns, not the ORM entity."""
    if not isinstance(device_id, int) or not isinstance(token, str):
        return None
    connection = db.session.connection()
    row = connection.execute(_DEVICE_AUTH, {"id": device_id}).first()
    if row is None or row.revoked_at or not row.token_hash:
        return None
    if not hmac.compare_digest(row.token_hash, _digest(token)):
        return None
    now = _now()
    if row.last_seen_at is None or now - row.last_seen_at > timedelta(minutes=1):
        connection.execute(update(_DEVICE).where(_DEVICE.c.id == device_id).values(last_seen_at=now))
    return DeviceSession(device_id, row.name)


def revoke_device(device: KioskDevice) -> None:
    if device.revoked_at:
        return
    device.revoked_at = _now()
    device.revoked_by_id = _staff_id()
    device.token_hash = None
    device.enroll_code_hash = None
    device.enroll_code_expires_at = None
    for draft in db.session.execute(db.select(KioskDraft).filter_by(device_id=device.id)).scalars():
        _delete_draft(draft)
    db.session.flush()
    audit.record("kiosk.device_revoke", object_type="kiosk_device", object_id=device.id)


# ---- drafts -----------------------------------------------------------------

def _expiry(draft: KioskDraft, now: datetime) -> datetime:
    idle = now + timedelta(seconds=setting("INTAKE_KIOSK_IDLE_TIMEOUT_SECONDS"))
    absolute = draft.created_at + timedelta(minutes=setting("INTAKE_KIOSK_DRAFT_MAX_MINUTES"))
    return min(idle, absolute)


def start_draft(device: DeviceSession, language: str) -> tuple[KioskDraft, str]:
    """A new, empty draft; the returned key goes in the kiosk session only."""
    purge_expired(sweep=False)  # the file sweep reads every draft: the worker does it
    key = secrets.token_urlsafe(32)
    now = _now()
    draft = KioskDraft(key_hash=_digest(key), device_id=device.id,
                       language=language if language in LANGUAGES else "en",
                       data={"steps": {}, "done": [], "cards": {}, "signatures": {}},
                       created_at=now, updated_at=now)
    draft.expires_at = _expiry(draft, now)
    db.session.add(draft)
    db.session.flush()
    return draft, key


def load_draft(key: Any, device: DeviceSession) -> KioskDraft | None:
    """The live draft of this key on this device; an expired one is wiped."""
    if not isinstance(key, str) or not key:
        return None
    draft = db.session.execute(
        db.select(KioskDraft).filter_by(key_hash=_digest(key), device_id=device.id)
    ).scalar_one_or_none()
    if draft is None:
        return None
    now = _now()
    if draft.expires_at <= now:
        _delete_draft(draft)
        return None
    draft.updated_at = now
    draft.expires_at = _expiry(draft, now)
    return draft


def _changed(draft: KioskDraft, data: dict[str, Any]) -> None:
    # JSON columns notice reassignment, not in-place edits. Any change makes
    # the patient review the draft again before it can be sent as reviewed.
    draft.data = data
    draft.reviewed = None
    db.session.flush()


def _copy(draft: KioskDraft) -> dict[str, Any]:
    data = dict(draft.data or {})
    for key, empty in (("steps", {}), ("cards", {}), ("signatures", {}), ("done", [])):
        data[key] = type(empty)(data.get(key) or empty)
    return data


def save_step(draft: KioskDraft, step: str, values: Mapping[str, Any], *,
              complete: bool) -> None:
    """Keep what was typed on a step, valid or not; mark it complete when it validated."""
    data = _copy(draft)
    data["steps"][step] = dict(values)
    done = [s for s in data["done"] if s != step]
    if complete:
        done.append(step)
    data["done"] = done
    _changed(draft, data)


def step_values(draft: KioskDraft, step: str) -> dict[str, Any]:
    return dict((draft.data or {}).get("steps", {}).get(step) or {})


def completed_steps(draft: KioskDraft) -> list[str]:
    return list((draft.data or {}).get("done") or [])


def set_language(draft: KioskDraft, language: str) -> None:
    if language in LANGUAGES:
        draft.language = language
        db.session.flush()


def discard_draft(draft: KioskDraft | None, reason: str) -> None:
    """Wipe a draft now (idle, start over, after submission)."""
    if draft is None:
        return
    device_id = draft.device_id
    _delete_draft(draft)
    audit.record("kiosk.draft_wiped", object_type="kiosk_device", object_id=device_id,
                 detail=f"reason={reason}", actor=f"kiosk-{device_id}")


def _delete_draft(draft: KioskDraft) -> None:
    names = _draft_files(draft.data or {})
    db.session.delete(draft)
    db.session.flush()
    for name in names:
        _remove_file(name)


def purge_expired(sweep: bool = True) -> int:
    """Delete expired drafts (and their pictures), and unless told not to,
    sweep kiosk files that nothing names any more."""
    now = _now()
    expired = list(db.session.execute(
        db.select(KioskDraft).where(KioskDraft.expires_at <= now)).scalars())
    for draft in expired:
        _delete_draft(draft)
    if sweep:
        _sweep_files()
    return len(expired)


# ---- pictures: insurance cards and signatures ------------------------------

def _kiosk_dir() -> Path:
    folder = Path(current_app.config["INTAKE_UPLOAD_DIR"]) / "kiosk"
    private.make_dir(folder)
    return folder


def _remove_file(name: str) -> None:
    if name and "/" not in name and "\\" not in name:
        (_kiosk_dir() / name).unlink(missing_ok=True)


def _draft_files(data: Mapping[str, Any]) -> list[str]:
    return [name for name in (data.get("cards") or {}).values() if name]


def _submission_files(data: Mapping[str, Any]) -> list[str]:
    return [name for cov in data.get("coverages") or []
            for name in (cov.get("cards") or {}).values() if name]


def _sweep_files() -> None:
    """Delete kiosk pictures that no live draft or pending submission names."""
    folder = _kiosk_dir()
    keep: set[str] = set()
    for data in db.session.execute(db.select(KioskDraft.data)).scalars():
        keep.update(_draft_files(data or {}))
    for data in db.session.execute(
            db.select(KioskSubmission.data).filter_by(status="pending")).scalars():
        keep.update(_submission_files(data or {}))
    cutoff = time.time() - FILE_GRACE_SECONDS
    for path in folder.glob("*.jpg"):
        if path.name not in keep and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)


CARD_SLOTS = ("primary_front", "primary_back", "secondary_front", "secondary_back")


def save_draft_card(draft: KioskDraft, slot: str, stream: IO[bytes]) -> None:
    """Keep a photo of an insurance card with the draft: re-encoded without
    metadata (the same check as the front desk's card upload)."""
    if slot not in CARD_SLOTS:
        raise FieldErrors({slot: ["unknown card slot"]})
    max_bytes = int(current_app.config["INTAKE_CARD_MAX_BYTES"])
    raw = stream.read(max_bytes + 1)
    if not raw:
        return
    if len(raw) > max_bytes:
        raise FieldErrors({slot: ["too_large"]})
    try:
        picture = images.reencode_jpeg(raw, formats=coverages.CARD_FORMATS,
                                       max_side=coverages.CARD_MAX_SIDE)
    except images.ImageRefused as exc:
        raise FieldErrors({slot: [exc.code]}) from None
    name = f"{uuid.uuid4().hex}.jpg"
    (_kiosk_dir() / name).write_bytes(picture)
    data = _copy(draft)
    old = data["cards"].get(slot)
    data["cards"][slot] = name
    _changed(draft, data)
    if old:
        _remove_file(old)


def remove_draft_card(draft: KioskDraft, slot: str) -> None:
    data = _copy(draft)
    old = data["cards"].pop(slot, None)
    _changed(draft, data)
    if old:
        _remove_file(old)


def draft_cards(draft: KioskDraft) -> dict[str, str]:
    return dict((draft.data or {}).get("cards") or {})


def parse_signature(data_url: str) -> bytes | None:
    """A drawn signature posted as a PNG data URL, re-encoded; None when blank.
    Raises ValueError when it is not a PNG picture."""
    prefix = "data:image/png;base64,"
    if not data_url.startswith(prefix) or len(data_url) > SIGNATURE_MAX_BYTES * 4 // 3 + 100:
        raise ValueError("not a PNG data URL")
    try:
        raw = base64.b64decode(data_url[len(prefix):], validate=True)
        with images.open_checked(raw, {"PNG"}) as img:
            width, height = img.size
            if width > SIGNATURE_MAX_SIDE or height > SIGNATURE_MAX_SIDE:
                raise ValueError("too large")
            img = images.pixels_only(img.convert("RGBA"))  # no text chunks, no profile
    except (binascii.Error, images.ImageRefused, OSError) as exc:
        raise ValueError("unreadable signature") from exc
    if img.getchannel("A").getbbox() is None:
        return None  # nothing drawn
    out = io.BytesIO()
    img.save(out, "PNG", optimize=True)
    return out.getvalue()


def save_signature(draft: KioskDraft, kind: str, png: bytes | None) -> None:
    data = _copy(draft)
    if png is None:
        data["signatures"].pop(kind, None)
    else:
        data["signatures"][kind] = base64.b64encode(png).decode("ascii")
    _changed(draft, data)


def sign_consents(draft: KioskDraft, signer_name: str, signer_relationship: str,
                  typed: Mapping[str, str | None], choices: Mapping[str, bool]) -> None:
    """Record the consents as signed now, in the draft's language: the exact
    text shown, its version, and how each was signed (drawn, else typed)."""
    data = _copy(draft)
    now = _now().isoformat()
    signed = {}
    for doc in CONSENTS:
        title, text = consent_text(doc, draft.language)
        drawn = doc.kind in data["signatures"]
        signed[doc.kind] = {
            "kind": doc.kind, "version": doc.version, "language": draft.language,
            "title": title, "text": text, "text_sha256": _digest(text),
            "method": "drawn" if drawn else "typed",
            "signer_name": signer_name if drawn else (clean_text(typed.get(doc.kind)) or signer_name),
            "signed_at": now,
            "choices": ({c: bool(choices.get(c)) for c in COMMUNICATION_CHOICES}
                        if doc.kind == "communication" else None),
        }
    data["signed"] = signed
    data["signer"] = {"name": signer_name, "relationship": signer_relationship}
    _changed(draft, data)


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
        if name:
            path = _kiosk_dir() / name
            if path.is_file():
                return path.read_bytes(), "image/jpeg"
    return None


# ---- rules that need the database ------------------------------------------

def kiosk_payers() -> list[Payer]:
    """Insurers a patient may choose; 'no insurance' replaces self-pay."""
    return [p for p in coverages.active_payers() if p.kind != PayerKind.SELF_PAY]


def payer_kind(payer_id: Any) -> str | None:
    try:
        payer = db.session.get(Payer, int(payer_id))
    except (TypeError, ValueError):
        return None
    return payer.kind if payer is not None and payer.active else None


# ---- submission -------------------------------------------------------------

def _jsonable(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def mark_reviewed(draft: KioskDraft, patient: Mapping[str, Any],
                  insurance: list[Mapping[str, Any]]) -> None:
    """Keep the submission the review page validated and showed, whole:
    Send files exactly this, without validating every step again or building
    it anew. Any later change to the draft drops it (`_changed`)."""
    try:
        submission, leftovers = _submission_data(_copy(draft), patient, insurance)
        reviewed: dict[str, Any] | None = {"submission": submission, "leftovers": leftovers}
    except FieldErrors:  # a consent unsigned: Send validates again and asks for it
        reviewed = None
    if draft.reviewed == reviewed:
        return
    draft.reviewed = reviewed
    db.session.flush()


_DRAFT = KioskDraft.__table__
_SUBMISSION = KioskSubmission.__table__
_MINE = (_DRAFT.c.key_hash == bindparam("key_hash"), _DRAFT.c.device_id == bindparam("device_id"))
# Send: the draft goes only if it is live, still as the review page showed
# it, and the device is enrolled with this token and not revoked.
_SEND_REVIEWED = DriverStatement(_DRAFT.delete().where(
    *_MINE, _DRAFT.c.expires_at > bindparam("now"), _DRAFT.c.reviewed.is_not(None),
    exists().where(_DEVICE.c.id == bindparam("device_id"),
                   _DEVICE.c.token_hash == bindparam("token_hash"), _DEVICE.c.revoked_at.is_(None)),
).returning(_DRAFT.c.language, _DRAFT.c.reviewed))
_LIVE_DRAFT = select(_DRAFT.c.id).where(*_MINE, _DRAFT.c.expires_at > bindparam("now"))
_DELETE_AS_READ = _DRAFT.delete().where(_DRAFT.c.id == bindparam("id"),
                                        _DRAFT.c.updated_at == bindparam("updated_at"))
_INSERT_SUBMISSION = DriverStatement(_SUBMISSION.insert().values(
    {name: bindparam(name) for name in ("device_id", "language", "status", "submitted_at", "data")}
).returning(_SUBMISSION.c.id))

NO_DRAFT = "no draft"
NOT_REVIEWED = "not reviewed"


def submit_reviewed(key: Any, device: DeviceClaim) -> int | str:
    """The kiosk's Send button: the live draft of this key, as its review
    page last showed it, becomes a submission. Returns the submission's id,
    or NO_DRAFT (gone, expired, already sent) or NOT_REVIEWED (changed since
    the review page: the caller validates it again and calls `submit`).
    Either of those can also mean the device is not (or no longer) enrolled:
    the caller checks the device then (`authenticate_device`).

    One DELETE ... RETURNING takes the draft and checks the device: whoever
    deletes it sends it, so a double tap (or two servers) cannot make two
    submissions of one draft, and patients finishing at once wait on each
    other for no longer than a commit. Both statements go straight to the
    driver (`DriverStatement`): this is the kiosk's busiest write."""
    if not isinstance(key, str) or not key:
        return NO_DRAFT
    connection = db.session.connection()
    mine = {"key_hash": _digest(key), "device_id": device.id, "now": _now(),
            "token_hash": _digest(device.token)}
    taken = _SEND_REVIEWED.rows(connection, mine)
    if not taken:  # an expired draft is left to the worker's purge
        return NOT_REVIEWED if connection.execute(_LIVE_DRAFT, mine).first() else NO_DRAFT
    language, reviewed = taken[0]
    return _file_submission(connection, device.id, language, reviewed["submission"],
                            reviewed["leftovers"])


def submit(draft: KioskDraft, patient: Mapping[str, Any],
           insurance: list[Mapping[str, Any]]) -> int | str:
    """Turn a validated draft into a submission for the front desk and wipe
    the draft. `patient` holds PATIENT_FIELDS and `insurance` one mapping per
    coverage (with a `slot` naming its card pictures); the consents come from
    what `sign_consents` recorded. Returns the submission's id, or NO_DRAFT
    when another request sent or wiped the draft first."""
    touched = get_history(draft, "updated_at").deleted  # load_draft's touch, not yet written
    updated_at = touched[0] if touched else draft.updated_at
    db.session.expunge(draft)  # deleted below without the ORM: no flush of that touch
    # Before any write: the caller answers FieldErrors with a redirect.
    submission, leftovers = _submission_data(_copy(draft), patient, insurance)
    connection = db.session.connection()
    # Only as it was read: a draft changed since (another tab) is not sent as it was.
    if connection.execute(_DELETE_AS_READ, {"id": draft.id, "updated_at": updated_at}).rowcount != 1:
        return NO_DRAFT
    return _file_submission(connection, draft.device_id, draft.language, submission, leftovers)


def _check_signed(data: Mapping[str, Any]) -> None:
    if set(data.get("signed") or {}) != set(CONSENT_KINDS):
        raise FieldErrors({"consents": ["unsigned"]})


def _submission_data(data: Mapping[str, Any], patient: Mapping[str, Any],
                     insurance: list[Mapping[str, Any]]) -> tuple[dict[str, Any], list[str]]:
    """(what a submission holds, the draft's pictures it leaves behind) from
    a draft's data and its validated values: what the patient entered, their
    card pictures (which will belong to the submission) and their signed
    consents. Raises FieldErrors when a consent is not signed."""
    _check_signed(data)
    cards = dict(data.get("cards") or {})
    signatures = data.get("signatures") or {}
    coverages_out = []
    for cov in insurance:
        slot = cov["slot"]
        item = {k: _jsonable(v) for k, v in cov.items() if k != "slot"}
        item["cards"] = {side: cards.pop(f"{slot}_{side}")
                         for side in ("front", "back") if cards.get(f"{slot}_{side}")}
        coverages_out.append(item)
    signed = []
    for kind in CONSENT_KINDS:
        detail = data["signed"][kind]
        signed.append({**detail, "signature_png": signatures.get(kind)
                       if detail["method"] == "drawn" else None})
    submission = {"patient": {k: _jsonable(patient.get(k)) for k in PATIENT_FIELDS},
                  "coverages": coverages_out, "signer": data.get("signer") or {},
                  "consents": signed}
    return submission, _draft_files({"cards": cards})


def _file_submission(connection: Any, device_id: int, language: str,
                     submission: Mapping[str, Any], leftovers: list[str]) -> int:
    """The submission of a draft just deleted; the draft's other pictures go
    once this commits."""
    submission_id = _INSERT_SUBMISSION.rows(connection, {
        "device_id": device_id, "language": language, "status": "pending",
        "submitted_at": _now(), "data": submission})[0][0]
    if leftovers:
        on_commit(lambda: [_remove_file(name) for name in leftovers])
    audit.record("kiosk.submit", object_type="kiosk_submission", object_id=submission_id,
                 detail=f"coverages={len(submission['coverages'])} "
                        f"consents={len(submission['consents'])} language={language}",
                 actor=f"kiosk-{device_id}")
    return submission_id


# ---- the front desk's review ------------------------------------------------

def pending_submissions() -> list[KioskSubmission]:
    subs = list(db.session.execute(
        db.select(KioskSubmission).filter_by(status="pending")
        .order_by(KioskSubmission.submitted_at, KioskSubmission.id)).scalars())
    audit.record("kiosk.queue_view", object_type="kiosk_submission", detail=f"count={len(subs)}")
    return subs


def get_submission(submission_id: int, *, pending: bool = True) -> KioskSubmission:
    sub = db.session.get(KioskSubmission, submission_id)
    if sub is None or (pending and sub.status != "pending"):
        raise NotFound("kiosk submission")
    audit.record("kiosk.submission_view", object_type="kiosk_submission", object_id=sub.id)
    return sub


def patient_data(sub: KioskSubmission) -> dict[str, Any]:
    """The submission's demographics with dates as dates, ready for the services."""
    out = dict((sub.data or {}).get("patient") or {})
    if out.get("birth_date"):
        out["birth_date"] = date.fromisoformat(out["birth_date"])
    out["races"] = list(out.get("races") or [])
    return out


def coverage_data(sub: KioskSubmission) -> list[dict[str, Any]]:
    out = []
    for cov in (sub.data or {}).get("coverages") or []:
        item = dict(cov)
        if item.get("subscriber_birth_date"):
            item["subscriber_birth_date"] = date.fromisoformat(item["subscriber_birth_date"])
        out.append(item)
    return out


def candidates(sub: KioskSubmission) -> list[duplicates.Candidate]:
    found = duplicates.find(patient_data(sub))
    duplicates.audit_shown(found)
    return found


def submission_picture(sub: KioskSubmission, key: str) -> tuple[bytes, str]:
    """A card photo ('card-<n>-<side>') or signature ('sig-<kind>') of a pending submission."""
    data = sub.data or {}
    if key.startswith("sig-"):
        for consent in data.get("consents") or []:
            if consent["kind"] == key[4:] and consent.get("signature_png"):
                audit.record("kiosk.picture_view", object_type="kiosk_submission",
                             object_id=sub.id, detail=f"picture={key}")
                return base64.b64decode(consent["signature_png"]), "image/png"
    elif key.startswith("card-"):
        try:
            _, index, side = key.split("-")
            name = data["coverages"][int(index)]["cards"][side]
        except (ValueError, KeyError, IndexError):
            raise NotFound("picture") from None
        path = _kiosk_dir() / name
        if path.is_file():
            audit.record("kiosk.picture_view", object_type="kiosk_submission",
                         object_id=sub.id, detail=f"picture={key}")
            return path.read_bytes(), "image/jpeg"
    raise NotFound("picture")


def _finish(sub: KioskSubmission, status: str, patient: Patient | None) -> None:
    sub.status = status
    sub.patient_id = patient.id if patient else None
    sub.reviewed_at = _now()
    sub.reviewed_by_id = _staff_id()
    # The chart now holds what was accepted; the kiosk copy goes (its pictures
    # are swept from disk once nothing names them).
    sub.data = {}
    db.session.flush()


def _same_coverage(patient: Patient, cov: Mapping[str, Any]) -> bool:
    member = (cov.get("member_id") or "").replace("-", "").replace(" ", "").upper()
    return any(c.is_active and c.payer_id == cov.get("payer_id")
               and (c.member_id or "").replace("-", "").replace(" ", "").upper() == member
               for c in patient.coverages)


def _attach(sub: KioskSubmission, patient: Patient) -> tuple[int, int]:
    """Add the submission's coverages (with card photos) and signed consents to a chart."""
    added = 0
    upload_dir = current_app.config["INTAKE_UPLOAD_DIR"]
    max_bytes = int(current_app.config["INTAKE_CARD_MAX_BYTES"])
    for cov in coverage_data(sub):
        if _same_coverage(patient, cov):
            continue  # already on file: the front desk keeps the existing one
        values = {k: v for k, v in cov.items() if k in coverages.COVERAGE_FIELDS}
        try:
            coverage = coverages.add_coverage(patient, values)
        except FieldErrors as exc:
            raise FieldErrors({"coverage": [
                f"Coverage {added + 1}: " + " ".join(m for ms in exc.errors.values() for m in ms)
            ]}) from exc
        added += 1
        for side, name in (cov.get("cards") or {}).items():
            path = _kiosk_dir() / name
            if path.is_file():
                with path.open("rb") as stream:
                    coverages.save_card(coverage, side, stream, upload_dir=upload_dir,
                                        max_bytes=max_bytes,
                                        uploaded_by_id=_staff_id())
    signer = (sub.data or {}).get("signer") or {}
    consents = 0
    for consent in (sub.data or {}).get("consents") or []:
        png = consent.get("signature_png")
        record = SignedConsent(
            patient_id=patient.id, submission_id=sub.id, kind=consent["kind"],
            text_version=consent["version"], language=consent["language"],
            title=consent["title"], text=consent["text"], text_sha256=consent["text_sha256"],
            signer_name=consent.get("signer_name") or signer.get("name") or "",
            signer_relationship=signer.get("relationship") or "self",
            signature_method=consent["method"],
            signature_png=base64.b64decode(png) if png else None,
            signed_at=datetime.fromisoformat(consent["signed_at"]),
            choices=consent.get("choices"))
        db.session.add(record)
        consents += 1
    db.session.flush()
    for record in db.session.execute(
            db.select(SignedConsent).filter_by(submission_id=sub.id)).scalars():
        audit.record("consent.create", patient_id=patient.id, object_type="signed_consent",
                     object_id=record.id, detail=f"kind={record.kind} version={record.text_version}")
    return added, consents


def accept_new(sub: KioskSubmission, *, confirm_new: bool) -> Patient:
    """A new chart from the submission: patient, coverages, card pictures and
    signed consents in the request's one transaction. Likely duplicates stop
    it (patients.PossibleDuplicates) until the receptionist confirms."""
    patient = patients.register_patient(patient_data(sub), confirm_new=confirm_new)
    added, consents = _attach(sub, patient)
    _finish(sub, "accepted", patient)
    audit.record("kiosk.accept", patient_id=patient.id, object_type="kiosk_submission",
                 object_id=sub.id, detail=f"new chart coverages={added} consents={consents}")
    return patient


@dataclass
class MergeRow:
    field: str
    label: str
    chart: Any
    kiosk: Any
    differs: bool


def merge_rows(sub: KioskSubmission, patient: Patient) -> list[MergeRow]:
    kiosk = patient_data(sub)
    rows = []
    for field in PATIENT_FIELDS:
        theirs, ours = kiosk.get(field), getattr(patient, field)
        if field == "races":
            theirs, ours = sorted(theirs or []), sorted(ours or [])
        differs = (theirs or None) != (ours or None)
        rows.append(MergeRow(field, FIELD_LABELS[field], ours, theirs, differs))
    return rows


def merge(sub: KioskSubmission, patient: Patient, take_from_kiosk: Iterable[str]) -> list[str]:
    """Merge into an existing chart: the fields the receptionist chose take
    the kiosk's value, the rest keep the chart's; coverages not on file yet
    and the signed consents are added. Returns the changed field names."""
    kiosk = patient_data(sub)
    chosen = [f for f in take_from_kiosk if f in PATIENT_FIELDS]
    changed = patients.update_patient(patient, {f: kiosk.get(f) for f in chosen})
    added, consents = _attach(sub, patient)
    _finish(sub, "merged", patient)
    audit.record("kiosk.merge", patient_id=patient.id, object_type="kiosk_submission",
                 object_id=sub.id, detail=f"fields={','.join(changed) or '-'} "
                                          f"coverages={added} consents={consents}")
    return changed


def reject(sub: KioskSubmission, reason: str) -> None:
    reason = " ".join((reason or "").split())
    if not reason:
        raise FieldErrors({"reason": ["Say why the submission is rejected."]})
    sub.reject_reason = reason[:500]
    _finish(sub, "rejected", None)
    audit.record("kiosk.reject", object_type="kiosk_submission", object_id=sub.id)


def find_chart_by_mrn(mrn: str) -> Patient:
    """For 'merge into chart MRN …' when the matching did not list the chart."""
    mrn = "".join(ch for ch in (mrn or "") if ch.isdigit())
    patient = db.session.execute(db.select(Patient).filter_by(mrn=mrn)).scalar_one_or_none()
    if patient is None:
        raise FieldErrors({"mrn": ["No chart has that MRN."]})
    return patient
