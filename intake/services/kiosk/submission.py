"""Send: a draft, validated again by the caller, becomes a submission for
the front desk, and the draft goes, in the request's one transaction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from intake import vocab
from intake.database import on_commit
from intake.extensions import db
from intake.models import KioskDraft, KioskSubmission, Payer
from intake.models.base import utcnow
from intake.models.coverage import PayerKind
from intake.services import FieldErrors, audit, coverages
from intake.services.kiosk import pictures
from intake.services.kiosk.drafts import copy_data

# Patient fields the kiosk collects; the rest of a chart is the front desk's.
KIOSK_PATIENT_FIELDS = (
    "given_name", "middle_name", "family_name", "preferred_name", "birth_date", "sex",
    "preferred_language", "races", "ethnicity",
    "address_line1", "address_line2", "city", "state", "postal_code",
    "phone_mobile", "phone_home", "email",
    "emergency_name", "emergency_relationship", "emergency_phone",
)
FIELD_LABELS = {
    "given_name": "Given name", "middle_name": "Middle name", "family_name": "Family name",
    "preferred_name": "Preferred name", "birth_date": "Date of birth", "sex": "Sex",
    "preferred_language": "Preferred language", "races": "Race", "ethnicity": "Ethnicity",
    "address_line1": "Street address", "address_line2": "Apartment, suite", "city": "City",
    "state": "State", "postal_code": "ZIP code", "phone_mobile": "Mobile phone",
    "phone_home": "Home phone", "email": "Email", "emergency_name": "Emergency contact",
    "emergency_relationship": "Emergency contact relationship",
    "emergency_phone": "Emergency contact phone",
}


def kiosk_payers() -> list[Payer]:
    """Insurers a patient may choose; 'no insurance' replaces self-pay."""
    return [p for p in coverages.active_payers() if p.kind != PayerKind.SELF_PAY]


def _jsonable(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def submit(draft: KioskDraft, patient: Mapping[str, Any],
           insurance: list[Mapping[str, Any]]) -> KioskSubmission:
    """Turn a validated draft (loaded by `load_draft`, so locked) into a
    submission for the front desk and delete the draft. `patient` holds
    KIOSK_PATIENT_FIELDS and `insurance` one mapping per coverage (with a `slot`
    naming its card pictures); the consents come from what `sign_consents`
    recorded: FieldErrors when one is not signed."""
    submission_data, leftovers = _submission_data(copy_data(draft), patient, insurance)
    submission = KioskSubmission(device_id=draft.device_id, language=draft.language,
                                 status="pending", submitted_at=utcnow(), data=submission_data)
    db.session.add(submission)
    db.session.delete(draft)
    db.session.flush()
    if leftovers:  # the draft's pictures the submission does not keep
        on_commit(lambda: [pictures.remove_file(name) for name in leftovers])
    audit.record("kiosk.submit", object_type="kiosk_submission", object_id=submission.id,
                 detail=f"coverages={len(submission_data['coverages'])} "
                        f"consents={len(submission_data['consents'])} language={draft.language}")
    return submission


def _check_signed(data: Mapping[str, Any]) -> None:
    if set(data.get("signed") or {}) != set(vocab.CONSENT_KINDS):
        raise FieldErrors({"consents": ["unsigned"]})


def _submission_data(data: Mapping[str, Any], patient: Mapping[str, Any],
                     insurance: list[Mapping[str, Any]]) -> tuple[dict[str, Any], list[str]]:
    """(what a submission holds, the draft's pictures it leaves behind) from
    a draft's data and its validated values: what the patient entered, their
    card pictures (which will belong to the submission) and their signed
    consents. Raises FieldErrors when a consent is not signed."""
    _check_signed(data)
    cards = dict(data.get("cards") or {})
    signatures = data.get("signatures") or {}
    coverages_out = []
    for cov in insurance:
        slot = cov["slot"]
        item = {k: _jsonable(v) for k, v in cov.items() if k != "slot"}
        item["cards"] = {side: cards.pop(f"{slot}_{side}")
                         for side in ("front", "back") if cards.get(f"{slot}_{side}")}
        coverages_out.append(item)
    signed = []
    for kind in vocab.CONSENT_KINDS:
        detail = data["signed"][kind]
        signed.append({**detail, "signature_png": signatures.get(kind)
                       if detail["method"] == "drawn" else None})
    submission = {"patient": {k: _jsonable(patient.get(k)) for k in KIOSK_PATIENT_FIELDS},
                  "coverages": coverages_out, "signer": data.get("signer") or {},
                  "consents": signed}
    return submission, pictures.draft_files({"cards": cards})
