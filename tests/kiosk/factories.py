"""Kiosk helpers shared by the kiosk tests and the role matrix: an enrolled
tablet (a test client holding a device cookie) and a complete intake posted
through the real kiosk pages. Synthetic people only."""

from __future__ import annotations

import base64
import io
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from PIL import Image, ImageDraw

from intake.extensions import db


def enroll_code(app: Flask, name: str = "Waiting room tablet") -> tuple[int, str]:
    from intake.services import kiosk

    with app.app_context():
        device, code = kiosk.create_device(name)
        db.session.commit()
        return device.id, code


def enrolled_client(app: Flask, name: str = "Waiting room tablet") -> FlaskClient:
    _, code = enroll_code(app, name)
    client = app.test_client()
    response = client.post("/kiosk/enroll", data={"code": code})
    assert response.status_code == 302, response.status_code
    return client


def signature_data_url() -> str:
    picture = Image.new("RGBA", (300, 100), (0, 0, 0, 0))
    ImageDraw.Draw(picture).line((10, 80, 120, 20, 200, 70, 290, 30), fill=(0, 0, 0, 255), width=4)
    buf = io.BytesIO()
    picture.save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def card_png(colour: str = "navy") -> io.BytesIO:
    buf = io.BytesIO()
    Image.new("RGB", (320, 200), colour).save(buf, "PNG")
    buf.seek(0)
    return buf


def commercial_payer(app: Flask) -> int:
    from intake.models import Payer

    with app.app_context():
        return db.session.execute(db.select(Payer.id).filter_by(kind="commercial")
                                  .order_by(Payer.id)).scalars().first()


ABOUT = {"given_name": "Zoë", "family_name": "Nunes", "birth_date-month": "7", "birth_date-day": "9",
         "birth_date-year": "1985", "sex": "female",
         "preferred_language": "en", "races": ["2106-3"], "ethnicity": "2186-5"}
CONTACT = {"address_line1": "18 Synthetic Way", "city": "Evanston", "state": "IL",
           "postal_code": "60201", "phone_mobile": "(847) 555-0111", "email": "zoe@example.org"}
EMERGENCY = {"emergency_name": "Ana Nunes", "emergency_relationship": "sister",
             "emergency_phone": "847-555-0112"}


def fill_intake(client: FlaskClient, app: Flask, *, language: str = "en", about: dict | None = None,
                contact: dict | None = None, cards: bool = True, submit: bool = True) -> None:
    """Every step of the kiosk, as a patient would post it."""
    assert client.post("/kiosk/start", data={"language": language}).status_code == 302
    steps = [("about", {**ABOUT, **(about or {})}), ("contact", {**CONTACT, **(contact or {})}),
             ("emergency", EMERGENCY)]
    for step, data in steps:
        response = client.post(f"/kiosk/step/{step}", data=data)
        assert response.status_code == 302, (step, response.status_code)
    insurance: dict[str, Any] = {
        "has_insurance": "yes", "primary_payer_id": str(commercial_payer(app)),
        "primary_member_id": "XKZ123456789", "primary_group_number": "G-77",
        "primary_relationship_code": "self"}
    if cards:
        insurance["primary_card_front"] = (card_png("navy"), "front.png")
        insurance["primary_card_back"] = (card_png("teal"), "back.png")
    response = client.post("/kiosk/step/insurance", data=insurance,
                           content_type="multipart/form-data")
    assert response.status_code == 302 and response.headers["Location"].endswith("consents")
    consents = {"signer_name": "Zoë Nunes", "signer_relationship": "self",
                "treatment_signature": signature_data_url(), "privacy_typed": "Zoë Nunes",
                "financial_typed": "Zoë Nunes", "communication_typed": "Zoë Nunes",
                "comm_sms": "y"}
    response = client.post("/kiosk/step/consents", data=consents)
    assert response.status_code == 302 and response.headers["Location"].endswith("/kiosk/review")
    if submit:
        assert client.get("/kiosk/review").status_code == 200
        response = client.post("/kiosk/submit")
        assert response.headers["Location"].endswith("/kiosk/done"), response.status_code


def submit_intake(app: Flask, **kwargs: Any) -> int:
    """A pending submission made through the kiosk pages; its id."""
    from intake.models import KioskSubmission

    fill_intake(enrolled_client(app), app, **kwargs)
    with app.app_context():
        return db.session.execute(db.select(KioskSubmission.id)
                                  .order_by(KioskSubmission.id.desc())).scalars().first()
