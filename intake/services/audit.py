"""The audit trail: every read and write of a chart, with who, when and where."""

from __future__ import annotations

from flask import g, has_app_context, has_request_context, request
from flask_login import current_user

from intake.extensions import db
from intake.models import AuditEvent


def _actor() -> tuple[int | None, str, str | None]:
    if has_request_context() and current_user.is_authenticated:
        return current_user.id, current_user.username, request.remote_addr
    if has_request_context() and g.get("api_token") is not None:
        return None, f"token:{g.api_token.id}:{g.api_token.name}"[:80], request.remote_addr
    if has_request_context():
        return None, "anonymous", request.remote_addr
    if has_app_context() and g.get("audit_actor"):
        return None, g.audit_actor, None
    return None, "system", None


def current_user_id() -> int | None:
    """The signed-in staff member, for who-did-it columns."""
    return _actor()[0]


def record(
    action: str,
    *,
    patient_id: int | None = None,
    object_type: str | None = None,
    object_id: int | None = None,
    detail: str | None = None,
    user_id: int | None = None,
    actor: str | None = None,
) -> AuditEvent:
    """Add an audit row to the current transaction. `detail` must not carry
    PHI: field names and counts, never values."""
    uid, name, addr = _actor()
    event = AuditEvent(
        user_id=user_id if user_id is not None else uid,
        actor=actor or name,
        action=action,
        patient_id=patient_id,
        object_type=object_type,
        object_id=object_id,
        remote_addr=addr,
        detail=detail[:500] if detail else None,
    )
    db.session.add(event)
    return event


def recent(page: int = 1, per_page: int = 50, action: str | None = None,
           mrn: str | None = None):
    """A page of the log, newest first; filter by action prefix or by MRN."""
    from intake.models import Patient

    query = db.select(AuditEvent).order_by(AuditEvent.id.desc())
    if action:
        query = query.where(AuditEvent.action.startswith(action, autoescape=True))
    if mrn:
        query = query.join(Patient, Patient.id == AuditEvent.patient_id).where(Patient.mrn == mrn)
    return db.paginate(query, page=page, per_page=per_page, error_out=False)
