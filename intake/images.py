"""Pictures from outside (card photos at the desk and on the kiosk, drawn
signatures): checked before any pixel is decoded, and re-encoded from the
pixels alone.

- `open_checked()` reads only the header: a format not allowed, a picture
  over INTAKE_IMAGE_MAX_PIXELS (a decompression bomb: 400 megapixels in a
  389 KB PNG) or past the request's pixel budget
  (INTAKE_IMAGE_PIXELS_PER_REQUEST, all pictures of one request together)
  is refused with a clear message, never decoded.
- `pixels_only()` copies the decoded pixels into a new image: no EXIF, GPS,
  ICC profile, XMP, PNG text chunks or JPEG comment (a `<script>` in a COM
  segment) can ride along into what is saved.

Features taking pictures call `reencode_jpeg()` (photos) or `open_checked()`
+ `pixels_only()`; the ImageRefused message is fit to show next to the field.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterable

from flask import current_app, g, has_app_context, has_request_context
from PIL import Image, ImageOps, UnidentifiedImageError

DEFAULT_MAX_PIXELS = 50_000_000  # a 48-megapixel phone photo passes
DEFAULT_PIXELS_PER_REQUEST = 64_000_000  # four 12-megapixel phone photos pass
_SPENT = "image_pixels_spent"


class ImageRefused(ValueError):
    """A picture refused before decoding, or unreadable; str() is the message."""

    def __init__(self, message: str, code: str = "unreadable") -> None:
        super().__init__(message)
        self.code = code  # "unreadable" or "too_large" (the kiosk's translated messages)


def _setting(name: str, default: int) -> int:
    return int(current_app.config.get(name, default)) if has_app_context() else default


def _names(formats: set[str]) -> str:
    names = [{"WEBP": "WebP"}.get(f, f) for f in sorted(formats)]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1_000_000:.0f}"


def open_checked(raw: bytes, formats: Iterable[str]) -> Image.Image:
    """The picture opened lazily (header only) once it passed the checks."""
    allowed = set(formats)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(raw))
            kind, (width, height) = img.format, img.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRefused("That picture is far too large (a decompression bomb?): take the "
                           "photo again at a normal size.", "too_large") from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise ImageRefused(f"That file is not a {_names(allowed)} picture.") from None
    if kind not in allowed:
        raise ImageRefused(f"Upload a {_names(allowed)} picture.")
    pixels = width * height
    limit = _setting("INTAKE_IMAGE_MAX_PIXELS", DEFAULT_MAX_PIXELS)
    if pixels > limit:
        raise ImageRefused(f"That picture is {_megapixels(pixels)} megapixels; up to "
                           f"{_megapixels(limit)} are accepted. Take the photo again at a "
                           f"normal size.", "too_large")
    if has_request_context():
        budget = _setting("INTAKE_IMAGE_PIXELS_PER_REQUEST", DEFAULT_PIXELS_PER_REQUEST)
        spent = g.get(_SPENT, 0) + pixels
        if spent > budget:
            raise ImageRefused(f"These pictures are more than {_megapixels(budget)} megapixels "
                               f"together; send fewer or smaller pictures.", "too_large")
        setattr(g, _SPENT, spent)
    return img


def pixels_only(img: Image.Image) -> Image.Image:
    """A new image holding only `img`'s pixels (no info, no metadata)."""
    return Image.frombytes(img.mode, img.size, img.tobytes())


def reencode_jpeg(raw: bytes, *, formats: Iterable[str], max_side: int,
                  quality: int = 85) -> bytes:
    """A photo checked, turned upright, scaled to `max_side` and saved as a
    JPEG of its pixels alone."""
    img = open_checked(raw, formats)
    try:
        with img:
            width, height = img.size
            ratio = max_side / max(width, height)
            if img.format == "JPEG" and ratio < 1:
                # Decode at 1/2, 1/4 or 1/8 scale, never below the size kept: fast.
                img.draft("RGB", (max(1, int(width * ratio)), max(1, int(height * ratio))))
            upright = ImageOps.exif_transpose(img).convert("RGB")
            upright.thumbnail((max_side, max_side))
            clean = pixels_only(upright)
    except (OSError, ValueError, Image.DecompressionBombError):
        raise ImageRefused("That picture could not be read.") from None
    out = io.BytesIO()
    clean.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()
