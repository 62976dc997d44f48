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

from intake.models.schedule import (Appointment, AppointmentCell, AppointmentChange,  # noqa: E402
                                    AppointmentSeries, AppointmentType, ScheduleBlock,
                                    ScheduleException, ScheduleTemplate, WaitlistEntry)

__all__ += ["Appointment", "AppointmentCell", "AppointmentChange", "AppointmentSeries",
            "AppointmentType", "ScheduleBlock", "ScheduleException", "ScheduleTemplate",
            "WaitlistEntry"]

from intake.models.matching import (ChartMerge, DuplicatePair, DuplicateScan,  # noqa: E402
                                    MatchModel, PatientMatchKey)

__all__ += ["ChartMerge", "DuplicatePair", "DuplicateScan", "MatchModel", "PatientMatchKey"]

from intake.models.x12 import X12Interchange  # noqa: E402

__all__ += ["X12Interchange"]
