"""Every kiosk page and state, in every kiosk language, in real Chromium with
axe-core (WCAG 2.1 A/AA): the language screen, each step empty and after a
failed Next, the review, the thank-you page; plus what axe cannot judge on
its own: a focus ring that stands out on every control, and the consent
texts shown whole. Screenshots at tablet size into
test-artifacts/screenshots/kiosk/. Synthetic people only."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from intake import vocab
from tests.browser.conftest import WCAG_TAGS
from tests.browser import test_kiosk_flow as flow
from tests.browser.test_kiosk_flow import card_picture, draw_signature, enroll

pytestmark = pytest.mark.browser
app, kshot, tablet_page = flow.app, flow.kshot, flow.tablet_page  # the kiosk flow's fixtures

# The button that chooses each language on the start screen (its own name).
LANGUAGE_BUTTON = {code: vocab.LANGUAGE_ENDONYMS[code] for code in vocab.KIOSK_LANGUAGES}


@pytest.fixture
def assert_accessible(axe):
    """WCAG 2.1 A/AA plus axe's best practices (unique landmark names, one
    main, headings in order...): the kiosk is where strangers use it."""
    options = {"runOnly": {"type": "tag", "values": [*WCAG_TAGS, "best-practice"]},
               "resultTypes": ["violations"]}

    def check(page, what: str) -> None:
        results = axe.run(page, options=options)
        assert results.violations_count == 0, (
            f"{what}: {results.violations_count} violation(s)\n{results.generate_report()}")
    return check


def _next(page) -> None:
    page.locator("button[name=_nav][value=next]").click()


def _contrast_js() -> str:
    """WCAG contrast of two computed colours (rgb/rgba, alpha blended on white)."""
    return """
    (pair) => {
      const parse = (c) => { const m = c.match(/[\\d.]+/g).map(Number);
        const a = m.length > 3 ? m[3] : 1;
        return [0, 1, 2].map(i => m[i] * a + 255 * (1 - a)); };
      const lum = (rgb) => { const v = rgb.map(x => { x /= 255;
        return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
        return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
      const [l1, l2] = [lum(parse(pair[0])), lum(parse(pair[1]))].sort((a, b) => b - a);
      return (l1 + 0.05) / (l2 + 0.05);
    }"""


@pytest.mark.parametrize("language", vocab.KIOSK_LANGUAGES)
def test_every_kiosk_page_and_state_passes_axe(tablet_page, live_server, kshot,
                                               assert_accessible, language, tmp_path):
    kiosk = tablet_page
    enroll(kiosk, live_server.app)
    assert_accessible(kiosk, "language screen")
    kiosk.get_by_role("button", name=re.compile("^" + LANGUAGE_BUTTON[language])).click()
    expect(kiosk.locator("html")).to_have_attribute("lang", language)

    # About you: empty, then a failed Next (red messages, invalid radios).
    assert_accessible(kiosk, f"about ({language})")
    _next(kiosk)
    expect(kiosk.locator("#error-summary")).to_be_visible()
    kshot(kiosk, f"about-error-{language}")
    assert_accessible(kiosk, f"about with errors ({language})")
    kiosk.locator("[name=given_name]").fill("Zoë")
    kiosk.locator("[name=family_name]").fill("Nunes")
    kiosk.locator("[name='birth_date-month']").select_option("7")
    kiosk.locator("[name='birth_date-day']").fill("9")
    kiosk.locator("[name='birth_date-year']").fill("1985")
    kiosk.locator("input[name=sex][value=female]").check()
    _next(kiosk)

    # Contact: failed Next, then filled.
    expect(kiosk.locator("[name=address_line1]")).to_be_visible()
    _next(kiosk)
    expect(kiosk.locator("#error-summary")).to_be_visible()
    assert_accessible(kiosk, f"contact with errors ({language})")
    kiosk.locator("[name=address_line1]").fill("18 Synthetic Way")
    kiosk.locator("[name=city]").fill("Evanston")
    kiosk.locator("[name=state]").select_option("IL")
    kiosk.locator("[name=postal_code]").fill("60201")
    kiosk.locator("[name=phone_mobile]").fill("(847) 555-0111")
    _next(kiosk)

    # Emergency contact: a name without a phone.
    kiosk.locator("[name=emergency_name]").fill("Ana Nunes")
    _next(kiosk)
    expect(kiosk.locator("#error-summary")).to_be_visible()
    assert_accessible(kiosk, f"emergency with errors ({language})")
    kiosk.locator("[name=emergency_phone]").fill("847-555-0112")
    _next(kiosk)

    # Insurance: nothing chosen, then a plan held by someone else.
    expect(kiosk.locator("input[name=has_insurance][value=yes]")).to_be_visible()
    _next(kiosk)
    expect(kiosk.locator("#error-summary")).to_be_visible()
    assert_accessible(kiosk, f"insurance with errors ({language})")
    kiosk.locator("input[name=has_insurance][value=yes]").check()
    kiosk.locator("[name=primary_payer_id]").select_option(index=1)
    kiosk.locator("[name=primary_member_id]").fill("XKZ123456789")
    kiosk.locator("input[name=primary_relationship_code][value=spouse]").check()
    kiosk.locator("[name=primary_subscriber_given]").fill("Ana")
    kiosk.locator("[name=primary_subscriber_family]").fill("Nunes")
    kiosk.locator("[name='primary_subscriber_birth_date-month']").select_option("2")
    kiosk.locator("[name='primary_subscriber_birth_date-day']").fill("30")  # no such day
    kiosk.locator("[name='primary_subscriber_birth_date-year']").fill("1980")
    kiosk.locator("[name=primary_card_front]").set_input_files(str(card_picture(tmp_path)))
    _next(kiosk)
    expect(kiosk.locator("#primary_subscriber_birth_date-error")).to_be_visible()
    assert_accessible(kiosk, f"insurance, policyholder's date wrong ({language})")
    kiosk.locator("[name='primary_subscriber_birth_date-day']").fill("3")
    _next(kiosk)

    # Consents: nothing signed, then signed.
    expect(kiosk.locator("[name=signer_name]")).to_be_visible()
    assert_accessible(kiosk, f"consents ({language})")
    _next(kiosk)
    expect(kiosk.locator("#error-summary")).to_be_visible()
    kshot(kiosk, f"consents-error-{language}")
    assert_accessible(kiosk, f"consents with errors ({language})")
    kiosk.locator("[name=signer_name]").fill("Zoë Nunes")
    draw_signature(kiosk, kiosk.locator("canvas.kiosk-pad-canvas").first)
    for kind in ("privacy", "financial", "communication"):
        kiosk.locator(f"[name={kind}_typed]").fill("Zoë Nunes")
    _next(kiosk)

    expect(kiosk).to_have_url(re.compile(r"/kiosk/review$"))
    kshot(kiosk, f"review-{language}")
    assert_accessible(kiosk, f"review ({language})")
    kiosk.locator("button[form=submit-form]").click()
    expect(kiosk).to_have_url(re.compile(r"/kiosk/done$"))
    expect(kiosk.locator("html")).to_have_attribute("lang", language)
    kshot(kiosk, f"done-{language}")
    assert_accessible(kiosk, f"thank-you page ({language})")


def _focus_ring(page, locator) -> dict:
    """Focus `locator` as a keyboard user would, and read what is drawn."""
    page.keyboard.press("Shift")  # keyboard modality: :focus-visible applies
    locator.focus()
    return locator.evaluate("""(el) => { const s = getComputedStyle(el);
        const solid = (c) => { const m = c.match(/[\\d.]+/g);
          return m && (m.length < 4 || Number(m[3]) >= 0.5); };
        const backdrop = (from) => { let node = from;
          while (node) { const c = getComputedStyle(node).backgroundColor;
            if (solid(c)) { return c; } node = node.parentElement; }
          return 'rgb(255, 255, 255)'; };
        return {outlineStyle: s.outlineStyle, outlineWidth: parseFloat(s.outlineWidth),
                outlineColor: s.outlineColor, color: s.color, background: backdrop(el),
                around: backdrop(el.parentElement)}; }""")


def test_focus_is_visible_and_high_contrast_on_every_control(tablet_page, live_server, kshot):
    kiosk = tablet_page
    kiosk.emulate_media(reduced_motion="reduce")  # no colour transitions half-way
    enroll(kiosk, live_server.app)
    kiosk.get_by_role("button", name=re.compile("^English")).click()
    contrast = _contrast_js()
    controls = {
        "a language button": kiosk.get_by_role("button", name="Español"),
        "the current language": kiosk.get_by_role("button", name="English"),
        "a text box": kiosk.locator("[name=given_name]"),
        "a month list": kiosk.locator("[name='birth_date-month']"),
        "a radio button": kiosk.locator("input[name=sex][value=female]"),
        "a checkbox": kiosk.locator("input[name=races]").first,
        "the Next button": kiosk.locator("button[name=_nav][value=next]"),
        "Start over": kiosk.locator(".kiosk-start-over button"),
    }
    for what, control in controls.items():
        ring = _focus_ring(kiosk, control)
        assert ring["outlineStyle"] == "solid" and ring["outlineWidth"] >= 3, (what, ring)
        # The ring stands out from what is around it (WCAG 1.4.11: 3:1)...
        assert kiosk.evaluate(contrast, [ring["outlineColor"], ring["around"]]) >= 3, (what, ring)
        # ...and a focused button's own text stays readable (it turned white on near-white).
        if control.evaluate("el => el.tagName") == "BUTTON":
            assert kiosk.evaluate(contrast, [ring["color"], ring["background"]]) >= 4.5, (what, ring)
    _focus_ring(kiosk, controls["a language button"])
    kshot(kiosk, "focus-language-button")


def test_consent_texts_are_shown_whole_at_tablet_size(browser, live_server, kshot):
    context = browser.new_context(base_url=live_server.url, locale="en-US", has_touch=True,
                                  viewport={"width": 1024, "height": 768})
    context.set_default_timeout(10_000)
    try:
        kiosk = context.new_page()
        enroll(kiosk, live_server.app)
        kiosk.get_by_role("button", name=re.compile("^English")).click()
        kiosk.goto("/kiosk/step/consents")
        texts = kiosk.locator(".kiosk-consent-text")
        expect(texts).to_have_count(len(vocab.CONSENT_KINDS))
        for i in range(texts.count()):
            box = texts.nth(i)
            shape = box.evaluate("""(el) => ({scroll: el.scrollHeight, client: el.clientHeight,
                overflow: getComputedStyle(el).overflowY,
                size: parseFloat(getComputedStyle(el).fontSize),
                last: el.querySelector('p:last-child').getBoundingClientRect().bottom,
                bottom: el.getBoundingClientRect().bottom})""")
            assert shape["scroll"] <= shape["client"] + 1, shape  # nothing to scroll to
            assert shape["overflow"] == "visible" and shape["last"] <= shape["bottom"], shape
            assert shape["size"] >= 20, shape  # readable at arm's length
        kshot(kiosk, "consents-1024")
    finally:
        context.close()


@pytest.mark.parametrize("size", [(390, 844), (1024, 768)])
def test_kiosk_fits_a_phone_and_a_landscape_tablet(browser, live_server, size):
    """Nothing wider than the screen at phone and tablet sizes, the date boxes included."""
    width, height = size
    context = browser.new_context(base_url=live_server.url, locale="en-US", has_touch=True,
                                  viewport={"width": width, "height": height})
    context.set_default_timeout(10_000)
    try:
        kiosk = context.new_page()
        enroll(kiosk, live_server.app)
        flow.KIOSK_SHOTS.mkdir(parents=True, exist_ok=True)
        for step in ("language", "about", "contact", "emergency", "insurance", "consents"):
            if step == "language":
                kiosk.goto("/kiosk/")
            elif step == "about":
                kiosk.get_by_role("button", name=re.compile("^Bahasa Indonesia")).click()
            else:
                kiosk.goto(f"/kiosk/step/{step}")
            wide = kiosk.evaluate("document.documentElement.scrollWidth")
            assert wide <= width, f"{step} is {wide}px wide at {width}px"
            kiosk.screenshot(path=str(flow.KIOSK_SHOTS / f"size-{width}-{step}.png"), full_page=True)
    finally:
        context.close()


@pytest.mark.parametrize("app", [{"INTAKE_KIOSK_IDLE_WARNING_SECONDS": 1,
                                  "INTAKE_KIOSK_IDLE_TIMEOUT_SECONDS": 600}], indirect=True)
@pytest.mark.parametrize("language", vocab.KIOSK_LANGUAGES)
def test_idle_warning_in_every_language(tablet_page, live_server, assert_accessible, language):
    """The idle warning: in the patient's language, what was typed hidden behind it, axe-clean."""
    kiosk = tablet_page
    enroll(kiosk, live_server.app)
    kiosk.get_by_role("button", name=re.compile("^" + LANGUAGE_BUTTON[language])).click()
    kiosk.locator("[name=family_name]").fill("Nunes")
    warning = kiosk.get_by_role("alertdialog")
    expect(warning).to_be_visible(timeout=5_000)
    expect(kiosk.locator("[name=family_name]")).to_be_hidden()
    assert_accessible(kiosk, f"idle warning ({language})")
    warning.get_by_role("button").click()
    expect(kiosk.locator("[name=family_name]")).to_have_value("Nunes")
