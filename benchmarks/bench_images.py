"""Card photos (issue 19 items 7 and 12): re-encoding four phone photos,
as one kiosk post carries them, with `intake.images.reencode_jpeg` against
the baseline measured in the same run: the same pictures decoded whole and
scaled (what the card upload did before). Also the peak memory of each
and what a 400-megapixel PNG bomb costs now (refused from
its header). Target: at least 1.5x faster than the baseline, and the bomb
refused in under 1/100 of the four photos' time. (Peak memory is not
measured: Pillow allocates outside tracemalloc's view.)
Synthetic pictures only."""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image, ImageOps  # noqa: E402

from intake import images  # noqa: E402

FORMATS = {"JPEG", "PNG", "WEBP"}
SIDE = 2000


def phone_photo(seed: int) -> bytes:
    img = Image.effect_noise((4032, 3024), 30 + seed).convert("RGB")
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def baseline(raw: bytes) -> bytes:
    with Image.open(io.BytesIO(raw)) as img:
        img = ImageOps.exif_transpose(img).convert("RGB")
        img.thumbnail((SIDE, SIDE))
        out = io.BytesIO()
        img.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()


def now(raw: bytes) -> bytes:
    return images.reencode_jpeg(raw, formats=FORMATS, max_side=SIDE)


def measure(work, photos) -> float:
    started = time.perf_counter()
    for raw in photos:
        work(raw)
    return time.perf_counter() - started


def main() -> int:
    photos = [phone_photo(n) for n in range(4)]
    print(f"four 12-megapixel photos, {sum(map(len, photos)) / 1e6:.1f} MB together")
    measure(now, photos[:1])  # warm up
    base_s = measure(baseline, photos)
    new_s = measure(now, photos)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "hardening"))
    from test_images import bomb_png

    bomb = bomb_png()
    started = time.perf_counter()
    try:
        images.open_checked(bomb, FORMATS)
        refused = False
    except images.ImageRefused:
        refused = True
    bomb_s = time.perf_counter() - started
    speed = base_s / new_s
    print(f"baseline (decode whole): {base_s:.2f} s")
    print(f"reencode_jpeg (draft):   {new_s:.2f} s")
    print(f"ratio: {speed:.1f}x faster")
    print(f"400-megapixel PNG bomb ({len(bomb) / 1e3:.0f} KB): refused={refused} in "
          f"{bomb_s * 1000:.2f} ms ({bomb_s / new_s:.5f} of the four photos' time)")
    ok = speed >= 1.5 and refused and bomb_s < new_s / 100
    print("target met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
