"""The patient kiosk, one module per concern:

- devices: enrollment, the device check on every kiosk request, revocation
- drafts: what a patient has typed so far, kept on the server
- pictures: card photos and signatures on disk
- consents: the consent texts (consents/<kind>.toml) and signing them
- submission: Send, a draft become a submission
- review: the front desk's accept, merge or reject

Kiosk pages never read charts: nothing a kiosk view calls looks up a
patient. The names below are the package's interface."""

from intake.services.kiosk.consents import (COMMUNICATION_CHOICES, CONSENTS, ConsentDocument,
                                            consent_text, sign_consents)
from intake.services.kiosk.devices import (DeviceSession, authenticate_device, create_device,
                                           enroll, get_device, issue_code, list_devices, revoke_device,
                                           submissions_last_hour)
from intake.services.kiosk.drafts import (completed_steps, discard_draft, draft_cards,
                                          draft_picture, draft_signatures, load_draft,
                                          purge_expired, remove_draft_card, save_draft_card,
                                          save_signature, save_step, set_language, setting,
                                          start_draft, step_values)
from intake.services.kiosk.pictures import CARD_SLOTS, parse_signature
from intake.services.kiosk.review import (MergeRow, accept_new, candidates, coverage_data,
                                          find_chart_by_mrn, get_submission, merge, merge_rows,
                                          new_coverages, patient_data, pending_submissions, reject,
                                          submission_picture)
from intake.services.kiosk.submission import (FIELD_LABELS, KIOSK_PATIENT_FIELDS, kiosk_payers,
                                              submit)

__all__ = [
    "CARD_SLOTS", "COMMUNICATION_CHOICES", "CONSENTS", "FIELD_LABELS", "KIOSK_PATIENT_FIELDS",
    "ConsentDocument", "DeviceSession", "MergeRow", "accept_new", "authenticate_device",
    "candidates", "completed_steps", "consent_text", "coverage_data", "create_device",
    "discard_draft", "draft_cards", "draft_picture", "draft_signatures", "enroll",
    "find_chart_by_mrn", "get_device", "get_submission", "issue_code", "kiosk_payers",
    "list_devices", "load_draft", "merge", "merge_rows", "new_coverages", "parse_signature", "patient_data",
    "pending_submissions", "purge_expired", "reject", "remove_draft_card", "revoke_device",
    "save_draft_card", "save_signature", "save_step", "set_language", "setting",
    "sign_consents", "start_draft", "step_values", "submission_picture", "submissions_last_hour",
    "submit",
]
