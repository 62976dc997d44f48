"""Issue 19 items 7, 11 and 12: decompression bombs are refused before
decoding with a clear message, pixels are capped per request, comments and
metadata do not survive re-encoding, and four real phone photos pass on the
kiosk while the global body cap still holds elsewhere."""

from __future__ import annotations

import io
import struct
import zlib
from functools import cache
from pathlib import Path

from PIL import Image, PngImagePlugin

from intake.extensions import db
from intake.models import CardImage
from tests.kiosk.factories import commercial_payer, enrolled_client


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(
        ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(width: int = 20_000, height: int = 20_000) -> bytes:
    """A 400-megapixel greyscale PNG: the header says so; the data is a few
    hundred KB of zeros that would inflate to 400 MB."""
    rows = zlib.compress(b"\x00" * (width + 1) * 400, 9)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0,
                                                                0, 0, 0))
            + _chunk(b"IDAT", rows) + _chunk(b"IEND", b""))


@cache
def big_jpeg(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (width, height), 128).save(buf, "JPEG", quality=50)
    return buf.getvalue()


@cache
def phone_photo() -> bytes:
    """A 12-megapixel photo of about 3.8 MB, as a phone takes it."""
    buf = io.BytesIO()
    Image.effect_noise((4032, 3024), 40).convert("RGB").save(buf, "JPEG", quality=60)
    return buf.getvalue()


def _done(response):
    """The test client spools a large body to a temporary file and leaves it
    open: close it (and the response) so nothing leaks into the next test."""
    response.close()
    response.request.environ["wsgi.input"].close()
    return response


def _card_post(desk, pid: int, cid: int, data: bytes, name: str):
    return _done(desk.post(f"/staff/patients/{pid}/coverages/{cid}/cards",
                           data={"side": "front", "image": (io.BytesIO(data), name)},
                           content_type="multipart/form-data"))


def test_a_decompression_bomb_is_refused_with_a_clear_message(app, desk, create_patient,
                                                             create_coverage):
    pid = create_patient()
    cid = create_coverage(pid)
    bomb = bomb_png()
    assert len(bomb) < 1_000_000
    response = _card_post(desk, pid, cid, bomb, "card.png")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "far too large" in page or "400 megapixels" in page
    big = _card_post(desk, pid, cid, bomb_png(10_000, 6_000), "card.png")  # 60 MP, under Pillow's
    assert big.status_code == 422 and "60 megapixels; up to 50 are accepted" in big.get_data(
        as_text=True)
    with app.app_context():
        assert db.session.execute(db.select(CardImage)).scalars().all() == []


def _kiosk_insurance(app, files: dict[str, bytes], keep: bool = False):
    tablet = enrolled_client(app)
    assert tablet.post("/kiosk/start", data={"language": "en"}).status_code == 302
    payer = str(commercial_payer(app))
    data = {"has_insurance": "yes", "has_secondary": "y"}
    for slot in ("primary", "secondary"):
        data.update({f"{slot}_payer_id": payer, f"{slot}_member_id": f"XKZ12345678{len(slot)}",
                     f"{slot}_group_number": "G-77", f"{slot}_relationship_code": "self"})
    for field, raw in files.items():
        data[field] = (io.BytesIO(raw), f"{field}.jpg")
    response = tablet.post("/kiosk/step/insurance", data=data, content_type="multipart/form-data")
    _done(response)
    return (tablet, response) if keep else response


SLOTS = ("primary_card_front", "primary_card_back", "secondary_card_front", "secondary_card_back")


def _kiosk_pictures(app) -> list[Path]:
    return list((Path(app.config["INTAKE_UPLOAD_DIR"]) / "kiosk").glob("*.jpg"))


def test_pixels_are_capped_per_request_on_the_kiosk(app):
    forty = big_jpeg(8000, 5000)  # 40 megapixels each
    tablet, response = _kiosk_insurance(app, dict.fromkeys(SLOTS, forty), keep=True)
    assert response.status_code == 303 and response.headers["Location"].endswith("insurance")
    shown = tablet.get(response.headers["Location"])  # the kiosk shows errors after a redirect
    assert shown.status_code == 422 and "That photo is too large" in shown.get_data(as_text=True)
    assert len(_kiosk_pictures(app)) <= 1  # the budget ran out after the first


def test_four_real_phone_photos_pass_on_the_kiosk(app):
    photo = phone_photo()
    assert 13_000_000 < 4 * len(photo) < 20_000_000 > app.config["MAX_CONTENT_LENGTH"]
    response = _kiosk_insurance(app, dict.fromkeys(SLOTS, photo))
    assert response.status_code == 302 and response.headers["Location"].endswith("consents")
    assert len(_kiosk_pictures(app)) == 4


def test_the_global_cap_still_holds_elsewhere(app, desk, create_patient):
    pid = create_patient()
    big = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    assert desk.post(f"/staff/patients/{pid}/edit", data={"notes": big.decode()}).status_code == 413
    assert desk.post("/staff/", data={"q": big.decode()}).status_code == 413


def test_comments_and_metadata_do_not_survive(app, desk, create_patient, create_coverage):
    pid = create_patient()
    cid = create_coverage(pid)
    buf = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "SyntheticCam"
    Image.new("RGB", (400, 250), (200, 30, 30)).save(
        buf, "JPEG", comment=b"<script>alert(1)</script>", exif=exif)
    assert b"<script>" in buf.getvalue()
    assert _card_post(desk, pid, cid, buf.getvalue(), "card.jpg").status_code == 302
    png = io.BytesIO()
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "<script>alert(2)</script>")
    Image.new("RGB", (400, 250), (20, 30, 200)).save(png, "PNG", pnginfo=info)
    assert _card_post(desk, pid, cid, png.getvalue(), "card.png").status_code == 302
    stored = list((Path(app.config["INTAKE_UPLOAD_DIR"]) / "cards").glob("*.jpg"))
    assert len(stored) == 2
    for path in stored:
        data = path.read_bytes()
        assert b"<script" not in data and b"SyntheticCam" not in data
        assert b"\xff\xfe" not in data  # no JPEG COM segment at all
        with Image.open(path) as img:
            assert "comment" not in img.info and "exif" not in img.info


def test_a_signature_keeps_no_text_chunks(app):
    import base64

    from intake.services import kiosk

    png = io.BytesIO()
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "<script>alert(3)</script>")
    picture = Image.new("RGBA", (300, 100), (0, 0, 0, 0))
    picture.putpixel((10, 10), (0, 0, 0, 255))
    picture.save(png, "PNG", pnginfo=info)
    with app.test_request_context():
        out = kiosk.parse_signature("data:image/png;base64," +
                                    base64.b64encode(png.getvalue()).decode())
    assert out and b"<script" not in out and b"tEXt" not in out
