"""The patient kiosk in real Chromium: enrollment, the whole intake in English
(with a validation error) and in Spanish (switching language mid-step), the
idle warning and wipe, and the front desk's review queue. axe-core checks
every kiosk step and the queue against WCAG 2.1 A/AA; each step is
screenshotted into test-artifacts/screenshots/kiosk/. Synthetic people only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from intake.extensions import db
from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_staff_flow import sign_in
from tests.kiosk.factories import enroll_code

pytestmark = pytest.mark.browser
KIOSK_SHOTS = SCREENSHOTS / "kiosk"


@pytest.fixture
def app(make_app, request):
    """CSRF on (a real browser); the idle test shortens the kiosk's timers."""
    extra = getattr(request, "param", None) or {}
    return make_app(WTF_CSRF_ENABLED=True, **extra)


@pytest.fixture
def kshot(request):
    KIOSK_SHOTS.mkdir(parents=True, exist_ok=True)
    count = [0]

    def take(page, step: str) -> None:
        count[0] += 1
        page.screenshot(path=str(KIOSK_SHOTS / f"{request.node.originalname}-{count[0]:02d}-{step}.png"),
                        full_page=True)
    return take


@pytest.fixture
def tablet_page(browser, live_server):
    """A tablet-sized browser context (touch, portrait)."""
    context = browser.new_context(base_url=live_server.url, locale="en-US", has_touch=True,
                                  viewport={"width": 820, "height": 1180})
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def card_picture(tmp_path: Path) -> Path:
    path = tmp_path / "card.png"
    picture = Image.new("RGB", (320, 200), (230, 240, 255))
    picture.paste((20, 60, 160), (0, 0, 320, 40))
    picture.save(path, "PNG")
    return path


def enroll(page, app, kshot=None, check=None) -> None:
    _, code = enroll_code(app)
    page.goto("/kiosk/enroll")
    if kshot:
        kshot(page, "enroll")
        check(page, "kiosk enrollment")
    page.locator("[name=code]").fill(code)
    page.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/kiosk/$"))


def draw_signature(page, canvas) -> None:
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    x, y = box["x"], box["y"]
    page.mouse.move(x + 30, y + 120)
    page.mouse.down()
    for dx, dy in ((80, 40), (140, 110), (220, 50), (300, 120), (380, 60)):
        page.mouse.move(x + dx, y + dy, steps=4)
    page.mouse.up()


def fill_rest(page, tmp_path, kshot, check, words: dict[str, str]) -> None:
    """Contact → emergency → insurance → consents → review, by field names (any language)."""
    page.locator("[name=address_line1]").fill("18 Synthetic Way")
    page.locator("[name=city]").fill("Evanston")
    page.locator("[name=state]").select_option("IL")
    page.locator("[name=postal_code]").fill("60201")
    page.locator("[name=phone_mobile]").fill("(847) 555-0111")
    kshot(page, "contact")
    check(page, "contact step")
    page.locator("button[name=_nav][value=next]").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(words["emergency"])
    page.locator("[name=emergency_name]").fill("Ana Nunes")
    page.locator("[name=emergency_relationship]").fill("sister")
    page.locator("[name=emergency_phone]").fill("847-555-0112")
    kshot(page, "emergency")
    check(page, "emergency step")
    page.locator("button[name=_nav][value=next]").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(words["insurance"])
    page.locator("input[name=has_insurance][value=yes]").check()
    expect(page.locator("[name=primary_payer_id]")).to_be_visible()
    expect(page.locator("[name=secondary_payer_id]")).to_be_hidden()
    page.locator("[name=primary_payer_id]").select_option(label="Aetna")
    page.locator("[name=primary_member_id]").fill("XKZ123456789")
    front = page.locator("[name=primary_card_front]")
    assert front.get_attribute("accept") == "image/*" and front.get_attribute("capture") == "environment"
    front.set_input_files(str(card_picture(tmp_path)))
    kshot(page, "insurance")
    check(page, "insurance step")
    page.locator("button[name=_nav][value=next]").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(words["consents"])
    page.locator("[name=signer_name]").fill("Zoë Nunes")
    draw_signature(page, page.locator("canvas.kiosk-pad-canvas").first)
    for kind in ("privacy", "financial", "communication"):
        page.locator(f"[name={kind}_typed]").fill("Zoë Nunes")
    page.locator("[name=comm_sms]").check()
    kshot(page, "consents")
    check(page, "consents step")
    page.locator("button[name=_nav][value=next]").click()
    expect(page).to_have_url(re.compile(r"/kiosk/review$"))


def test_patient_completes_intake_in_english_and_desk_accepts(tablet_page, page, live_server,
                                                                create_user, tmp_path, kshot,
                                                                assert_accessible):
    app = live_server.app
    kiosk = tablet_page
    enroll(kiosk, app, kshot, assert_accessible)
    expect(kiosk.get_by_role("heading", level=1)).to_have_text("Welcome! Please choose your language.")
    kshot(kiosk, "language")
    assert_accessible(kiosk, "language screen")
    kiosk.get_by_role("button", name=re.compile("^English")).click()

    expect(kiosk.get_by_role("heading", level=1)).to_have_text("About you")
    expect(kiosk.locator("[aria-current=step]")).to_contain_text("About you")
    kiosk.get_by_label("First name").fill("Zoë")
    kiosk.get_by_label("Last name").fill("Nunes")
    # The date of birth is one question in three boxes; the month by name.
    birth = kiosk.get_by_role("group", name=re.compile("^Date of birth"))
    birth.get_by_label("Month").select_option(label="July")
    birth.get_by_label("Day").fill("45")  # not a day
    birth.get_by_label("Year").fill("1985")
    kiosk.get_by_label("Female").check()
    kshot(kiosk, "about")
    assert_accessible(kiosk, "about step")
    kiosk.get_by_role("button", name="Next").click()
    expect(kiosk.get_by_text("Enter the day as a number from 1 to 31.")).to_be_visible()
    expect(birth.get_by_label("Month")).to_have_value("7")
    expect(birth.get_by_label("Day")).to_have_value("45")
    expect(kiosk.get_by_label("First name")).to_have_value("Zoë")
    expect(kiosk.get_by_label("Last name")).to_have_value("Nunes")
    expect(kiosk.get_by_label("Female")).to_be_checked()
    kshot(kiosk, "about-error")
    assert_accessible(kiosk, "about step with an error")
    birth.get_by_label("Day").fill("9")
    kiosk.get_by_role("button", name="Next").click()

    expect(kiosk.get_by_role("heading", level=1)).to_have_text("Contact and address")
    fill_rest(kiosk, tmp_path, kshot, assert_accessible,
              {"emergency": "Emergency contact", "insurance": "Insurance", "consents": "Consents"})

    expect(kiosk.get_by_text("July 9, 1985")).to_be_visible()
    expect(kiosk.get_by_text("Signed with your finger", exact=True)).to_be_visible()
    kshot(kiosk, "review")
    assert_accessible(kiosk, "review step")
    kiosk.get_by_role("button", name="Submit").click()
    expect(kiosk.get_by_role("heading", level=1)).to_have_text("Thank you")
    expect(kiosk.get_by_text("Nunes")).to_have_count(0)
    kshot(kiosk, "done")
    assert_accessible(kiosk, "thank-you page")
    kiosk.go_back()
    expect(kiosk.get_by_text("Nunes")).to_have_count(0)

    # The front desk: queue, side by side, accept.
    _, username = create_user("receptionist")
    sign_in(page, username)
    page.goto("/staff/kiosk")
    expect(page.get_by_role("heading", name="Kiosk submissions")).to_be_visible()
    kshot(page, "staff-queue")
    assert_accessible(page, "review queue")
    page.get_by_role("link", name=re.compile("^Review")).click()
    expect(page.locator("#side-by-side")).to_contain_text("Zoë")
    kshot(page, "staff-submission")
    assert_accessible(page, "submission review")
    page.get_by_role("button", name="Accept as new patient").click()
    expect(page.get_by_text(re.compile(r"Accepted into a new chart\. MRN \d{10}"))).to_be_visible()
    kshot(page, "staff-accepted")


def test_patient_switches_to_spanish_mid_step_without_losing_anything(tablet_page, live_server,
                                                                     tmp_path, kshot,
                                                                     assert_accessible):
    app = live_server.app
    kiosk = tablet_page
    enroll(kiosk, app)
    kiosk.get_by_role("button", name=re.compile("^English")).click()
    kiosk.get_by_label("First name").fill("Zoë")
    kiosk.get_by_label("Last name").fill("Nunes")
    kiosk.get_by_label("Month").select_option(label="July")
    kiosk.get_by_label("Day").fill("9")
    kiosk.get_by_label("Year").fill("1985")
    kiosk.get_by_role("button", name="Español").click()

    expect(kiosk.get_by_role("heading", level=1)).to_have_text("Sus datos")
    expect(kiosk.locator("html")).to_have_attribute("lang", "es")
    expect(kiosk.get_by_label("Nombre (obligatorio)")).to_have_value("Zoë")
    birth = kiosk.get_by_role("group", name=re.compile("^Fecha de nacimiento"))
    expect(birth.get_by_label("Mes")).to_have_value("7")
    expect(birth.get_by_label("Mes").locator("option:checked")).to_have_text("Julio")
    expect(birth.get_by_label("Día")).to_have_value("9")
    kiosk.get_by_label("Femenino").check()
    kshot(kiosk, "about-es")
    assert_accessible(kiosk, "about step in Spanish")
    kiosk.get_by_role("button", name="Siguiente").click()
    expect(kiosk.get_by_role("heading", level=1)).to_have_text("Contacto y dirección")
    # Back and forward again: still there.
    kiosk.get_by_role("button", name="Atrás").click()
    expect(kiosk.get_by_label("Apellido(s)")).to_have_value("Nunes")
    kiosk.get_by_role("button", name="Siguiente").click()

    fill_rest(kiosk, tmp_path, kshot, assert_accessible,
              {"emergency": "Contacto de emergencia", "insurance": "Seguro médico",
               "consents": "Consentimientos"})
    expect(kiosk.get_by_text("9 de julio de 1985")).to_be_visible()
    kshot(kiosk, "review-es")
    assert_accessible(kiosk, "review step in Spanish")
    kiosk.get_by_role("button", name="Enviar").click()
    expect(kiosk.get_by_role("heading", level=1)).to_have_text("Gracias")
    kshot(kiosk, "done-es")
    assert_accessible(kiosk, "thank-you page in Spanish")
    with app.app_context():
        from intake.models import KioskSubmission

        sub = db.session.execute(db.select(KioskSubmission)).scalar_one()
        assert sub.language == "es" and sub.data["patient"]["birth_date"] == "1985-07-09"


@pytest.mark.parametrize("app", [{"INTAKE_KIOSK_IDLE_WARNING_SECONDS": 2,
                                  "INTAKE_KIOSK_IDLE_TIMEOUT_SECONDS": 5}], indirect=True)
def test_idle_kiosk_warns_then_wipes(tablet_page, live_server, kshot, assert_accessible):
    from intake.models import KioskDraft

    app = live_server.app
    kiosk = tablet_page
    enroll(kiosk, app)
    kiosk.get_by_role("button", name=re.compile("^Polski")).click()
    kiosk.locator("[name=given_name]").fill("Zoë")
    kiosk.locator("[name=family_name]").fill("Nunes")
    warning = kiosk.get_by_role("alertdialog")
    expect(warning).to_be_visible(timeout=5_000)
    expect(warning).to_contain_text("Czy nadal Pan/Pani tu jest?")
    # What was typed is hidden under the warning, not merely dimmed.
    expect(kiosk.locator("[name=given_name]")).to_be_hidden()
    expect(kiosk.locator("#main")).to_be_hidden()
    kshot(kiosk, "idle-warning")
    assert_accessible(kiosk, "idle warning")
    # "I am still here" keeps everything...
    warning.get_by_role("button").click()
    expect(warning).to_be_hidden()
    expect(kiosk.locator("[name=given_name]")).to_be_visible()
    expect(kiosk.locator("[name=given_name]")).to_have_value("Zoë")
    # ...and doing nothing wipes it and returns to the language screen.
    expect(kiosk).to_have_url(re.compile(r"/kiosk/$"), timeout=10_000)
    # In the cleared session's language (Polish here), and in English for whoever comes next.
    expect(kiosk.locator(".kiosk-notice [lang=pl]")).to_have_text(
        "Formularz został wyczyszczony, ponieważ przez pewien czas nikt go nie używał.")
    expect(kiosk.get_by_text("The form was cleared because nobody used it for a while.")).to_be_visible()
    kshot(kiosk, "idle-wiped")
    assert_accessible(kiosk, "language screen after an idle wipe")
    with app.app_context():
        assert db.session.execute(db.select(KioskDraft)).scalars().all() == []
