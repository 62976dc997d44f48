"""Kiosk pictures on disk: insurance card photos (files in the uploads'
kiosk folder, named in a draft or a pending submission) and drawn
signatures (PNG, kept in the draft itself)."""

from __future__ import annotations

import base64
import binascii
import io
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from flask import current_app
from PIL import Image, UnidentifiedImageError

from intake.extensions import db
from intake.models import KioskDraft, KioskSubmission
from intake.services import FieldErrors, coverages

SIGNATURE_MAX_BYTES = 400_000


SIGNATURE_MAX_SIDE = 2000


FILE_GRACE_SECONDS = 600  # unreferenced kiosk files younger than this may belong to a request in flight


CARD_SLOTS = ("primary_front", "primary_back", "secondary_front", "secondary_back")


def kiosk_dir() -> Path:
    folder = Path(current_app.config["INTAKE_UPLOAD_DIR"]) / "kiosk"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def remove_file(name: str) -> None:
    if name and "/" not in name and "\\" not in name:
        (kiosk_dir() / name).unlink(missing_ok=True)


def draft_files(data: Mapping[str, Any]) -> list[str]:
    return [name for name in (data.get("cards") or {}).values() if name]


def submission_files(data: Mapping[str, Any]) -> list[str]:
    return [name for cov in data.get("coverages") or []
            for name in (cov.get("cards") or {}).values() if name]


def sweep_files() -> None:
    """Delete kiosk pictures that no live draft or pending submission names."""
    folder = kiosk_dir()
    keep: set[str] = set()
    for data in db.session.execute(db.select(KioskDraft.data)).scalars():
        keep.update(draft_files(data or {}))
    for data in db.session.execute(
            db.select(KioskSubmission.data).filter_by(status="pending")).scalars():
        keep.update(submission_files(data or {}))
    cutoff = time.time() - FILE_GRACE_SECONDS
    for path in folder.glob("*.jpg"):
        if path.name not in keep and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)


def parse_signature(data_url: str) -> bytes | None:
    """A drawn signature posted as a PNG data URL, re-encoded; None when blank.
    Raises ValueError when it is not a PNG picture."""
    prefix = "data:image/png;base64,"
    if not data_url.startswith(prefix) or len(data_url) > SIGNATURE_MAX_BYTES * 4 // 3 + 100:
        raise ValueError("not a PNG data URL")
    try:
        raw = base64.b64decode(data_url[len(prefix):], validate=True)
        with Image.open(io.BytesIO(raw)) as img:
            if img.format != "PNG":
                raise ValueError("not a PNG")
            width, height = img.size
            if width > SIGNATURE_MAX_SIDE or height > SIGNATURE_MAX_SIDE:
                raise ValueError("too large")
            img = img.convert("RGBA")
    except (binascii.Error, UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ValueError("unreadable signature") from exc
    if img.getchannel("A").getbbox() is None:
        return None  # nothing drawn
    out = io.BytesIO()
    img.save(out, "PNG", optimize=True)
    return out.getvalue()


def store_card(slot: str, stream: IO[bytes]) -> str | None:
    """A photo of an insurance card, re-encoded without metadata (the same
    check as the front desk's card upload) and written to the kiosk folder:
    its file name, or None when nothing was sent."""
    if slot not in CARD_SLOTS:
        raise FieldErrors({slot: ["unknown card slot"]})
    max_bytes = int(current_app.config["INTAKE_CARD_MAX_BYTES"])
    raw = stream.read(max_bytes + 1)
    if not raw:
        return None
    if len(raw) > max_bytes:
        raise FieldErrors({slot: ["too_large"]})
    try:
        picture = coverages._reencode(raw)  # noqa: SLF001 - the one card re-encoder
    except FieldErrors as exc:
        raise FieldErrors({slot: ["unreadable"]}) from exc
    name = f"{uuid.uuid4().hex}.jpg"
    (kiosk_dir() / name).write_bytes(picture)
    return name


def read_card(name: str) -> bytes | None:
    path = kiosk_dir() / name
    return path.read_bytes() if path.is_file() else None
