"""The consents a kiosk patient signs. Their texts are files, one per kind
(consents/<kind>.toml, in every kiosk language), not code: a signed consent
keeps the exact title and text shown, the language and the version."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from flask_babel import get_locale

from intake import vocab
from intake.models.base import utcnow
from intake.normalize import clean_text
from intake.models import KioskDraft
from intake.services.kiosk.drafts import changed, copy_data, digest

TEXTS = Path(__file__).parent / "consents"
COMMUNICATION_CHOICES = ("sms", "email", "voicemail")


@dataclass(frozen=True)
class ConsentDocument:
    kind: str
    version: str
    texts: Mapping[str, tuple[str, tuple[str, ...]]]  # language -> (title, paragraphs)

    def _shown(self) -> tuple[str, tuple[str, ...]]:
        locale = get_locale()
        language = locale.language if locale is not None else "en"
        return self.texts.get(language) or self.texts["en"]

    @property
    def title(self) -> str:
        """In the language of the page being shown."""
        return self._shown()[0]

    @property
    def paragraphs(self) -> tuple[str, ...]:
        return self._shown()[1]


def _load(kind: str) -> ConsentDocument:
    with (TEXTS / f"{kind}.toml").open("rb") as stream:
        data = tomllib.load(stream)
    missing = [lang for lang in vocab.KIOSK_LANGUAGES if lang not in data]
    if missing:
        raise ValueError(f"consents/{kind}.toml has no text for {', '.join(missing)}")
    return ConsentDocument(kind, data["version"], {
        lang: (data[lang]["title"], tuple(data[lang]["paragraphs"]))
        for lang in vocab.KIOSK_LANGUAGES})


CONSENTS = tuple(_load(kind) for kind in vocab.CONSENT_KINDS)


def consent_text(doc: ConsentDocument, language: str) -> tuple[str, str]:
    """The title and text exactly as shown in `language`."""
    title, paragraphs = doc.texts[language]
    return title, "\n\n".join(paragraphs)


def sign_consents(draft: KioskDraft, signer_name: str, signer_relationship: str,
                  typed: Mapping[str, str | None], choices: Mapping[str, bool]) -> None:
    """Record the consents as signed now, in the draft's language: the exact
    text shown, its version, and how each was signed (drawn, else typed)."""
    data = copy_data(draft)
    now = utcnow().isoformat()
    signed = {}
    for doc in CONSENTS:
        title, text = consent_text(doc, draft.language)
        drawn = doc.kind in data["signatures"]
        signed[doc.kind] = {
            "kind": doc.kind, "version": doc.version, "language": draft.language,
            "title": title, "text": text, "text_sha256": digest(text),
            "method": "drawn" if drawn else "typed",
            "signer_name": signer_name if drawn else (clean_text(typed.get(doc.kind)) or signer_name),
            "signed_at": now,
            "choices": ({c: bool(choices.get(c)) for c in COMMUNICATION_CHOICES}
                        if doc.kind == "communication" else None),
        }
    data["signed"] = signed
    data["signer"] = {"name": signer_name, "relationship": signer_relationship}
    changed(draft, data)
