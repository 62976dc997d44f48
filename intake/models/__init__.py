"""SQLAlchemy models: the source of truth. `__repr__` shows ids only."""

from intake.models.audit import AuditEvent
from intake.models.coverage import CardImage, Coverage, Payer
from intake.models.patient import Patient
from intake.models.user import StaffSession, User

__all__ = ["AuditEvent", "CardImage", "Coverage", "Patient", "Payer", "StaffSession", "User"]
