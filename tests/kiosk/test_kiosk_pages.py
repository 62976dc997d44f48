"""The patient's side through the Flask test client: steps, drafts, language,
validation, idle wipe, and nothing readable after submission."""

from __future__ import annotations

import time
from datetime import date

import pytest
from flask_babel import force_locale, format_date

from intake.extensions import db
from intake.models import KioskDraft, KioskSubmission
from tests.kiosk.factories import ABOUT, CONTACT, fill_intake, signature_data_url


def _text(response) -> str:
    return response.get_data(as_text=True)


def test_complete_intake_in_english_creates_a_pending_submission(app, tablet):
    fill_intake(tablet, app)
    with app.app_context():
        sub = db.session.execute(db.select(KioskSubmission)).scalar_one()
        assert sub.status == "pending" and sub.language == "en"
        patient = sub.data["patient"]
        assert patient["given_name"] == "Zoë" and patient["birth_date"] == "1985-07-09"
        assert patient["phone_mobile"] == "+18475550111"
        assert len(sub.data["coverages"]) == 1 and set(sub.data["coverages"][0]["cards"]) == {"front", "back"}
        consents = {c["kind"]: c for c in sub.data["consents"]}
        assert set(consents) == {"treatment", "privacy", "financial", "communication"}
        assert consents["treatment"]["method"] == "drawn" and consents["privacy"]["method"] == "typed"
        assert consents["communication"]["choices"] == {"sms": True, "email": False, "voicemail": False}
        assert "I consent to the examinations" in consents["treatment"]["text"]
        assert db.session.execute(db.select(KioskDraft)).scalars().all() == []


def test_spanish_dates_messages_and_consent_text(app, tablet):
    tablet.post("/kiosk/start", data={"language": "es"})
    page = _text(tablet.get("/kiosk/step/about"))
    assert '<html lang="es">' in page and "Sus datos" in page
    # The month is chosen by name, in Spanish, and the boxes go day, month, year.
    assert '<option value="7">Julio</option>' in page
    assert page.index('name="birth_date-day"') < page.index('name="birth_date-month"') \
        < page.index('name="birth_date-year"')
    response = tablet.post("/kiosk/step/about", data={**ABOUT, "birth_date-year": "85"})
    assert response.status_code == 303
    page = _text(tablet.get("/kiosk/step/about"))
    assert "Escriba el año con cuatro cifras, por ejemplo 1985." in page and 'value="Zoë"' in page
    assert 'name="birth_date-year" value="85"' in page and '<option value="7" selected>' in page
    fill_intake(tablet, app, language="es", submit=False)
    review = _text(tablet.get("/kiosk/review"))
    assert "9 de julio de 1985" in review and "Revise sus respuestas" in review
    tablet.post("/kiosk/submit")
    with app.app_context():
        sub = db.session.execute(db.select(KioskSubmission)).scalar_one()
        assert sub.data["patient"]["birth_date"] == "1985-07-09"
        treatment = next(c for c in sub.data["consents"] if c["kind"] == "treatment")
        assert treatment["language"] == "es" and treatment["text"].startswith("Doy mi consentimiento")


@pytest.mark.parametrize("language", ["en", "es", "pl", "nl", "fr", "id", "ro"])
def test_birth_date_means_the_same_in_every_language(app, tablet, language):
    """11 February 1990 posted as month 2, day 11 is 11 February whatever the
    language: no typed "11/02/1990" to be read in the wrong order."""
    date_parts = {"birth_date-month": "2", "birth_date-day": "11", "birth_date-year": "1990"}
    fill_intake(tablet, app, language=language, about=date_parts, submit=False)
    page = _text(tablet.get("/kiosk/step/about"))
    assert '<option value="2" selected>' in page and 'name="birth_date-day" value="11"' in page
    review = _text(tablet.get("/kiosk/review"))
    with app.test_request_context(), force_locale(language):
        assert format_date(date(1990, 2, 11), format="long") in review
    assert tablet.post("/kiosk/submit").status_code == 302
    with app.app_context():
        sub = db.session.execute(db.select(KioskSubmission)).scalar_one()
        assert sub.data["patient"]["birth_date"] == "1990-02-11"


@pytest.mark.parametrize(("parts", "message"), [
    ({"birth_date-month": "2", "birth_date-day": "30", "birth_date-year": "1990"},
     "That month does not have that many days."),
    ({"birth_date-month": "", "birth_date-day": "3", "birth_date-year": "1990"},
     "Choose the month."),
    ({"birth_date-month": "2", "birth_date-day": "", "birth_date-year": "1990"},
     "Enter the day, the month and the year."),
    ({"birth_date-month": "2", "birth_date-day": "3", "birth_date-year": "2999"},
     "This date is in the future."),
    ({"birth_date-month": "", "birth_date-day": "", "birth_date-year": ""},
     "Enter your date of birth."),
    # Superscript digits pass str.isdigit() but not int(): found by the fuzz test.
    ({"birth_date-month": "2", "birth_date-day": "²²", "birth_date-year": "1990"},
     "Enter the day as a number from 1 to 31."),
])
def test_birth_date_parts_are_checked(app, tablet, parts, message):
    tablet.post("/kiosk/start", data={"language": "en"})
    tablet.post("/kiosk/step/about", data={**ABOUT, **parts})
    response = tablet.get("/kiosk/step/about")
    assert response.status_code == 422 and message in _text(response)


def test_validation_error_keeps_every_value(app, tablet):
    tablet.post("/kiosk/start", data={"language": "en"})
    data = {**CONTACT, "postal_code": "6020", "address_line2": "Apt 4"}
    assert tablet.post("/kiosk/step/contact", data=data).status_code == 303
    response = tablet.get("/kiosk/step/contact")
    assert response.status_code == 422
    page = _text(response)
    assert "Enter a 5-digit ZIP code" in page
    for value in ("18 Synthetic Way", "Evanston", "6020", "Apt 4", "(847) 555-0111", "zoe@example.org"):
        assert f'value="{value}"' in page, value
    assert '<option selected value="IL">' in page


def test_back_and_language_change_never_lose_data(app, tablet):
    tablet.post("/kiosk/start", data={"language": "en"})
    tablet.post("/kiosk/step/about", data=ABOUT)
    # Half-typed contact page, then Back: nothing validated, nothing lost.
    response = tablet.post("/kiosk/step/contact", data={"city": "Evanston", "_nav": "back"})
    assert response.headers["Location"].endswith("/kiosk/step/about")
    assert 'name="birth_date-day" value="9"' in _text(tablet.get("/kiosk/step/about"))
    assert 'value="Evanston"' in _text(tablet.get("/kiosk/step/contact"))
    # Language switch mid-step: typed values stay, the month is named in the new language.
    response = tablet.post("/kiosk/step/about", data={**ABOUT, "given_name": "Zoe", "_language": "pl"})
    assert response.headers["Location"].endswith("/kiosk/step/about")
    page = _text(tablet.get("/kiosk/step/about"))
    assert '<html lang="pl">' in page and 'value="Zoe"' in page
    assert '<option value="7" selected>Lipiec</option>' in page
    assert "Dane osobowe" in page


def test_idle_session_is_wiped_on_the_server(make_app):
    from tests.kiosk.factories import enrolled_client

    app = make_app(INTAKE_KIOSK_IDLE_TIMEOUT_SECONDS=1)
    tablet = enrolled_client(app)
    tablet.post("/kiosk/start", data={"language": "fr"})
    tablet.post("/kiosk/step/about", data=ABOUT)
    time.sleep(1.2)
    response = tablet.get("/kiosk/step/contact")
    assert response.headers["Location"].endswith("/kiosk/")
    page = _text(tablet.get("/kiosk/"))
    assert "The form was cleared because nobody used it for a while." in page  # back to English
    with app.app_context():
        assert db.session.execute(db.select(KioskDraft)).scalars().all() == []


def test_expired_drafts_and_their_pictures_are_purged(app, tablet):
    from datetime import timedelta
    from pathlib import Path

    from intake.services import kiosk
    from tests.kiosk.factories import card_png

    tablet.post("/kiosk/start", data={"language": "en"})
    tablet.post("/kiosk/step/insurance", data={"has_insurance": "yes", "primary_card_front": (
        card_png(), "f.png"), "_nav": "back"}, content_type="multipart/form-data")
    folder = Path(app.config["INTAKE_UPLOAD_DIR"]) / "kiosk"
    assert len(list(folder.glob("*.jpg"))) == 1
    with app.app_context():
        draft = db.session.execute(db.select(KioskDraft)).scalar_one()
        draft.expires_at -= timedelta(hours=2)
        db.session.commit()
        assert kiosk.purge_expired() == 1
        db.session.commit()
        assert db.session.execute(db.select(KioskDraft)).scalars().all() == []
    assert list(folder.glob("*.jpg")) == []


def test_the_worker_purges_expired_drafts_and_commits(app, tablet):
    from datetime import timedelta

    from intake import tasks
    from tests.kiosk.factories import enrolled_client

    tablet.post("/kiosk/start", data={"language": "en"})
    enrolled_client(app, "Second tablet").post("/kiosk/start", data={"language": "es"})  # live
    with app.app_context():
        first = db.session.execute(db.select(KioskDraft).order_by(KioskDraft.id)).scalars().first()
        first.expires_at -= timedelta(hours=2)
        db.session.commit()
        first_id = first.id
    tasks.purge_kiosk_drafts()  # huey runs it at once in tests
    with app.app_context():
        left = db.session.execute(db.select(KioskDraft.id)).scalars().all()
        assert first_id not in left and len(left) == 1


def test_nothing_of_a_submission_is_readable_from_the_kiosk_afterwards(app, tablet):
    fill_intake(tablet, app)
    done = tablet.get("/kiosk/done")
    assert done.status_code == 200 and "Thank you" in _text(done)
    assert tablet.get("/kiosk/done").headers["Location"].endswith("/kiosk/")
    seen = []
    # The draft is gone: the start page, redirects to it, no pictures.
    for url, status in (("/kiosk/", 200), ("/kiosk/step/about", 302), ("/kiosk/step/contact", 302),
                        ("/kiosk/step/insurance", 302), ("/kiosk/step/consents", 302),
                        ("/kiosk/review", 302), ("/kiosk/picture/sig-treatment", 404),
                        ("/kiosk/picture/card-primary_front", 404)):
        response = tablet.get(url)
        assert response.headers.get("Cache-Control") == "no-store"
        seen.append(_text(response) if response.mimetype == "text/html" else "")
        assert response.status_code == status, url
    everything = " ".join(seen)
    for secret in ("Zoë", "Nunes", "Synthetic", "555", "XKZ123456789", "zoe@example.org"):
        assert secret not in everything


def test_start_over_wipes_the_draft(app, tablet):
    tablet.post("/kiosk/start", data={"language": "nl"})
    tablet.post("/kiosk/step/about", data=ABOUT)
    assert tablet.post("/kiosk/reset", data={"reason": "restart"}).status_code == 302
    page = _text(tablet.get("/kiosk/"))
    assert "Everything was cleared" in page
    assert tablet.get("/kiosk/step/about").headers["Location"].endswith("/kiosk/")


def test_signature_must_be_drawn_or_typed_as_the_signer(app, tablet):
    tablet.post("/kiosk/start", data={"language": "en"})
    data = {"signer_name": "Zoë Nunes", "signer_relationship": "self",
            "treatment_signature": signature_data_url(), "privacy_typed": "Someone Else",
            "financial_typed": "", "communication_typed": "Zoë Nunes"}
    assert tablet.post("/kiosk/step/consents", data=data).status_code == 303
    page = _text(tablet.get("/kiosk/step/consents"))
    assert "Type the same full name as the person signing." in page
    assert "Sign with your finger, or type your full name." in page
    assert "/kiosk/picture/sig-treatment" in page  # the drawn one is kept
    assert tablet.get("/kiosk/picture/sig-treatment").mimetype == "image/png"
    bad = {**data, "privacy_typed": "Zoë Nunes", "financial_typed": "Zoë Nunes",
           "treatment_signature": "data:image/png;base64,bm90IGEgcG5n"}
    tablet.post("/kiosk/step/consents", data=bad)
    assert tablet.post("/kiosk/step/consents", data={**bad, "treatment_signature": ""}) \
        .headers["Location"].endswith("/kiosk/review")


def test_medicare_member_id_and_subscriber_rules(app, tablet):
    from intake.models import Payer

    with app.app_context():
        medicare = db.session.execute(db.select(Payer.id).filter_by(kind="medicare")).scalar()
    tablet.post("/kiosk/start", data={"language": "en"})
    tablet.post("/kiosk/step/insurance", data={
        "has_insurance": "yes", "primary_payer_id": str(medicare), "primary_member_id": "123",
        "primary_relationship_code": "spouse"})
    page = _text(tablet.get("/kiosk/step/insurance"))
    assert "A Medicare number has 11 letters and digits" in page
    assert "Enter the policyholder&#39;s first name." in page
    response = tablet.post("/kiosk/step/insurance", data={"has_insurance": "no",
                                                         "primary_member_id": "123"})
    assert response.headers["Location"].endswith("/kiosk/step/consents")


@pytest.mark.parametrize(("language", "cleared"), [
    ("es", "Se borró todo. Puede empezar de nuevo."),
    ("pl", "Wszystko zostało wyczyszczone. Można zacząć od nowa."),
])
def test_start_over_says_so_in_the_patients_language(app, tablet, language, cleared):
    tablet.post("/kiosk/start", data={"language": language})
    tablet.post("/kiosk/step/about", data=ABOUT)
    assert tablet.post("/kiosk/reset", data={"reason": "restart"}).status_code == 302
    page = _text(tablet.get("/kiosk/"))
    assert f'<p lang="{language}" class="mb-1">{cleared}</p>' in page
    assert "Everything was cleared. You can start again." in page  # and for the next person
    assert "Nunes" not in page and '<html lang="en">' in page
    assert cleared not in _text(tablet.get("/kiosk/"))  # said once
