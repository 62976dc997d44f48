"""Every kiosk string in every language: the catalogs cover what the code and
templates use, nothing is left untranslated or fuzzy, and the committed .mo
files match their .po sources."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = ROOT / "intake" / "translations"
LANGUAGES = ("en", "es", "pl", "nl", "fr", "id", "ro")
KEYWORDS = {"_": None, "gettext": None, "lazy_gettext": None, "_l": None,
            "ngettext": (1, 2)}


def _extracted() -> set[str]:
    method_map = [("intake/forms/kiosk.py", "python"), ("intake/forms/validators.py", "python"),
                  ("intake/blueprints/kiosk/**.py", "python"),
                  ("intake/templates/kiosk/**.html", "jinja2")]
    return {message for _, _, message, *_ in extract_from_dir(
        str(ROOT), method_map=method_map, keywords=KEYWORDS) if isinstance(message, str)}


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_is_complete_and_compiled(language):
    po_path = CATALOGS / language / "LC_MESSAGES" / "messages.po"
    with po_path.open("rb") as f:
        po = read_po(f)
    with (po_path.with_suffix(".mo")).open("rb") as f:
        mo = read_mo(f)
    messages = {m.id: m for m in po if m.id}
    assert _extracted() <= set(messages), "run the pybabel extract/update from babel.cfg"
    for msgid, message in messages.items():
        assert message.string and not message.fuzzy, (language, msgid)
        placeholders = set(re.findall(r"%\(\w+\)s", msgid))
        assert placeholders == set(re.findall(r"%\(\w+\)s", message.string)), (language, msgid)
        assert mo.get(msgid) is not None and mo.get(msgid).string == message.string, \
            f"{language}: .mo is stale; run pybabel compile -d intake/translations"


def test_every_consent_has_a_text_in_every_kiosk_language():
    """The consent texts are files (intake/services/kiosk/consents/<kind>.toml),
    one per kind, each with every kiosk language; loading them checks that."""
    from intake import vocab
    from intake.services.kiosk import CONSENTS, consent_text

    assert [doc.kind for doc in CONSENTS] == list(vocab.CONSENT_KINDS)
    for doc in CONSENTS:
        titles = {consent_text(doc, language)[0] for language in vocab.KIOSK_LANGUAGES}
        assert len(titles) == len(vocab.KIOSK_LANGUAGES), doc.kind  # translated, not copied


def test_staff_pages_stay_english(app, desk):
    page = desk.get("/staff/").get_data(as_text=True)
    assert '<html lang="en">' in page
