"""SQLAlchemy models: the source of truth. `__repr__` shows ids only."""

from intake.models.audit import AuditEvent
from intake.models.claim import BilledClaim
from intake.models.coverage import CardImage, Coverage, Payer
from intake.models.exchange import (ApiToken, BillingExport, BulkExport, ExportedVisit,
                                   SavedSearch)
from intake.models.patient import Patient
from intake.models.payment import Payment
from intake.models.practice import Fee, Practice, Provider
from intake.models.user import StaffSession, User
from intake.models.visit import ChargeLine, Visit, VisitDiagnosis, VisitEvent

__all__ = [
    "ApiToken", "BillingExport", "BulkExport", "ExportedVisit", "SavedSearch",
    "AuditEvent", "BilledClaim", "CardImage", "ChargeLine", "Coverage", "Fee", "Patient", "Payer", "Payment",
    "Practice", "Provider", "StaffSession", "User", "Visit", "VisitDiagnosis", "VisitEvent",
]

from intake.models.kiosk import KioskDevice, KioskDraft, KioskSubmission, SignedConsent  # noqa: E402

__all__ += ["KioskDevice", "KioskDraft", "KioskSubmission", "SignedConsent"]
